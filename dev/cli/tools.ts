import { helpText } from "../../scaler/cli/help.js";
import { Command } from "commander";
import { ensureControlPlane, resolveControlPlane } from "../toolchain/kube.js";
import { linkIntoCheckout } from "../toolchain/link.js";
import { resolvePulumi } from "../../scaler/tools/pulumi.js";
import { ensurePulumi } from "../toolchain/pulumi.js";
import { formatTable, type OutputFormat, outputOption } from "../../scaler/cli/output.js";
import { progressPrinter } from "../../scaler/cli/progress.js";

export function toolsCommand(): Command {
  return new Command("tools")
    .description(
      "find, or build from Go modules, the pulumi CLI matching @pulumi/pulumi and the local Kubernetes control plane (kube-apiserver, kube-scheduler, kube-controller-manager, etcd, kwok)",
    )
    .option("--check", "only report what is found; build nothing")
    .addOption(outputOption())
    .addHelpText(
      "after",
      helpText({
        examples: ["npm run tools", "vpsie-autoscaler tools --check --output json"],
        environment: [
          "VPSIE_AUTOSCALER_CACHE (default ~/.cache/vpsie-autoscaler), GOPROXY, GOCACHE, GOMODCACHE",
        ],
        exitCodes: ["0 every tool found or built", "1 a build failed", "3 a tool is missing (--check)"],
      }),
    )
    .action(async (opts: { check?: boolean; output: OutputFormat }) => {
      const progress = progressPrinter();
      const pulumi = opts.check ? await resolvePulumi() : await ensurePulumi(progress);
      const kube = opts.check ? await resolveControlPlane() : await ensureControlPlane(progress);
      const links = opts.check
        ? undefined
        : {
            pulumi: await linkIntoCheckout("pulumi", pulumi.pulumi),
            kubectl: await linkIntoCheckout("kubectl", kube.kubectl[0] ?? "kubectl"),
          };
      if (opts.output === "json") {
        process.stdout.write(
          `${JSON.stringify({ pulumi: { ...pulumi, link: links?.pulumi }, controlPlane: kube, links }, null, 2)}\n`,
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
            ["kubectl", k8s, kube.kubectl.join(" ")],
          ],
        ),
      );
      if (links)
        process.stdout.write(
          `\npulumi and kubectl linked as ${links.pulumi} and ${links.kubectl}: run \`npx pulumi …\` and \`npx kubectl …\` in this checkout\n`,
        );
    });
}
