import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attachJoinHook } from "../../dev/emulator/joinHook.js";
import { Applier } from "../../scaler/apply/applier.js";
import { Controller } from "../../scaler/controller/controller.js";
import { selectProjectStack } from "../../scaler/pulumi/workspace.js";
import { deployWeb } from "../../dev/testing/workload.js";
import { eventually, startCluster, type TestCluster } from "../../dev/testing/cluster.js";
import { DEMO_CLUSTER, GENERAL_GROUP, type TestEmulator, testEmulator } from "../../dev/testing/emulator.js";
import { testProject, type TestProject } from "../../dev/testing/project.js";

/** A node VPSie never finishes is removed through the apply layer once the provision time passes, and its group backs off. */
describe("a new node that never registers", () => {
  let cluster: TestCluster;
  let sim: TestEmulator;
  let project: TestProject;
  let controller: Controller;

  beforeAll(async () => {
    cluster = await startCluster("provision-timeout");
    sim = await testEmulator((c) => {
      c.behaviour = { provisionDelayMs: 300 };
    });
    attachJoinHook(sim.emulator.world, cluster.record.kubeconfig, () => undefined);
    process.env.VPSIE_API_URL = sim.url;
    process.env.VPSIE_TOKEN = "demo-token";
    project = await testProject("provision-timeout");
    await project.writeGroup(GENERAL_GROUP);
    const applier = new Applier(project.engine);
    await applier.apply({ group: "general", add: 1, remove: [], reason: "first node" });
    controller = new Controller({
      kubeconfig: cluster.kubeconfig,
      applier,
      client: sim.client(),
      projectDir: project.dir,
      schedule: "*/2 * * * * *",
      debounceMs: 500,
      planner: { newPodScaleUpDelayMs: 0, maxNodeProvisionTimeMs: 6_000 },
      log: () => undefined,
    });
    await controller.start();
  });

  afterAll(async () => {
    await controller?.stop();
    await sim?.stop();
    await cluster?.stop();
    await project?.remove();
  });

  it("removes its key after the max provision time, deletes the worker, and backs the group off", async () => {
    await eventually("the first node to run", async () =>
      (await sim.client().getCluster(DEMO_CLUSTER))?.nodes.some(
        (n) => n.status === "running" && n.nodeType === "slave",
      )
        ? true
        : undefined,
    );
    sim.emulator.world.config.behaviour.provisionNeverCompletes = true;
    await deployWeb(cluster.kubeconfig);
    const stack = await selectProjectStack({ ...project.engine, stackName: "general" });
    const latest = async () => (await stack.history(1))[0]?.message ?? "";
    await eventually(
      "the never-registered node to be removed",
      async () => (/did not register within/.test(await latest()) ? true : undefined),
      120_000,
    );
    expect(await latest()).toMatch(
      /^scale-down general 2 → 1 \(-general-[0-9a-f]{4}\): node general-[0-9a-f]{4} did not register within 0\.1m: removed, and the group backs off/,
    );
    const workers =
      (await sim.client().getCluster(DEMO_CLUSTER))?.nodes.filter((n) => n.nodeType === "slave") ?? [];
    expect(workers.map((w) => w.status)).toEqual(["running"]);
    await eventually(
      "the backoff to show in the plan",
      async () =>
        controller.lastPlan?.noScaleUp[0]?.reasons.general?.includes("backing off") ? true : undefined,
      30_000,
    );
  });
});
