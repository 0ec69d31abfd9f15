import type { ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attachJoinHook } from "../../dev/emulator/joinHook.js";
import { Applier } from "../../scaler/apply/applier.js";
import { selectProjectStack } from "../../scaler/pulumi/workspace.js";
import { killTree } from "../../dev/testing/processTree.js";
import { deployWeb, webRunning } from "../../dev/testing/workload.js";
import { eventually, startCluster, type TestCluster } from "../../dev/testing/cluster.js";
import { spawnRun } from "../../dev/testing/cli.js";
import { DEMO_CLUSTER, GENERAL_GROUP, type TestEmulator, testEmulator } from "../../dev/testing/emulator.js";
import { testProject, type TestProject } from "../../dev/testing/project.js";

/**
 * Two replicas of `vpsie-autoscaler run`: only the leader acts. The leader is killed (kill -9, its whole
 * process tree) in the middle of a scale-up's update; the other takes over within the lease duration,
 * recovers the interrupted update, and the cluster converges with no VPSie node orphaned or doubled.
 */
describe("two replicas: the leader dies mid-update", () => {
  let cluster: TestCluster;
  let sim: TestEmulator;
  let project: TestProject;
  const replicas: Array<{ child: ChildProcess; log: string }> = [];

  beforeAll(async () => {
    cluster = await startCluster("failover");
    sim = await testEmulator((c) => {
      c.behaviour = { provisionDelayMs: 500 };
    });
    attachJoinHook(sim.emulator.world, cluster.record.kubeconfig, () => undefined);
    process.env.VPSIE_API_URL = sim.url;
    process.env.VPSIE_TOKEN = "demo-token";
    project = await testProject("failover");
    await project.writeGroup(GENERAL_GROUP);
    await new Applier(project.engine).apply({ group: "general", add: 1, remove: [], reason: "first node" });
  });

  afterAll(async () => {
    for (const { child } of replicas) if (child.exitCode === null) child.kill("SIGKILL");
    await sim?.stop();
    await cluster?.stop();
    await project?.remove();
  });

  const start = (name: string) => {
    const log = join(project.workDir, `${name}.log`);
    const child = spawnRun(project, cluster.record.kubeconfig, log);
    replicas.push({ child, log });
    return { child, log };
  };
  const logOf = (log: string) => readFile(log, "utf8").catch(() => "");

  it("hands over within the lease duration, recovers, and converges without orphans or duplicates", async () => {
    const a = start("replica-a");
    await eventually(
      "replica-a to lead",
      async () => ((await logOf(a.log)).includes("became the leader") ? true : undefined),
      60_000,
    );
    const b = start("replica-b");
    await eventually(
      "replica-b to wait",
      async () => ((await logOf(b.log)).includes("not acting: not the leader") ? true : undefined),
      60_000,
    );

    const accepted = async () => (await sim.requests(/add\/slave/)).filter((r) => r.status === 200).length;
    const before = await accepted();
    // Discovery is slow, so the leader dies after VPSie created the worker and before the state knows it.
    await sim.addFaults({ kind: "latency", latencyMs: 8_000, method: "GET", path: "cluster/byId/[^/]+$" });
    await deployWeb(cluster.kubeconfig);
    await eventually(
      "VPSie to accept the new worker",
      async () => ((await accepted()) > before ? true : undefined),
      90_000,
    );
    await killTree(a.child.pid as number);
    const killed = Date.now();
    await sim.clearFaults();

    await eventually(
      "replica-b to lead",
      async () => ((await logOf(b.log)).includes("became the leader") ? true : undefined),
      30_000,
    );
    // The leader kept its lease through an update longer than the lease: B led only after A died.
    const entries = async (log: string) =>
      (await logOf(log))
        .split("\n")
        .flatMap((l) =>
          l ? [JSON.parse(l) as { time: number; level: number; msg: string; [field: string]: unknown }] : [],
        );
    const updating = (await entries(a.log)).find((e) => e.msg.startsWith("updating stack general"));
    // Structured fields, for log queries by stack and update rather than by prose.
    expect(updating).toMatchObject({
      level: 30,
      stack: "general",
      update: expect.stringMatching(/^scale-up general /),
    });
    const updateStart = updating?.time ?? Number.NaN;
    const tookOver =
      (await entries(b.log)).find((e) => e.msg.startsWith("became the leader"))?.time ?? Number.NaN;
    expect(killed - updateStart).toBeGreaterThan(6_000);
    expect(tookOver).toBeGreaterThan(killed);
    // Within the lease duration (6 s), plus one round trip to the API server: the lease was renewed
    // before the kill and runs out at most 6 s after it.
    expect(tookOver - killed).toBeLessThan(6_000 + 250);

    const messages = async () =>
      (await logOf(b.log))
        .split("\n")
        .flatMap((l) => (l ? [(JSON.parse(l) as { msg: string }).msg] : []))
        .join("\n");
    await eventually(
      "replica-b to recover the interrupted update",
      async () => ((await messages()).includes("recovered general") ? true : undefined),
      90_000,
    );
    expect(await messages()).toMatch(/recovered general: adopted 1, dropped 0, deleted 0 orphan\(s\)/);

    await webRunning(cluster.kubeconfig, 3, 120_000);
    const workers =
      (await sim.client().getCluster(DEMO_CLUSTER))?.nodes.filter((n) => n.nodeType === "slave") ?? [];
    expect(workers).toHaveLength(2);
    const stack = await selectProjectStack({ ...project.engine, stackName: "general" });
    const deployment = (await stack.exportStack()).deployment as {
      resources: Array<{ type: string; id?: string }>;
      pending_operations?: unknown[];
    };
    const ids = deployment.resources
      .filter((r) => r.type === "pulumi-nodejs:dynamic/vpsie:Node")
      .map((r) => r.id)
      .sort();
    expect(ids).toEqual(workers.map((w) => w.identifier).sort());
    expect(deployment.pending_operations ?? []).toEqual([]);
  });
});
