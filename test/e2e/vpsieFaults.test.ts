import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, type World } from "../../dev/testing/world.js";
import { selectProjectStack } from "../../scaler/pulumi/workspace.js";
import { deployWeb, webRunning } from "../../dev/testing/workload.js";
import { DEMO_CLUSTER } from "../../dev/testing/emulator.js";

/** VPSie misbehaves while the scaler adds a node: it retries and backs off, does not crash, and converges. */
describe("the scaler under VPSie faults during a scale-up", () => {
  let world: World;

  beforeAll(async () => {
    world = await startWorld({ name: "faults" });
  });

  afterAll(async () => {
    await world?.stop();
  });

  it("gets through 429s, 5xx, HTML 502s and error:true answers, and the pods run", async () => {
    const { cluster, sim, project } = world;
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
