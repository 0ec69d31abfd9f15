import { helpText } from "../../scaler/cli/help.js";
import { Command } from "commander";
import { clusterDown, clusterStatus, clusterUp } from "../localcluster/controlPlane.js";
import { resolveControlPlane } from "../toolchain/kube.js";
import { ExitCode } from "../../scaler/cli/exitCodes.js";
import { formatTable, type OutputFormat, outputOption } from "../../scaler/cli/output.js";
import { progressPrinter } from "../../scaler/cli/progress.js";

const dirOption = ["--dir <dir>", "the cluster's directory: data, keys, kubeconfig, logs"] as const;

const clusterHelp = (example: string) =>
  helpText({
    examples: [example],
    environment: ["VPSIE_AUTOSCALER_CACHE, where `npm run tools` put the control plane's binaries"],
    exitCodes: [
      "0 success",
      "1 failure, or (status) a part is not healthy",
      "3 the control plane is not built: run `npm run tools`",
    ],
  });

export function clusterCommand(): Command {
  const cluster = new Command("cluster").description(
    "a local Kubernetes control plane on 127.0.0.1 (etcd, kube-apiserver, kube-scheduler, kube-controller-manager, kwok) for tests and the demo",
  );
  cluster
    .command("up")
    .description(
      "start the control plane in DIR and wait until the API server is ready and the controllers run",
    )
    .requiredOption(...dirOption)
    .option("--timeout <seconds>", "give up after this long", (v) => Number(v), 120)
    .addHelpText("after", clusterHelp("vpsie-autoscaler cluster up --dir /tmp/vpsie-local"))
    .action(async (opts: { dir: string; timeout: number }) => {
      const up = await clusterUp(opts.dir, await resolveControlPlane(), progressPrinter(), {
        timeoutMs: opts.timeout * 1000,
      });
      process.stdout.write(`${up.server}\nexport KUBECONFIG=${up.kubeconfig}\n`);
    });
  cluster
    .command("down")
    .description(
      "stop every process of the control plane in DIR and free its ports; DIR can be removed afterwards",
    )
    .requiredOption(...dirOption)
    .addHelpText("after", clusterHelp("vpsie-autoscaler cluster down --dir /tmp/vpsie-local"))
    .action(async (opts: { dir: string }) => {
      const progress = progressPrinter();
      const stopped = await clusterDown(opts.dir, progress);
      progress(stopped ? "stopped" : `no cluster runs in ${opts.dir}`);
    });
  cluster
    .command("status")
    .description("show what runs in DIR and whether each part is healthy (exit 1 when not all are)")
    .requiredOption(...dirOption)
    .addOption(outputOption())
    .addHelpText("after", clusterHelp("vpsie-autoscaler cluster status --dir /tmp/vpsie-local --output json"))
    .action(async (opts: { dir: string; output: OutputFormat }) => {
      const { record, components } = await clusterStatus(opts.dir);
      if (opts.output === "json")
        process.stdout.write(`${JSON.stringify({ cluster: record, components }, null, 2)}\n`);
      else if (!record) process.stdout.write(`no cluster in ${opts.dir}\n`);
      else {
        process.stdout.write(
          `${record.server} (Kubernetes v${record.kubernetesVersion}, KUBECONFIG=${record.kubeconfig})\n`,
        );
        process.stdout.write(
          formatTable(
            ["COMPONENT", "PID", "RUNNING", "HEALTHY", "LOG"],
            components.map((c) => [c.name, String(c.pid), String(c.running), String(c.healthy), c.log]),
          ),
        );
      }
      if (!record || components.some((c) => !c.healthy)) process.exitCode = ExitCode.failure;
    });
  return cluster;
}
