import { helpText } from "../../scaler/cli/help.js";
import { dirname } from "node:path";
import { Command } from "commander";
import { ensureControlPlane, resolveControlPlane } from "../toolchain/kube.js";
import { linkIntoCheckout } from "../toolchain/link.js";
import { ensureGoTool, HELM, KARPENTER, PROMTOOL, resolveGoTool } from "../toolchain/goTools.js";
import { resolvePulumi } from "../../scaler/tools/pulumi.js";
import { ensurePulumi } from "../toolchain/pulumi.js";
import { ensureChromium, resolveChromium } from "../toolchain/chromium.js";
import { formatTable, type OutputFormat, outputOption } from "../../scaler/cli/output.js";
import { progressPrinter } from "../../scaler/cli/progress.js";

export function toolsCommand(): Command {
  return new Command("tools")
    .description(
      "find, or build from Go modules, the pulumi CLI matching @pulumi/pulumi, the local Kubernetes control plane (kube-apiserver, kube-scheduler, kube-controller-manager, etcd, kwok, kubectl), helm, promtool and Karpenter's kwok provider (the peer benchmark); and Debian's chromium package for the console's browser tests",
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
      const [helm, promtool, karpenter] = await Promise.all(
        [HELM, PROMTOOL, KARPENTER].map((tool) =>
          opts.check ? resolveGoTool(tool) : ensureGoTool(tool, progress),
        ),
      );
      const chromium = opts.check ? await resolveChromium() : await ensureChromium(progress);
      const links = opts.check
        ? undefined
        : {
            pulumi: await linkIntoCheckout("pulumi", pulumi.pulumi),
            kubectl: await linkIntoCheckout("kubectl", kube.kubectl[0] ?? "kubectl"),
            helm: await linkIntoCheckout("helm", helm?.command[0] ?? "helm"),
            promtool: await linkIntoCheckout("promtool", promtool?.command[0] ?? "promtool"),
          };
      if (opts.output === "json") {
        process.stdout.write(
          `${JSON.stringify({ pulumi: { ...pulumi, link: links?.pulumi }, controlPlane: kube, helm, promtool, karpenter, chromium, links }, null, 2)}\n`,
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
            ["helm", `v${helm?.version}`, helm?.command.join(" ") ?? ""],
            ["promtool", `v${promtool?.version}`, promtool?.command.join(" ") ?? ""],
            ["karpenter-kwok", `v${karpenter?.version}`, karpenter?.command.join(" ") ?? ""],
            ["chromium", `v${chromium.version}`, chromium.command],
          ],
        ),
      );
      if (links)
        process.stdout.write(
          `\npulumi, kubectl, helm and promtool linked into ${dirname(links.pulumi)}: run \`npx pulumi …\`, \`npx kubectl …\`, \`npx helm …\` and \`npx promtool …\` in this checkout\n`,
        );
    });
}
