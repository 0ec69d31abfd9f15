import { helpText } from "../../scaler/cli/help.js";
import { Command, InvalidArgumentError, Option } from "commander";
import { EmulatorConfigError, loadEmulatorConfig } from "../emulator/config.js";
import { startEmulator } from "../emulator/server.js";
import { UsageError } from "../../scaler/cli/usageError.js";

/** Provisioning as the predecessor and Terraform allow for it, and a kubelet joining after boot. */
export const REALISTIC_TIMINGS = {
  provisionDelayMs: 60_000,
  provisionJitterMs: 60_000,
  joinDelayMs: 30_000,
  joinJitterMs: 30_000,
};

export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError("expected a TCP port from 0 to 65535 (0 picks a free one)");
  }
  return port;
}

export function vpsieSimCommand(): Command {
  return new Command("vpsie-sim")
    .description(
      "run the VPSie API emulator on 127.0.0.1: VPSie's paths, envelope, auth and quirks, in memory, with fault injection under /__sim/",
    )
    .option("--port <port>", "port to listen on (0 picks a free one)", parsePort, 8788)
    .option("--state <file>", "keep the emulator's world in this JSON file across restarts")
    .option(
      "--config <file>",
      "YAML or JSON: accounts, datacenters, sizes, clusters, behaviour, faults (default: one demo account and cluster)",
    )
    .option(
      "--kubeconfig <file>",
      "register a Kubernetes Node for each worker once it runs, and delete it with the worker",
    )
    .addOption(
      new Option(
        "--profile <profile>",
        "answer as our first client assumed (default), or only as VPSie's public SDK shows (evidence: no node identifier, integer node_type, mixed-case hostnames, …)",
      ).choices(["default", "evidence"]),
    )
    .option(
      "--realistic-timings",
      "provision workers in 60–120 s and let their nodes join 30–60 s later (default: 2 s, at once)",
    )
    .addHelpText(
      "after",
      helpText({
        examples: [
          "vpsie-autoscaler vpsie-sim --port 8788",
          "vpsie-autoscaler vpsie-sim --port 0 --profile evidence --realistic-timings --state sim.json",
          "vpsie-autoscaler vpsie-sim --kubeconfig /tmp/vpsie-local/kubeconfig",
        ],
        environment: [
          "none: accounts and tokens come from --config (default: the demo account, token demo-token)",
        ],
        exitCodes: ["0 stopped by SIGTERM or SIGINT", "2 bad flags or configuration"],
      }),
    )
    .action(
      async (opts: {
        port: number;
        state?: string;
        config?: string;
        kubeconfig?: string;
        profile?: "default" | "evidence";
        realisticTimings?: boolean;
      }) => {
        let config;
        try {
          config = await loadEmulatorConfig(opts.config);
        } catch (err) {
          if (err instanceof EmulatorConfigError) throw new UsageError(err.message);
          throw err;
        }
        if (opts.profile) config.behaviour.profile = opts.profile;
        if (opts.realisticTimings) Object.assign(config.behaviour, REALISTIC_TIMINGS);
        const { emulator, url } = await startEmulator(config, { port: opts.port, stateFile: opts.state });
        if (opts.kubeconfig) {
          const { attachJoinHook } = await import("../emulator/joinHook.js");
          attachJoinHook(emulator.world, opts.kubeconfig, (message) => process.stderr.write(`${message}\n`));
        }
        process.stdout.write(`VPSie API emulator listening on ${url}\n`);
        process.stdout.write(`  export VPSIE_API_URL=${url}\n`);
        process.stdout.write(
          `  accounts: ${config.accounts.map((a) => a.name).join(", ")}; admin API: ${url}/__sim/\n`,
        );
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.once("SIGINT", stop);
          process.once("SIGTERM", stop);
        });
        await emulator.close();
      },
    );
}
