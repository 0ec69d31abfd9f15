import { spawn } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Applier } from "../../scaler/apply/applier.js";
import { readIntent } from "../../scaler/apply/intents.js";
import { readNodeGroups } from "../../scaler/apply/stackConfig.js";
import { selectProjectStack } from "../../scaler/pulumi/workspace.js";
import { repoRoot } from "../../scaler/toolchain/paths.js";
import { processTree } from "../support/processes.js";
import { eventually } from "../support/cluster.js";
import { DEMO_CLUSTER, type TestEmulator, testEmulator } from "../support/emulator.js";
import { testProject, type TestProject } from "../support/project.js";

describe("kill -9 in the middle of an update, then recovery", () => {
  let sim: TestEmulator;
  let project: TestProject;

  beforeAll(async () => {
    sim = await testEmulator();
    process.env.VPSIE_API_URL = sim.url;
    process.env.VPSIE_TOKEN = "demo-token";
    project = await testProject("crash");
    await project.writeGroup({
      name: "general",
      cluster: DEMO_CLUSTER,
      kubeSizeId: 1,
      minNodes: 0,
      maxNodes: 5,
      nodes: [],
    });
  });
  afterAll(async () => {
    await sim?.stop();
    await project?.remove();
  });

  const workers = async () =>
    (await sim.client().getCluster(DEMO_CLUSTER))?.nodes.filter((n) => n.nodeType === "slave") ?? [];
  const stateNodes = async () => {
    const stack = await selectProjectStack({ ...project.engine, stackName: "general" });
    const deployment = (await stack.exportStack()).deployment as {
      resources?: Array<{ type: string; id?: string }>;
      pending_operations?: unknown[];
    };
    return {
      ids: (deployment.resources ?? [])
        .filter((r) => r.type === "pulumi-nodejs:dynamic/vpsie:Node")
        .map((r) => r.id),
      pending: deployment.pending_operations ?? [],
    };
  };

  it("leaves no VPSie node orphaned or created twice, and converges", async () => {
    // Discovery is slow, so the scaler dies after VPSie created the worker and before the state knows it.
    await sim.addFaults({ kind: "latency", latencyMs: 4_000, method: "GET", path: "cluster/byId/[^/]+$" });
    const child = spawn(
      process.execPath,
      [
        join(repoRoot, "bin", "vpsie-autoscaler.js"),
        "scale",
        "--group",
        "general",
        "--add",
        "2",
        "--reason",
        "crash test",
        "--project-dir",
        project.dir,
        "--work-dir",
        project.workDir,
        "--backend",
        project.engine.backendUrl,
      ],
      {
        detached: true,
        stdio: "ignore",
        env: { ...process.env, PULUMI_CONFIG_PASSPHRASE: project.engine.passphrase },
      },
    );
    const exited = new Promise((resolve) => child.once("exit", resolve));
    await eventually(
      "VPSie to accept the first new worker",
      async () => ((await sim.requests(/add\/slave/)).some((r) => r.status === 200) ? true : undefined),
      60_000,
    );
    // Like a pod dying: the scaler and everything it started (the pulumi CLI, its plugins) at once.
    for (const pid of await processTree(child.pid as number)) process.kill(pid, "SIGKILL");
    await exited;
    await sim.clearFaults();

    expect(await workers()).toHaveLength(1);
    expect((await stateNodes()).pending.length).toBeGreaterThan(0);
    expect(await readIntent(project.engine.stateDir, "general")).toMatchObject({
      message: expect.stringMatching(/^scale-up general 0 → 2/),
    });
    const lockDir = join(
      project.backendDir,
      ".pulumi",
      "locks",
      "organization",
      "vpsie-autoscaler",
      "general",
    );
    const locks = async () => (await readdir(lockDir)).filter((f) => f.endsWith(".json"));
    expect(await locks()).toHaveLength(1);

    const progress: string[] = [];
    const report = await new Applier({ ...project.engine, progress: (m) => progress.push(m) }).recover(
      "general",
    );
    expect(report?.clearedLocks).toHaveLength(1);
    expect(report?.adopted).toHaveLength(1);
    expect(report?.deletedOrphans).toEqual([]);

    const keys = (await readNodeGroups(project.dir, "general"))[0]!.nodes;
    const vpsie = (await workers()).map((w) => w.identifier).sort();
    const state = await stateNodes();
    expect(keys).toHaveLength(2);
    expect(vpsie).toHaveLength(2);
    expect(state.pending).toEqual([]);
    expect([...state.ids].sort()).toEqual(vpsie);
    expect(report?.adopted[0]?.identifier).toBe((await workers())[0]?.identifier);
    expect(await locks()).toEqual([]);
    expect(await readIntent(project.engine.stateDir, "general")).toBeUndefined();
  });
});
