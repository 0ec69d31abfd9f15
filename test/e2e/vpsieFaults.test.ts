import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodesInState } from "../../stacks/contract.js";
import { readNodeGroups } from "../../scaler/apply/stackConfig.js";
import { selectProjectStack } from "../../scaler/pulumi/workspace.js";
import { DEMO_CLUSTER, GENERAL_GROUP } from "../../dev/testing/emulator.js";
import { deployWeb, webRunning } from "../../dev/testing/workload.js";
import { startWorld, type World } from "../../dev/testing/world.js";

/**
 * VPSie misbehaves while the scaler adds nodes: answers that prove nothing was done (429) are retried;
 * answers that prove nothing (a 503, error:true) and answers lost after VPSie carried the add out (an
 * HTML 502 from a proxy, a reset connection, no answer at all) are never followed by a second add: the
 * scaler looks for the worker instead, and tries again later only when none appeared.
 */
describe("the scaler under VPSie faults during a scale-up", () => {
  let world: World;

  beforeAll(async () => {
    world = await startWorld({
      name: "faults",
      group: { ...GENERAL_GROUP, maxNodes: 5 },
      applier: { claimTimings: { unknownOutcomeTimeoutMs: 5_000, pollMs: 250 } },
      scaler: { planner: { initialBackoffMs: 2_000 } },
    });
  });

  afterAll(async () => {
    await world?.stop();
  });

  it(
    "gets through 429s, 5xx, HTML 502s and error:true answers, and the pods run",
    { timeout: 240_000 },
    async () => {
      const { cluster, sim, project } = world;
      await sim.addFaults(
        { kind: "rateLimit", path: "add/slave", retryAfterSeconds: 0, times: 2 },
        { kind: "error", status: 503, path: "add/slave", times: 1 },
        { kind: "errorTrue", path: "add/slave", times: 1 },
        { kind: "lostAnswer", answer: "html502", path: "add/slave", times: 1 },
        { kind: "lostAnswer", answer: "reset", path: "add/slave", times: 1 },
        { kind: "lostAnswer", answer: "timeout", latencyMs: 5_000, path: "add/slave", times: 1 },
      );
      // 8 pods of 1.5 CPU, two to a node: three nodes more than the first.
      await deployWeb(cluster.kubeconfig, 8);
      await webRunning(cluster.kubeconfig, 8, 180_000).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}\n${world.log.join("\n")}`);
      });

      // The pods may run before the update that created their node has written its state.
      await world.scaler!.actuator.settle();
      const adds = await sim.requests(/add\/slave/);
      expect(adds.map((r) => r.fault ?? "answered").sort()).toEqual(
        [
          "rateLimit",
          "rateLimit",
          "error",
          "errorTrue",
          "lostAnswer:html502",
          "lostAnswer:reset",
          "lostAnswer:timeout",
          // the group's first node, before the faults
          "answered",
        ].sort(),
      );
      // One worker per key and none twice: each add VPSie carried out is a worker the state and the
      // group's member keys hold, and nothing else is.
      const workers =
        (await sim.client().getCluster(DEMO_CLUSTER))?.nodes.filter((n) => n.nodeType === "slave") ?? [];
      expect(workers).toHaveLength(4);
      const stack = await selectProjectStack({ ...project.engine, stackName: "general" });
      const state = nodesInState((await stack.exportStack()).deployment);
      expect(state.pending, `${JSON.stringify(state.pending)}\n${world.log.join("\n")}`).toEqual([]);
      expect(state.nodes.map((n) => n.id).sort()).toEqual(workers.map((w) => w.identifier).sort());
      const keys = (await readNodeGroups(project.dir, "general"))[0]!.nodes;
      expect([...keys].sort()).toEqual(state.nodes.map((n) => n.key).sort());
      expect((await stack.history(1))[0]?.message).toMatch(/^scale-up general \d → 4/);
    },
  );
});
