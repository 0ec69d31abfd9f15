import { Command } from "commander";
import { ensureControlPlane, resolveControlPlane } from "../../toolchain/kube.js";
import { ensurePulumi, linkPulumiIntoCheckout, resolvePulumi } from "../../toolchain/pulumi.js";
import { formatTable, type OutputFormat, outputOption } from "../output.js";
import { progressPrinter } from "../progress.js";

export function toolsCommand(): Command {
  return new Command("tools")
    .description(
      "find, or build from Go modules, the pulumi CLI matching @pulumi/pulumi and the local Kubernetes control plane (kube-apiserver, kube-scheduler, kube-controller-manager, etcd, kwok)",
    )
    .option("--check", "only report what is found; build nothing")
    .addOption(outputOption())
    .action(async (opts: { check?: boolean; output: OutputFormat }) => {
      const progress = progressPrinter();
      const pulumi = opts.check ? await resolvePulumi() : await ensurePulumi(progress);
      const link = opts.check ? undefined : await linkPulumiIntoCheckout(pulumi);
      const kube = opts.check ? await resolveControlPlane() : await ensureControlPlane(progress);
      if (opts.output === "json") {
        process.stdout.write(
          `${JSON.stringify({ pulumi: { ...pulumi, link }, controlPlane: kube }, null, 2)}\n`,
        );
        return;
      }
      const k8s = `v${kube.kubernetesVersion}`;
      process.stdout.write(
        formatTable(
          ["TOOL", "VERSION", "COMMAND"],
          [
            ["pulumi", `v${pulumi.version}`, pulumi.pulumi],
            ["kube-apiserver", k8s, kube.apiserver.join(" ")],
            ["kube-scheduler", k8s, kube.scheduler.join(" ")],
            ["kube-controller-manager", k8s, kube.controllerManager.join(" ")],
            ["etcd", `v${kube.etcdVersion}`, kube.etcd.join(" ")],
            ["kwok", `v${kube.kwokVersion}`, kube.kwok.join(" ")],
          ],
        ),
      );
      if (link) process.stdout.write(`\npulumi linked as ${link}: run \`npx pulumi …\` in this checkout\n`);
    });
}
