import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attachJoinHook } from "../../dev/emulator/joinHook.js";
import { Applier } from "../../scaler/apply/applier.js";
import { Controller } from "../../scaler/controller/controller.js";
import { selectProjectStack } from "../../scaler/pulumi/workspace.js";
import { deployWeb, webRunning } from "../../dev/testing/workload.js";
import { startCluster, type TestCluster } from "../../dev/testing/cluster.js";
import { DEMO_CLUSTER, GENERAL_GROUP, type TestEmulator, testEmulator } from "../../dev/testing/emulator.js";
import { testProject, type TestProject } from "../../dev/testing/project.js";

/** VPSie misbehaves while the scaler adds a node: it retries and backs off, does not crash, and converges. */
describe("the scaler under VPSie faults during a scale-up", () => {
  let cluster: TestCluster;
  let sim: TestEmulator;
  let project: TestProject;
  let controller: Controller;
  const log: string[] = [];

  beforeAll(async () => {
    cluster = await startCluster("faults");
    sim = await testEmulator((c) => {
      c.behaviour = { provisionDelayMs: 500 };
    });
    attachJoinHook(sim.emulator.world, cluster.record.kubeconfig, () => undefined);
    process.env.VPSIE_API_URL = sim.url;
    process.env.VPSIE_TOKEN = "demo-token";
    project = await testProject("faults");
    await project.writeGroup(GENERAL_GROUP);
    const applier = new Applier({ ...project.engine, progress: (m) => log.push(m) });
    await applier.apply({ group: "general", add: 1, remove: [], reason: "first node" });
    controller = new Controller({
      kubeconfig: cluster.kubeconfig,
      applier,
      client: sim.client(),
      projectDir: project.dir,
      schedule: "*/2 * * * * *",
      debounceMs: 500,
      planner: { newPodScaleUpDelayMs: 0 },
      log: (m) => log.push(m),
    });
    await controller.start();
  });

  afterAll(async () => {
    await controller?.stop();
    await sim?.stop();
    await cluster?.stop();
    await project?.remove();
  });

  it("gets through 429s, 5xx, HTML 502s and error:true answers, and the pods run", async () => {
    await sim.addFaults(
      { kind: "rateLimit", path: "add/slave", retryAfterSeconds: 1, times: 2 },
      { kind: "error", status: 503, path: "add/slave", times: 2 },
      { kind: "html502", path: "add/slave", times: 2 },
      { kind: "errorTrue", path: "add/slave", times: 2 },
    );
    await deployWeb(cluster.kubeconfig);
    await webRunning(cluster.kubeconfig, 3, 180_000);
    const faulted = (await sim.requests(/add\/slave/)).filter((r) => r.fault);
    expect(faulted.map((r) => r.fault).sort()).toEqual(
      ["errorTrue", "errorTrue", "html502", "html502", "rateLimit", "rateLimit", "error", "error"].sort(),
    );
    const workers =
      (await sim.client().getCluster(DEMO_CLUSTER))?.nodes.filter((n) => n.nodeType === "slave") ?? [];
    expect(workers).toHaveLength(2); // one added, none twice
    const stack = await selectProjectStack({ ...project.engine, stackName: "general" });
    expect((await stack.history(1))[0]?.message).toMatch(/^scale-up general 1 → 2/);
  });
});
