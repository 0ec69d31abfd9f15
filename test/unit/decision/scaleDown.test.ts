import { describe, expect, it } from "vitest";
import { emptyTimers, type TimersState } from "../../../scaler/decision/options.js";
import { plan, type PlanInput } from "../../../scaler/decision/plan.js";
import type { Node, Pod } from "../../../scaler/decision/types.js";
import { group, MINUTE, node, NOW, pdb, pending, pod } from "./builders.js";

/** A busy node with room for more, and the candidate node `c` with the given pods. */
function cluster(
  candidatePods: Array<Partial<Pod> & { cpu?: number; memoryGi?: number }>,
  candidate: Partial<Node> = {},
): PlanInput["snapshot"] {
  const nodes = [node("busy", { group: "general" }), node("c", { group: "general", ...candidate })];
  const pods = [
    pod({ nodeName: "busy", cpu: 2200, memoryGi: 1 }),
    ...candidatePods.map((p) => pod({ nodeName: "c", ...p })),
  ];
  return { nodes, pods, pdbs: [] };
}

function run(snapshot: PlanInput["snapshot"], extra: Partial<PlanInput> = {}) {
  return plan({
    snapshot,
    groups: [group("general", { minNodes: 1 })],
    timers: emptyTimers(),
    now: NOW,
    respectTimers: false,
    ...extra,
  });
}

function verdict(result: ReturnType<typeof run>, name = "c") {
  return result.nodes.find((n) => n.node === name);
}

describe("scale-down", () => {
  it("removes a node whose requests are low and whose pods fit elsewhere", () => {
    const result = run(cluster([{ cpu: 500 }]));
    expect(result.scaleDown).toEqual([
      expect.objectContaining({ group: "general", node: "c", pods: [expect.any(String)] }),
    ]);
    expect(verdict(result)).toMatchObject({ removable: true, utilization: { cpu: 0.125 } });
  });

  it("counts a pending pod on the node it fits, as cluster-autoscaler's filterOutSchedulable does: that node is not empty", () => {
    const snapshot = cluster([]);
    const waiting = pending({ cpu: 3000 });
    const result = run({ ...snapshot, pods: [...snapshot.pods, waiting] });
    expect(result.pending).toEqual([{ pod: `default/${waiting.name}`, outcome: "fits-existing", node: "c" }]);
    expect(result.scaleUp).toEqual([]);
    expect(result.scaleDown).toEqual([]);
    expect(verdict(result)).toMatchObject({ removable: false, utilization: { cpu: 0.75 } });
  });

  it("keeps a node at or above the utilization threshold in cpu or memory", () => {
    expect(verdict(run(cluster([{ cpu: 2100 }])))).toMatchObject({
      removable: false,
      reason: expect.stringMatching(/not both below the 50% threshold/),
    });
    expect(verdict(run(cluster([{ cpu: 100, memoryGi: 4.5 }])))?.removable).toBe(false);
  });

  it("keeps a node whose pods have nowhere to go", () => {
    const result = run(cluster([{ cpu: 1900 }]));
    expect(verdict(result)).toMatchObject({
      removable: false,
      reason: expect.stringMatching(/cannot move to another node \(Insufficient cpu/),
    });
  });

  it("waits until a node has been unneeded long enough, and remembers since when", () => {
    const snapshot = cluster([{ cpu: 500 }]);
    const first = run(snapshot, { respectTimers: true });
    expect(first.scaleDown).toEqual([]);
    expect(verdict(first)?.reason).toMatch(/unneeded for 0s of the 10m required/);
    expect(first.timers.unneededSince).toEqual({ c: NOW });
    const later = run(snapshot, { respectTimers: true, timers: first.timers, now: NOW + 11 * MINUTE });
    expect(later.scaleDown.map((s) => s.node)).toEqual(["c"]);
  });

  it("respects PodDisruptionBudgets", () => {
    const guarded = cluster([{ cpu: 300, labels: { app: "web" } }]);
    const blocked = run({ ...guarded, pdbs: [pdb("web", { app: "web" }, 0)] });
    expect(verdict(blocked)?.reason).toMatch(
      /covered by PodDisruptionBudget default\/web, which allows 0 more disruption/,
    );
    expect(run({ ...guarded, pdbs: [pdb("web", { app: "web" }, 1)] }).scaleDown).toHaveLength(1);
  });

  it("honours safe-to-evict: false blocks, true lets a bare pod go", () => {
    expect(
      verdict(run(cluster([{ annotations: { "cluster-autoscaler.kubernetes.io/safe-to-evict": "false" } }])))
        ?.reason,
    ).toMatch(/safe-to-evict=false/);
    expect(verdict(run(cluster([{ controller: undefined }])))?.reason).toMatch(/has no controller/);
    expect(
      run(
        cluster([
          {
            controller: undefined,
            annotations: { "cluster-autoscaler.kubernetes.io/safe-to-evict": "true" },
          },
        ]),
      ).scaleDown,
    ).toHaveLength(1);
  });

  it("blocks on local storage unless every such volume is listed as safe", () => {
    expect(verdict(run(cluster([{ localVolumes: ["cache", "data"] }])))?.reason).toMatch(
      /local storage .*volume cache, data/,
    );
    const partly = {
      localVolumes: ["cache", "data"],
      annotations: { "cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes": "cache" },
    };
    expect(verdict(run(cluster([partly])))?.reason).toMatch(/volume data/);
    const listed = {
      ...partly,
      annotations: { "cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes": "cache, data" },
    };
    expect(run(cluster([listed])).scaleDown).toHaveLength(1);
  });

  it("blocks on kube-system pods without a PodDisruptionBudget", () => {
    const system = cluster([{ namespace: "kube-system", labels: { app: "dns" } }]);
    expect(verdict(run(system))?.reason).toMatch(/kube-system pod without a PodDisruptionBudget/);
    expect(run({ ...system, pdbs: [pdb("dns", { app: "dns" }, 1, "kube-system")] }).scaleDown).toHaveLength(
      1,
    );
  });

  it("honours karpenter.sh/do-not-disrupt on pods (for good or for a duration) and on nodes", () => {
    expect(
      verdict(run(cluster([{ annotations: { "karpenter.sh/do-not-disrupt": "true" } }])))?.removable,
    ).toBe(false);
    const recent = { startedAt: NOW - 10 * MINUTE, annotations: { "karpenter.sh/do-not-disrupt": "30m" } };
    expect(verdict(run(cluster([recent])))?.reason).toMatch(/do-not-disrupt=30m/);
    expect(run(cluster([{ ...recent, startedAt: NOW - 40 * MINUTE }])).scaleDown).toHaveLength(1);
    expect(
      verdict(run(cluster([], { annotations: { "karpenter.sh/do-not-disrupt": "true" } })))?.removable,
    ).toBe(false);
  });

  it("never touches a node annotated scale-down-disabled", () => {
    const result = run(
      cluster([], { annotations: { "cluster-autoscaler.kubernetes.io/scale-down-disabled": "true" } }),
    );
    expect(verdict(result)?.reason).toMatch(/scale-down is disabled/);
  });

  it("does not let DaemonSet and mirror pods block: such a node is empty", () => {
    const daemon = { isDaemonSet: true, controller: { kind: "DaemonSet", name: "agent" } };
    const mirror = { isMirror: true, controller: undefined, namespace: "kube-system" };
    const result = run(cluster([daemon, mirror]));
    expect(result.scaleDown).toEqual([
      expect.objectContaining({ node: "c", reason: "the node is empty", pods: [] }),
    ]);
  });

  it("never goes below the group's minimum", () => {
    const result = run(cluster([]), { groups: [group("general", { minNodes: 2 })] });
    expect(verdict(result)?.reason).toMatch(/at its minimum size \(2\)/);
  });

  it("removes empty nodes in bulk (up to 10) and drains non-empty ones one at a time", () => {
    const empties = Array.from({ length: 12 }, (_, i) => node(`e${i}`, { group: "general" }));
    const light = [node("l1", { group: "general" }), node("l2", { group: "general" })];
    const pods = [
      pod({ nodeName: "busy", cpu: 2200 }),
      pod({ nodeName: "l1", cpu: 200 }),
      pod({ nodeName: "l2", cpu: 200 }),
    ];
    const result = run({ nodes: [node("busy", { group: "general" }), ...empties, ...light], pods, pdbs: [] });
    expect(result.scaleDown.filter((s) => s.pods.length === 0)).toHaveLength(10);
    expect(result.scaleDown.filter((s) => s.pods.length > 0)).toHaveLength(1);
    expect(result.nodes.filter((n) => /at most 10 empty nodes/.test(n.reason))).toHaveLength(2);
    expect(result.nodes.filter((n) => /one non-empty node is drained at a time/.test(n.reason))).toHaveLength(
      1,
    );
  });

  it("pauses after a scale-up, a scale-down failure, and while scaling up", () => {
    const snapshot = cluster([]);
    const after = (timers: Partial<TimersState>) =>
      run(snapshot, {
        respectTimers: true,
        timers: { ...emptyTimers(), unneededSince: { c: NOW - 20 * MINUTE }, ...timers },
      });
    expect(after({ lastScaleUp: NOW - 4 * MINUTE }).scaleDownPaused).toMatch(
      /a scale-up 4m ago \(delay 10m\)/,
    );
    expect(after({ lastScaleDownFailure: NOW - MINUTE }).scaleDownPaused).toMatch(
      /a failed scale-down 1m ago \(delay 3m\)/,
    );
    expect(after({ lastScaleUp: NOW - 11 * MINUTE }).scaleDown).toHaveLength(1);

    // Pending pods that the nodes cannot all take make this loop scale up: nothing is removed in it.
    const waiting = [pending({ cpu: 3000 }), pending({ cpu: 3000 })];
    for (const respectTimers of [true, false]) {
      const scalingUp = run(
        { ...snapshot, pods: [...snapshot.pods, ...waiting] },
        { respectTimers, timers: { ...emptyTimers(), unneededSince: { c: NOW - 20 * MINUTE } } },
      );
      expect(scalingUp.scaleUp).toHaveLength(1);
      expect(scalingUp.scaleDownPause).toEqual({ kind: "ScaleUpInLoop" });
      expect(scalingUp.scaleDown).toEqual([]);
    }
  });

  it("removes an unready node whatever its requests, after the longer unready time", () => {
    const snapshot = cluster([{ cpu: 2500 }], { ready: false });
    const roomy = {
      ...snapshot,
      nodes: [node("busy", { group: "general", cpu: 8000 }), snapshot.nodes[1] as Node],
    };
    const timers = { ...emptyTimers(), unneededSince: { c: NOW - 15 * MINUTE } };
    expect(verdict(run(roomy, { respectTimers: true, timers }))?.reason).toMatch(
      /unready.*15m of the 20m required/,
    );
    expect(
      run(roomy, { respectTimers: true, timers: { ...timers, unneededSince: { c: NOW - 21 * MINUTE } } })
        .scaleDown,
    ).toHaveLength(1);
  });

  it("halts when too many nodes are unready", () => {
    const nodes = Array.from({ length: 5 }, (_, i) => node(`u${i}`, { group: "general", ready: i === 0 }));
    const result = run({ nodes, pods: [], pdbs: [] });
    expect(result.halted).toMatch(/4 of 5 nodes are unready/);
    expect(result.scaleDown).toEqual([]);
  });

  it("explains nodes outside any configured group", () => {
    const result = run({ nodes: [node("stray"), node("other", { group: "unknown" })], pods: [], pdbs: [] });
    expect(result.nodes.map((n) => n.reason)).toEqual([
      "not in a node group: the node has no autoscaler.vpsie.com/nodegroup label",
      "node group unknown is not one of the configured node groups",
    ]);
  });
});
