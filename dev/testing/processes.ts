import { spawn } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "../../scaler/tools/paths.js";
import { eventually } from "./cluster.js";
import type { TestEmulator } from "./emulator.js";
import { killTree } from "./processTree.js";

/**
 * Runs `vpsie-autoscaler scale --add N` and kills its whole process tree, like a pod dying, as soon as
 * `carriedOut()` grows: VPSie has made a worker and the state does not know it yet. The listing of the
 * cluster is slowed meanwhile, so the update cannot finish first.
 */
export async function scaleAndKill(options: {
  project: { flags: string[]; engine: { passphrase: string } };
  sim: TestEmulator;
  group: string;
  add: number;
  reason: string;
  /** How many adds VPSie has carried out so far. */
  carriedOut: () => Promise<number>;
}): Promise<void> {
  const { project, sim } = options;
  const before = await options.carriedOut();
  await sim.addFaults({ kind: "latency", latencyMs: 4_000, method: "GET", path: "cluster/byId/[^/]+$" });
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, "bin", "vpsie-autoscaler.js"),
      "scale",
      "--group",
      options.group,
      "--add",
      String(options.add),
      "--reason",
      options.reason,
      ...project.flags,
    ],
    {
      detached: true,
      stdio: "ignore",
      env: { ...process.env, PULUMI_CONFIG_PASSPHRASE: project.engine.passphrase },
    },
  );
  const exited = new Promise((resolve) => child.once("exit", resolve));
  await eventually(
    "VPSie to carry out an add",
    async () => ((await options.carriedOut()) > before ? true : undefined),
    60_000,
  );
  await killTree(child.pid as number);
  await exited;
  await sim.clearFaults();
}
