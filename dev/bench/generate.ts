/** Generated clusters for the planner benchmark: realistic mixes of busy and idle nodes and pending pods. */
import { seededRandom } from "../../scaler/decision/random.js";
import {
  NODE_GROUP_LABEL,
  type Node,
  type NodeGroup,
  type Pod,
  type Snapshot,
} from "../../scaler/decision/types.js";

const GiB = 2 ** 30;
const NOW = Date.parse("2026-11-24T10:00:00Z");

export const benchNow = NOW;

export function benchGroups(): NodeGroup[] {
  const group = (name: string, cpu: number, memoryGi: number, price: number): NodeGroup => ({
    name,
    minNodes: 1,
    maxNodes: 2000,
    capacity: { cpu, memory: memoryGi * GiB, ephemeralStorage: 200 * GiB, pods: 110 },
    labels: { size: name },
    taints: [],
    priority: 0,
    pricePerHour: price,
    upcoming: [],
  });
  return [group("general", 8000, 32, 0.13), group("large", 16000, 64, 0.27), group("highmem", 8000, 64, 0.2)];
}

/** `nodes` nodes with `podsPerNode` pods each, and `pendingPods` unschedulable pods. */
export function benchSnapshot(nodes: number, podsPerNode: number, pendingPods: number, seed = 42): Snapshot {
  const random = seededRandom(seed);
  const groups = benchGroups();
  const snapshot: Snapshot = { nodes: [], pods: [], pdbs: [] };
  const base = (name: string, namespace: string): Pod => ({
    namespace,
    name,
    labels: { app: `app-${Math.floor(random() * 200)}` },
    annotations: {},
    requests: { cpu: 0, memory: 0, ephemeralStorage: 0, pods: 1 },
    hostPorts: [],
    nodeSelector: {},
    tolerations: [],
    antiAffinity: [],
    topologySpread: [],
    controller: { kind: "ReplicaSet", name: `rs-${Math.floor(random() * 500)}` },
    isDaemonSet: false,
    isMirror: false,
    priority: 0,
    localVolumes: [],
    createdAt: NOW - 3_600_000,
    finished: false,
    terminating: false,
  });
  for (let i = 0; i < nodes; i++) {
    const group = groups[i % groups.length] as NodeGroup;
    const name = `${group.name}-${i}`;
    const node: Node = {
      name,
      labels: { [NODE_GROUP_LABEL]: group.name, "kubernetes.io/hostname": name, size: group.name },
      annotations: {},
      taints: [],
      unschedulable: false,
      ready: true,
      allocatable: group.capacity,
      createdAt: NOW - 86_400_000,
    };
    snapshot.nodes.push(node);
    // A tenth of the nodes are nearly idle (the scale-down candidates); the rest leave too little room
    // for all pending pods, so the scale-up's bin-packing has work to do.
    const load = i % 10 === 0 ? 0.25 : 0.9;
    const daemon = base(`agent-${i}`, "kube-system");
    daemon.isDaemonSet = true;
    daemon.controller = { kind: "DaemonSet", name: "agent" };
    daemon.requests = { cpu: 50, memory: 64 * 2 ** 20, ephemeralStorage: 0, pods: 1 };
    daemon.nodeName = name;
    snapshot.pods.push(daemon);
    for (let j = 1; j < podsPerNode; j++) {
      const pod = base(`pod-${i}-${j}`, `team-${j % 8}`);
      pod.nodeName = name;
      pod.requests = {
        cpu: Math.max(10, Math.round(((group.capacity.cpu * load) / podsPerNode) * (0.5 + random()))),
        memory: Math.round(((group.capacity.memory * load) / podsPerNode) * (0.5 + random())),
        ephemeralStorage: 0,
        pods: 1,
      };
      snapshot.pods.push(pod);
    }
  }
  for (let k = 0; k < pendingPods; k++) {
    const pod = base(`pending-${k}`, `team-${k % 8}`);
    pod.unschedulableSince = NOW - 60_000;
    pod.requests = {
      cpu: 250 + Math.round(random() * 3000),
      memory: Math.round((0.25 + random() * 6) * GiB),
      ephemeralStorage: 0,
      pods: 1,
    };
    if (k % 20 === 0) pod.nodeSelector = { size: "highmem" };
    if (k % 50 === 0) {
      pod.antiAffinity = [
        {
          labelSelector: { matchLabels: { app: pod.labels.app ?? "" } },
          namespaces: [],
          topologyKey: "kubernetes.io/hostname",
        },
      ];
    }
    snapshot.pods.push(pod);
  }
  for (let b = 0; b < 20; b++) {
    snapshot.pdbs.push({
      namespace: `team-${b % 8}`,
      name: `pdb-${b}`,
      selector: { matchLabels: { app: `app-${b}` } },
      disruptionsAllowed: b % 2,
    });
  }
  return snapshot;
}
