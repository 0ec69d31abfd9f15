import type { NodeGroup, Node, Pod, PodDisruptionBudget, Resources } from "../../../scaler/decision/types.js";
import { NODE_GROUP_LABEL } from "../../../scaler/decision/types.js";

export const GiB = 2 ** 30;
export const NOW = Date.parse("2026-11-24T10:00:00Z");
export const MINUTE = 60_000;

export function res(cpu: number, memoryGi = 0, pods = 1): Resources {
  return { cpu, memory: memoryGi * GiB, ephemeralStorage: 0, pods };
}

export function node(
  name: string,
  overrides: Partial<Node> & { group?: string; cpu?: number; memoryGi?: number } = {},
): Node {
  const { group, cpu = 4000, memoryGi = 8, ...rest } = overrides;
  return {
    name,
    labels: {
      "kubernetes.io/hostname": name,
      ...(group ? { [NODE_GROUP_LABEL]: group } : {}),
      ...rest.labels,
    },
    annotations: rest.annotations ?? {},
    taints: rest.taints ?? [],
    unschedulable: rest.unschedulable ?? false,
    ready: rest.ready ?? true,
    allocatable: rest.allocatable ?? { cpu, memory: memoryGi * GiB, ephemeralStorage: 100 * GiB, pods: 110 },
    createdAt: rest.createdAt ?? NOW - 60 * MINUTE,
  };
}

let counter = 0;
export function pod(overrides: Partial<Pod> & { cpu?: number; memoryGi?: number } = {}): Pod {
  const { cpu = 100, memoryGi = 0.125, ...rest } = overrides;
  counter += 1;
  return {
    namespace: "default",
    name: `pod-${counter}`,
    labels: {},
    annotations: {},
    requests: rest.requests ?? res(cpu, memoryGi),
    hostPorts: [],
    nodeSelector: {},
    tolerations: [],
    antiAffinity: [],
    topologySpread: [],
    controller: { kind: "ReplicaSet", name: "app-abc" },
    isDaemonSet: false,
    isMirror: false,
    priority: 0,
    localVolumes: [],
    createdAt: NOW - 10 * MINUTE,
    finished: false,
    terminating: false,
    ...rest,
  };
}

/** A pod the scheduler could not place, a while ago. */
export function pending(overrides: Partial<Pod> & { cpu?: number; memoryGi?: number } = {}): Pod {
  return pod({ unschedulableSince: NOW - 60_000, ...overrides });
}

export function group(name: string, overrides: Partial<NodeGroup> = {}): NodeGroup {
  return {
    name,
    minNodes: 0,
    maxNodes: 10,
    capacity: { cpu: 4000, memory: 8 * GiB, ephemeralStorage: 100 * GiB, pods: 110 },
    labels: {},
    taints: [],
    priority: 0,
    upcoming: [],
    ...overrides,
  };
}

export function pdb(
  name: string,
  matchLabels: Record<string, string>,
  disruptionsAllowed: number,
  namespace = "default",
): PodDisruptionBudget {
  return { namespace, name, selector: { matchLabels }, disruptionsAllowed };
}
