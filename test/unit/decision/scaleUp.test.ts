import { describe, expect, it } from "vitest";
import { emptyTimers, type ExpanderName, withScaleUpFailure } from "../../../scaler/decision/options.js";
import { plan, type PlanInput } from "../../../scaler/decision/plan.js";
import { GiB, group, MINUTE, node, NOW, pending, pod } from "./builders.js";

function run(input: Partial<PlanInput>) {
  return plan({
    snapshot: { nodes: [], pods: [], pdbs: [] },
    groups: [group("general")],
    timers: emptyTimers(),
    now: NOW,
    ...input,
  });
}

describe("scale-up", () => {
  it("uses free capacity before adding nodes", () => {
    const result = run({
      snapshot: { nodes: [node("n1", { group: "general" })], pods: [pending({ cpu: 1000 })], pdbs: [] },
    });
    expect(result.scaleUp).toEqual([]);
    expect(result.pending).toEqual([{ pod: expect.any(String), outcome: "fits-existing", node: "n1" }]);
  });

  it("counts a node that registered moments ago and is not Ready yet as capacity on its way", () => {
    const fresh = node("n-new", { group: "general", ready: false, createdAt: NOW - MINUTE });
    const result = run({ snapshot: { nodes: [fresh], pods: [pending({ cpu: 1000 })], pdbs: [] } });
    expect(result.scaleUp).toEqual([]);
    expect(result.pending).toEqual([{ pod: expect.any(String), outcome: "fits-existing", node: "n-new" }]);
    const stale = node("n-old", { group: "general", ready: false, createdAt: NOW - 60 * MINUTE });
    expect(
      run({ snapshot: { nodes: [stale], pods: [pending({ cpu: 1000 })], pdbs: [] } }).scaleUp,
    ).toHaveLength(1);
  });

  it("acts only on Unschedulable pods older than the delay, and never on expendable ones", () => {
    const young = pending({ createdAt: NOW - 2_000 });
    const expendable = pending({ priority: -100 });
    const bound = pod({ nodeName: "x" });
    const result = run({
      snapshot: { nodes: [], pods: [young, expendable, bound], pdbs: [] },
      options: { newPodScaleUpDelayMs: 5_000 },
    });
    expect(result.scaleUp).toEqual([]);
    expect(result.pending.map((p) => p.outcome).sort()).toEqual(["expendable", "too-young"]);
    const annotated = pending({
      createdAt: NOW - 30_000,
      annotations: { "cluster-autoscaler.kubernetes.io/pod-scale-up-delay": "60s" },
    });
    expect(run({ snapshot: { nodes: [], pods: [annotated], pdbs: [] } }).pending[0]?.outcome).toBe(
      "too-young",
    );
  });

  it("bin-packs first-fit decreasing onto new nodes of the group", () => {
    const pods = [1000, 1000, 1000, 3000, 3000, 3000].map((cpu) => pending({ cpu, memoryGi: 0.5 }));
    const result = run({ snapshot: { nodes: [], pods, pdbs: [] } });
    // In the given order, first fit would need 4 nodes (1+1+1, 3, 3, 3); largest first needs 3.
    expect(result.scaleUp).toEqual([expect.objectContaining({ group: "general", from: 0, to: 3 })]);
    expect(result.scaleUp[0]?.pods).toHaveLength(6);
  });

  it("counts nodes already asked for, and lets them take pending pods", () => {
    const g = group("general", { upcoming: [{ key: "general-a1", requestedAt: NOW - MINUTE }] });
    const result = run({
      groups: [g],
      snapshot: {
        nodes: [node("n1", { group: "general", cpu: 500 })],
        pods: [pending({ cpu: 3000 }), pending({ cpu: 3000 })],
        pdbs: [],
      },
    });
    expect(result.pending.filter((p) => p.outcome === "fits-upcoming")).toHaveLength(1);
    expect(result.scaleUp).toEqual([expect.objectContaining({ group: "general", from: 2, to: 3 })]);
  });

  it("stops at the group's maximum and says so for the pods left over", () => {
    const result = run({
      groups: [group("general", { maxNodes: 1 })],
      snapshot: { nodes: [], pods: [pending({ cpu: 3000 }), pending({ cpu: 3000 })], pdbs: [] },
    });
    expect(result.scaleUp).toEqual([expect.objectContaining({ from: 0, to: 1 })]);
    expect(result.noScaleUp).toEqual([
      {
        pod: expect.any(String),
        reasons: { general: "node group general is at its maximum size (1)" },
        because: { general: { kind: "MaxSizeReached", group: "general", max: 1 } },
      },
    ]);
  });

  it("respects the cluster-wide limits on nodes and cores", () => {
    const pods = [pending({ cpu: 3000 }), pending({ cpu: 3000 })];
    const byNodes = run({
      options: { limits: { maxNodesTotal: 2 } },
      snapshot: { nodes: [node("n0", { group: "general", cpu: 100 })], pods, pdbs: [] },
    });
    expect(byNodes.scaleUp[0]).toMatchObject({ to: 2 });
    expect(Object.values(byNodes.noScaleUp[0]?.reasons ?? {})).toEqual([
      "the cluster-wide limit of 2 nodes is reached",
    ]);
    const byCores = run({ options: { limits: { maxCores: 6 } }, snapshot: { nodes: [], pods, pdbs: [] } });
    expect(byCores.scaleUp[0]).toMatchObject({ to: 1 });
    expect(Object.values(byCores.noScaleUp[0]?.reasons ?? {})).toEqual([
      "the cluster-wide limit of 6 cores is reached",
    ]);
  });

  it("adds at most maxNodesPerScaleUp nodes in one scale-up, and says the next loop adds more", () => {
    const pods = [pending({ cpu: 3000 }), pending({ cpu: 3000 }), pending({ cpu: 3000 })];
    const capped = run({ options: { maxNodesPerScaleUp: 2 }, snapshot: { nodes: [], pods, pdbs: [] } });
    expect(capped.scaleUp).toEqual([expect.objectContaining({ group: "general", from: 0, to: 2 })]);
    expect(Object.values(capped.noScaleUp[0]?.reasons ?? {})).toEqual([
      "one scale-up adds at most 2 nodes; the next loop adds more",
    ]);
  });

  it("gives, per group, the predicate that fails for pods no group can host", () => {
    const groups = [
      group("general"),
      group("gpu", { labels: { accelerator: "nvidia" }, taints: [{ key: "gpu", effect: "NoSchedule" }] }),
    ];
    const result = run({
      groups,
      snapshot: {
        nodes: [],
        pods: [pending({ cpu: 6000 }), pending({ nodeSelector: { accelerator: "nvidia" } })],
        pdbs: [],
      },
    });
    expect(result.scaleUp).toEqual([]);
    const [big, picky] = result.noScaleUp;
    expect(big?.reasons).toEqual({
      general: "Insufficient cpu (requests 6, free 4)",
      gpu: "node(s) had untolerated taint {gpu:NoSchedule}",
    });
    expect(picky?.reasons).toEqual({
      general: "node(s) didn't match Pod's node affinity/selector",
      gpu: "node(s) had untolerated taint {gpu:NoSchedule}",
    });
  });

  it("counts DaemonSet pods on the new nodes", () => {
    const daemon = pod({
      nodeName: "n0",
      isDaemonSet: true,
      controller: { kind: "DaemonSet", name: "agent" },
      cpu: 500,
    });
    const result = run({
      snapshot: { nodes: [node("n0", { cpu: 600 })], pods: [daemon, pending({ cpu: 3800 })], pdbs: [] },
    });
    expect(result.noScaleUp[0]?.reasons.general).toBe("Insufficient cpu (requests 3800m, free 3500m)");
  });

  it("skips a group in backoff after a failed scale-up, and says until when", () => {
    const timers = withScaleUpFailure(emptyTimers(), "general", "quota exceeded", NOW - MINUTE);
    const result = run({ timers, snapshot: { nodes: [], pods: [pending()], pdbs: [] } });
    expect(result.scaleUp).toEqual([]);
    expect(result.noScaleUp[0]?.reasons.general).toMatch(
      /backing off until 2026-11-24T10:04:00.000Z after a failed scale-up \(quota exceeded\)/,
    );
  });

  it("backs a group off when a requested node does not register in time, doubling the backoff", () => {
    const g = group("general", { upcoming: [{ key: "general-x", requestedAt: NOW - 16 * MINUTE }] });
    const result = run({ groups: [g] });
    expect(result.failedProvisioning).toEqual([
      { group: "general", key: "general-x", reason: "node general-x did not register within 15m" },
    ]);
    expect(result.timers.backoff.general).toMatchObject({ failures: 1, until: NOW + 5 * MINUTE });
    const again = withScaleUpFailure(result.timers, "general", "again", NOW + 6 * MINUTE);
    expect(again.backoff.general).toMatchObject({ failures: 2, until: NOW + 16 * MINUTE });
  });
});

describe("expanders", () => {
  const small = group("small", {
    capacity: { cpu: 2000, memory: 4 * GiB, ephemeralStorage: 100 * GiB, pods: 110 },
    priority: 1,
    pricePerHour: 0.03,
  });
  const big = group("big", {
    capacity: { cpu: 8000, memory: 16 * GiB, ephemeralStorage: 100 * GiB, pods: 110 },
    priority: 5,
    pricePerHour: 0.2,
  });
  const pods = [pending({ cpu: 1500, memoryGi: 3 })];
  const choose = (expanders: ExpanderName[], random = () => 0, groups = [big, small]) =>
    run({ groups, options: { expanders }, random, snapshot: { nodes: [], pods, pdbs: [] } }).scaleUp[0]
      ?.group;
  /** The pick whatever the groups' order and the tie-break's random source: the expander's own. */
  const always = (expanders: ExpanderName[]) =>
    new Set(
      [
        [big, small],
        [small, big],
      ].flatMap((groups) => [() => 0, () => 0.99].map((random) => choose(expanders, random, groups))),
    );

  it("least-waste picks the group that leaves the least idle", () =>
    expect(always(["least-waste"])).toEqual(new Set(["small"])));
  it("priority picks the highest priority", () => expect(always(["priority"])).toEqual(new Set(["big"])));
  it("price picks the cheapest per pod", () => expect(always(["price"])).toEqual(new Set(["small"])));
  it("random picks with the random source", () => {
    expect(choose(["random"], () => 0)).toBe("big");
    expect(choose(["random"], () => 0.99)).toBe("small");
  });
  it("most-pods picks the group that places the most pods", () => {
    const twoFit = [pending({ cpu: 3000, memoryGi: 1 }), pending({ cpu: 3000, memoryGi: 1 })];
    const capped = group("capped", { maxNodes: 1 });
    const roomy = group("roomy", { maxNodes: 2 });
    const result = run({
      groups: [capped, roomy],
      options: { expanders: ["most-pods"] },
      snapshot: { nodes: [], pods: twoFit, pdbs: [] },
    });
    expect(result.scaleUp[0]?.group).toBe("roomy");
  });
  it("chains: each expander narrows what the previous kept", () => {
    const twin = group("twin", { ...big, name: "twin", priority: 5, pricePerHour: 0.1 });
    const result = run({
      groups: [big, twin, small],
      options: { expanders: ["priority", "price"] },
      snapshot: { nodes: [], pods, pdbs: [] },
    });
    expect(result.scaleUp[0]?.group).toBe("twin");
  });
});
