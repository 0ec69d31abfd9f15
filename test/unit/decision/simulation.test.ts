import { describe, expect, it } from "vitest";
import { describePredicate } from "../../../scaler/decision/reasons.js";
import { Simulation } from "../../../scaler/decision/simulation.js";
import type { SelectorOperator } from "../../../scaler/decision/types.js";
import { node, pod, res } from "./builders.js";

function whyNot(
  p: ReturnType<typeof pod>,
  n: ReturnType<typeof node>,
  others: ReturnType<typeof pod>[] = [],
) {
  const sim = new Simulation([n], others);
  const failure = sim.whyNot(p, sim.node(n.name)!);
  return failure && describePredicate(failure);
}

describe("the scheduling simulation", () => {
  it("checks cpu, memory, ephemeral storage and pod count against what is free", () => {
    const n = node("n", { cpu: 2000, memoryGi: 4 });
    const busy = pod({ nodeName: "n", cpu: 1500, memoryGi: 1 });
    expect(whyNot(pod({ cpu: 600 }), n, [busy])).toBe("Insufficient cpu (requests 600m, free 500m)");
    expect(whyNot(pod({ cpu: 400, memoryGi: 3.5 }), n, [busy])).toBe(
      "Insufficient memory (requests 3.5Gi, free 3Gi)",
    );
    expect(whyNot(pod({ requests: { ...res(10), ephemeralStorage: 200 * 2 ** 30 } }), n)).toMatch(
      /^Insufficient ephemeral-storage/,
    );
    const full = node("n", { allocatable: { cpu: 4000, memory: 8 * 2 ** 30, ephemeralStorage: 0, pods: 1 } });
    expect(whyNot(pod(), full, [pod({ nodeName: "n" })])).toBe("Too many pods");
    expect(whyNot(pod({ cpu: 400 }), n, [busy])).toBeUndefined();
  });

  it("ignores finished pods, which hold nothing", () => {
    const n = node("n", { cpu: 1000 });
    expect(whyNot(pod({ cpu: 800 }), n, [pod({ nodeName: "n", cpu: 800, finished: true })])).toBeUndefined();
  });

  it("honours nodeSelector", () => {
    const n = node("n", { labels: { disk: "ssd" } });
    expect(whyNot(pod({ nodeSelector: { disk: "hdd" } }), n)).toBe(
      "node(s) didn't match Pod's node affinity/selector",
    );
    expect(whyNot(pod({ nodeSelector: { disk: "ssd" } }), n)).toBeUndefined();
  });

  const cases: Array<[SelectorOperator, string[] | undefined, boolean]> = [
    ["In", ["2", "3"], true],
    ["In", ["4"], false],
    ["NotIn", ["3"], false],
    ["NotIn", ["4"], true],
    ["Exists", undefined, true],
    ["DoesNotExist", undefined, false],
    ["Gt", ["2"], true],
    ["Gt", ["3"], false],
    ["Lt", ["4"], true],
    ["Lt", ["3"], false],
  ];
  for (const [operator, values, fits] of cases) {
    it(`matches required node affinity ${operator} ${values?.join(",") ?? ""} against generation=3: ${fits ? "fits" : "does not"}`, () => {
      const n = node("n", { labels: { generation: "3" } });
      const p = pod({ nodeAffinity: [{ matchExpressions: [{ key: "generation", operator, values }] }] });
      expect(whyNot(p, n) === undefined).toBe(fits);
    });
  }

  it("needs only one node affinity term to match", () => {
    const n = node("n", { labels: { zone: "b" } });
    const p = pod({
      nodeAffinity: [
        { matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] },
        { matchExpressions: [{ key: "zone", operator: "In", values: ["b"] }] },
      ],
    });
    expect(whyNot(p, n)).toBeUndefined();
  });

  it("keeps pods off NoSchedule and NoExecute taints they do not tolerate, and ignores PreferNoSchedule", () => {
    const n = node("n", { taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }] });
    expect(whyNot(pod(), n)).toBe("node(s) had untolerated taint {dedicated=gpu:NoSchedule}");
    expect(
      whyNot(
        pod({ tolerations: [{ key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule" }] }),
        n,
      ),
    ).toBeUndefined();
    expect(whyNot(pod({ tolerations: [{ operator: "Exists" }] }), n)).toBeUndefined();
    const noExecute = node("n", { taints: [{ key: "maintenance", effect: "NoExecute" }] });
    expect(
      whyNot(
        pod({ tolerations: [{ key: "maintenance", operator: "Exists", effect: "NoSchedule" }] }),
        noExecute,
      ),
    ).toMatch(/untolerated taint/);
    expect(
      whyNot(pod(), node("n", { taints: [{ key: "soft", effect: "PreferNoSchedule" }] })),
    ).toBeUndefined();
  });

  it("refuses a host port already taken on the node", () => {
    const n = node("n");
    const taken = pod({ nodeName: "n", hostPorts: [{ port: 8080, protocol: "TCP", hostIP: "0.0.0.0" }] });
    expect(whyNot(pod({ hostPorts: [{ port: 8080, protocol: "TCP", hostIP: "0.0.0.0" }] }), n, [taken])).toBe(
      "node(s) didn't have free ports for the requested pod ports",
    );
    expect(
      whyNot(pod({ hostPorts: [{ port: 8080, protocol: "UDP", hostIP: "0.0.0.0" }] }), n, [taken]),
    ).toBeUndefined();
  });

  it("honours required pod anti-affinity on the hostname key, in both directions", () => {
    const n = node("n");
    const term = {
      labelSelector: { matchLabels: { app: "db" } },
      namespaces: [],
      topologyKey: "kubernetes.io/hostname",
    };
    const db = pod({ nodeName: "n", labels: { app: "db" } });
    expect(whyNot(pod({ labels: { app: "db" }, antiAffinity: [term] }), n, [db])).toBe(
      "node(s) didn't match pod anti-affinity rules",
    );
    const guarded = pod({ nodeName: "n", labels: { app: "db" }, antiAffinity: [term] });
    expect(whyNot(pod({ labels: { app: "db" } }), n, [guarded])).toBe(
      "node(s) didn't match pod anti-affinity rules",
    );
    expect(whyNot(pod({ labels: { app: "web" }, antiAffinity: [term] }), node("m"), [])).toBeUndefined();
  });

  it("honours topology spread on the hostname key", () => {
    const a = node("a");
    const b = node("b");
    const spread = [
      {
        maxSkew: 1,
        topologyKey: "kubernetes.io/hostname",
        whenUnsatisfiable: "DoNotSchedule" as const,
        labelSelector: { matchLabels: { app: "web" } },
      },
    ];
    const sim = new Simulation([a, b], [pod({ nodeName: "a", labels: { app: "web" } })]);
    const next = pod({ labels: { app: "web" }, topologySpread: spread });
    expect(describePredicate(sim.whyNot(next, sim.node("a")!)!)).toBe(
      "node(s) didn't match pod topology spread constraints",
    );
    expect(sim.whyNot(next, sim.node("b")!)).toBeUndefined();
  });

  it("keeps pods off cordoned nodes", () => {
    expect(whyNot(pod(), node("n", { unschedulable: true }))).toBe("node(s) were unschedulable");
  });
});
