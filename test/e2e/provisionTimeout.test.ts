import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, type World } from "../../dev/testing/world.js";
import { selectProjectStack } from "../../scaler/pulumi/workspace.js";
import { deployWeb } from "../../dev/testing/workload.js";
import { eventually } from "../../dev/testing/cluster.js";
import { DEMO_CLUSTER } from "../../dev/testing/emulator.js";

/** A node VPSie never finishes is removed through the apply layer once the provision time passes, and its group backs off. */
describe("a new node that never registers", () => {
  let world: World;

  beforeAll(async () => {
    world = await startWorld({
      name: "provision-timeout",
      emulator: (c) => {
        c.behaviour = { provisionDelayMs: 300 };
      },
      scaler: { planner: { maxNodeProvisionTimeMs: 6_000 } },
    });
  });

  afterAll(async () => {
    await world?.stop();
  });

  it("removes its key after the max provision time, deletes the worker, and backs the group off", async () => {
    const { cluster, sim, project, scaler } = world;
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
        scaler!.lastPlan?.noScaleUp[0]?.reasons.general?.includes("backing off") ? true : undefined,
      30_000,
    );
  });
});
