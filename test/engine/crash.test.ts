import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Applier } from "../../scaler/apply/applier.js";
import { fileIntents, INTENT_STALE_MS } from "../../scaler/apply/intents.js";
import { readNodeGroups } from "../../scaler/apply/stackConfig.js";
import { selectProjectStack } from "../../scaler/pulumi/workspace.js";
import { scaleAndKill } from "../../dev/testing/processes.js";
import { DEMO_CLUSTER, type TestEmulator, testEmulator } from "../../dev/testing/emulator.js";
import { testProject, type TestProject } from "../../dev/testing/project.js";

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

  /** Runs `scale --add N` and kills it, like a pod dying, after VPSie created a worker and before the state knows it. */
  const crashMidUpdate = (add: number, reason: string) =>
    scaleAndKill({
      project,
      sim,
      group: "general",
      add,
      reason,
      carriedOut: async () => (await sim.requests(/add\/slave/)).filter((r) => r.status === 200).length,
    });
  const lockDir = () =>
    join(project.backendDir, ".pulumi", "locks", "organization", "vpsie-autoscaler", "general");
  const locks = async () => (await readdir(lockDir())).filter((f) => f.endsWith(".json"));

  it("leaves no VPSie node orphaned or created twice, and converges", async () => {
    await crashMidUpdate(2, "crash test");
    // Both creates run at once: VPSie carried out one or both before the kill.
    const atCrash = (await workers()).map((w) => w.identifier).sort();
    expect(atCrash.length).toBeGreaterThanOrEqual(1);
    expect((await stateNodes()).pending.length).toBeGreaterThan(0);
    expect(await fileIntents(project.engine.stateDir).read("general")).toMatchObject({
      message: expect.stringMatching(/^scale-up general 0 → 2/),
    });
    expect(await locks()).toHaveLength(1);

    const progress: string[] = [];
    const report = await new Applier({ ...project.engine, progress: (m) => progress.push(m) }).recover(
      "general",
    );
    expect(report?.clearedLocks).toHaveLength(1);
    expect(report?.adopted).toHaveLength(atCrash.length);
    expect(report?.deletedOrphans).toEqual([]);
    // A scale-up, whose delay before any scale-down the loop starts (see loop.test.ts).
    expect(report?.nodesAdded).toBe(true);

    const keys = (await readNodeGroups(project.dir, "general"))[0]!.nodes;
    const vpsie = (await workers()).map((w) => w.identifier).sort();
    const state = await stateNodes();
    expect(keys).toHaveLength(2);
    expect(vpsie).toHaveLength(2);
    expect(state.pending).toEqual([]);
    expect([...state.ids].sort()).toEqual(vpsie);
    expect(report?.adopted.map((a) => a.identifier).sort()).toEqual(atCrash);
    expect(await locks()).toEqual([]);
    expect(await fileIntents(project.engine.stateDir).read("general")).toBeUndefined();
  });

  it("in another pod, waits for the dead scaler's heartbeat to go stale, then recovers and applies", async () => {
    await crashMidUpdate(1, "crash in another pod");
    // As if it had run in another pod: its intent and its lock name that pod, and its heartbeat is recent.
    const pod = "vpsie-autoscaler-6f7c9-x2k4q";
    const intents = fileIntents(project.engine.stateDir);
    const intent = await intents.read("general");
    expect(intent?.message).toMatch(/^scale-up general 2 → 3/);
    const heartbeatAt = new Date(Date.now() - INTENT_STALE_MS + 8_000).toISOString();
    await intents.write({ ...intent!, host: pod, instance: "the dead pod", heartbeatAt });
    for (const name of await locks()) {
      const path = join(lockDir(), name);
      await writeFile(path, JSON.stringify({ ...JSON.parse(await readFile(path, "utf8")), hostname: pod }));
    }

    const progress: string[] = [];
    const started = Date.now();
    const result = await new Applier({ ...project.engine, progress: (m) => progress.push(m) }).apply({
      group: "general",
      add: 1,
      remove: [],
      reason: "after the takeover",
    });
    expect(progress.join("\n")).toMatch(
      new RegExp(
        `stack general: an update by ${pod} \\(pid \\d+\\) started .*; waiting for it to finish or be abandoned`,
      ),
    );
    expect(progress.join("\n")).toMatch(/recovering stack general: an update started .* did not finish/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(7_000);
    expect(result.message).toMatch(/^scale-up general 3 → 4 /);

    const vpsie = (await workers()).map((w) => w.identifier).sort();
    const state = await stateNodes();
    expect(vpsie).toHaveLength(4);
    expect(state.pending).toEqual([]);
    expect([...state.ids].sort()).toEqual(vpsie);
    expect(await locks()).toEqual([]);
    expect(await intents.read("general")).toBeUndefined();
  }, 180_000);
});
