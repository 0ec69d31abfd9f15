import { describe, expect, it } from "vitest";
import {
  podFromKubernetes,
  SnapshotError,
  snapshotFromList,
} from "../../../scaler/decision/fromKubernetes.js";
import { parseCpu, parseQuantity } from "../../../scaler/units/quantity.js";

function podObject(spec: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    kind: "Pod",
    metadata: { name: "p", namespace: "default", ...extra },
    spec: { containers: [], ...spec },
  };
}

describe("quantities", () => {
  it("reads CPU, binary and decimal suffixes and exponents", () => {
    expect(parseCpu("500m")).toBe(500);
    expect(parseCpu("1.5")).toBe(1500);
    expect(parseCpu(2)).toBe(2000);
    expect(parseQuantity("1Gi")).toBe(2 ** 30);
    expect(parseQuantity("512Mi")).toBe(512 * 2 ** 20);
    expect(parseQuantity("1G")).toBe(1e9);
    expect(parseQuantity("1e3")).toBe(1000);
    expect(() => parseQuantity("4GG")).toThrow(/"4GG" is not a Kubernetes quantity/);
  });
});

describe("pod requests, counted the way the scheduler counts them", () => {
  const c = (name: string, cpu: string, memory = "0", extra: Record<string, unknown> = {}) => ({
    name,
    resources: { requests: { cpu, memory } },
    ...extra,
  });

  it("adds containers, and takes an init container when it asks for more", () => {
    const pod = podFromKubernetes(
      podObject({ containers: [c("a", "500m"), c("b", "500m")], initContainers: [c("init", "1500m")] }),
      "p",
    );
    expect(pod.requests.cpu).toBe(1500);
    const small = podFromKubernetes(
      podObject({ containers: [c("a", "500m"), c("b", "500m")], initContainers: [c("init", "200m")] }),
      "p",
    );
    expect(small.requests.cpu).toBe(1000);
  });

  it("keeps restartable (sidecar) init containers running beside later init containers and the app", () => {
    const pod = podFromKubernetes(
      podObject({
        containers: [c("app", "1")],
        initContainers: [c("proxy", "200m", "0", { restartPolicy: "Always" }), c("migrate", "1500m")],
      }),
      "p",
    );
    // max(app 1000 + proxy 200, migrate 1500 + proxy 200)
    expect(pod.requests.cpu).toBe(1700);
  });

  it("adds the pod overhead and counts one pod", () => {
    const pod = podFromKubernetes(
      podObject({ containers: [c("a", "100m", "64Mi")], overhead: { cpu: "250m", memory: "120Mi" } }),
      "p",
    );
    expect(pod.requests).toEqual({ cpu: 350, memory: 184 * 2 ** 20, ephemeralStorage: 0, pods: 1 });
  });

  it("marks DaemonSet and mirror pods, local storage, and the Unschedulable condition", () => {
    const pod = podFromKubernetes(
      {
        ...podObject(
          {
            volumes: [
              { name: "cache", emptyDir: {} },
              { name: "shm", emptyDir: { medium: "Memory" } },
              { name: "logs", hostPath: { path: "/var/log" } },
              { name: "config", configMap: { name: "x" } },
            ],
          },
          { ownerReferences: [{ kind: "DaemonSet", name: "agent", controller: true }] },
        ),
        status: {
          conditions: [
            {
              type: "PodScheduled",
              status: "False",
              reason: "Unschedulable",
              lastTransitionTime: "2026-11-24T09:00:00Z",
            },
          ],
        },
      },
      "p",
    );
    expect(pod.isDaemonSet).toBe(true);
    expect(pod.isMirror).toBe(false);
    expect(pod.localVolumes).toEqual(["cache", "logs"]);
    expect(pod.unschedulableSince).toBe(Date.parse("2026-11-24T09:00:00Z"));

    const mirror = podFromKubernetes(
      podObject({}, { annotations: { "kubernetes.io/config.mirror": "f00d" } }),
      "static",
    );
    expect(mirror).toMatchObject({ isMirror: true, isDaemonSet: false, unschedulableSince: undefined });
  });
});

describe("snapshots", () => {
  it("must be a v1 List", () => {
    expect(() => snapshotFromList({ kind: "PodList", items: [] })).toThrow(
      /kind: expected a v1 List .* got PodList/,
    );
    expect(() => snapshotFromList([])).toThrow(SnapshotError);
  });

  it("names the object and the field of a bad quantity", () => {
    const list = {
      kind: "List",
      items: [podObject({ containers: [{ name: "a", resources: { requests: { cpu: "lots" } } }] })],
    };
    expect(() => snapshotFromList(list)).toThrow(
      'items[0] (Pod default/p).spec.containers[0].resources.requests.cpu: "lots" is not a Kubernetes quantity',
    );
  });

  it("reads nodes with their readiness, taints, cordon and allocatable", () => {
    const snapshot = snapshotFromList({
      kind: "List",
      items: [
        {
          kind: "Node",
          metadata: { name: "n1", labels: { "autoscaler.vpsie.com/nodegroup": "general" } },
          spec: { unschedulable: true, taints: [{ key: "k", value: "v", effect: "NoSchedule" }] },
          status: {
            allocatable: { cpu: "3920m", memory: "7Gi", pods: "110" },
            conditions: [{ type: "Ready", status: "True" }],
          },
        },
        { kind: "Service", metadata: { name: "ignored" } },
      ],
    });
    expect(snapshot.nodes[0]).toMatchObject({
      name: "n1",
      ready: true,
      unschedulable: true,
      allocatable: { cpu: 3920, memory: 7 * 2 ** 30, pods: 110 },
      taints: [{ key: "k", value: "v", effect: "NoSchedule" }],
    });
    expect(snapshot.pods).toEqual([]);
  });

  it("counts a Ready node that still carries the node lifecycle controller's not-ready or unreachable taint as not ready", () => {
    const node = (name: string, key?: string) => ({
      kind: "Node",
      metadata: { name },
      spec: key ? { taints: [{ key, effect: "NoSchedule" }] } : {},
      status: {
        allocatable: { cpu: "2", memory: "4Gi", pods: "110" },
        conditions: [{ type: "Ready", status: "True" }],
      },
    });
    const snapshot = snapshotFromList({
      kind: "List",
      items: [
        node("fresh", "node.kubernetes.io/not-ready"),
        node("lost", "node.kubernetes.io/unreachable"),
        node("ready", "dedicated"),
      ],
    });
    expect(snapshot.nodes.map((n) => [n.name, n.ready])).toEqual([
      ["fresh", false],
      ["lost", false],
      ["ready", true],
    ]);
  });
});
