/**
 * The plain data the decision core works on: nodes, pods, PodDisruptionBudgets and node groups,
 * already parsed from Kubernetes objects and configuration (see fromKubernetes.ts, nodeGroups.ts).
 */

/** CPU in millicores; memory and ephemeral storage in bytes; pods as a count. */
export interface Resources {
  cpu: number;
  memory: number;
  ephemeralStorage: number;
  pods: number;
}

export type TaintEffect = "NoSchedule" | "PreferNoSchedule" | "NoExecute";

export interface Taint {
  key: string;
  value?: string;
  effect: TaintEffect;
}

export interface Toleration {
  key?: string;
  operator?: "Exists" | "Equal";
  value?: string;
  effect?: string;
}

export type SelectorOperator = "In" | "NotIn" | "Exists" | "DoesNotExist" | "Gt" | "Lt";

export interface SelectorRequirement {
  key: string;
  operator: SelectorOperator;
  values?: string[];
}

export interface NodeSelectorTerm {
  matchExpressions?: SelectorRequirement[];
  /** Only `metadata.name` is a valid field. */
  matchFields?: SelectorRequirement[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: SelectorRequirement[];
}

export interface PodAffinityTerm {
  labelSelector?: LabelSelector;
  /** Namespaces the selector applies to; the pod's own when empty. */
  namespaces: string[];
  topologyKey: string;
}

export interface TopologySpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  whenUnsatisfiable: "DoNotSchedule" | "ScheduleAnyway";
  labelSelector?: LabelSelector;
}

export interface HostPort {
  port: number;
  protocol: string;
  hostIP: string;
}

export interface Node {
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  taints: Taint[];
  /** Cordoned (`spec.unschedulable`). */
  unschedulable: boolean;
  ready: boolean;
  allocatable: Resources;
  /** Epoch milliseconds. */
  createdAt: number;
}

export interface Pod {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** The node it is bound to, if any. */
  nodeName?: string;
  /** What the scheduler reserves for it: containers, init containers and overhead, as the scheduler adds them. */
  requests: Resources;
  hostPorts: HostPort[];
  nodeSelector: Record<string, string>;
  /** Required node affinity: the node must match at least one term. */
  nodeAffinity?: NodeSelectorTerm[];
  tolerations: Toleration[];
  /** Required pod anti-affinity terms. */
  antiAffinity: PodAffinityTerm[];
  topologySpread: TopologySpreadConstraint[];
  /** The controlling owner, if any (`kind/name`). */
  controller?: { kind: string; name: string };
  isDaemonSet: boolean;
  isMirror: boolean;
  priority: number;
  /** Volumes whose data lives on the node: hostPath, and emptyDir not backed by memory. */
  localVolumes: string[];
  /** Epoch milliseconds. */
  createdAt: number;
  startedAt?: number;
  /** When the scheduler marked it PodScheduled=False/Unschedulable; absent otherwise. */
  unschedulableSince?: number;
  /** Succeeded or Failed pods hold no resources. */
  finished: boolean;
  terminating: boolean;
}

export interface PodDisruptionBudget {
  namespace: string;
  name: string;
  selector: LabelSelector;
  disruptionsAllowed: number;
}

export interface Snapshot {
  nodes: Node[];
  pods: Pod[];
  pdbs: PodDisruptionBudget[];
}

export interface NodeGroup {
  name: string;
  minNodes: number;
  maxNodes: number;
  /** What one new node of the group offers to pods. */
  capacity: Resources;
  labels: Record<string, string>;
  taints: Taint[];
  /** For the priority expander: higher wins. */
  priority: number;
  /** $/h of one node (VPSie's hourly price of the group's size): the price expander, the limit in money, costs. */
  pricePerHour?: number;
  /** Nodes asked for and not registered yet: they count toward the size and will take pending pods. */
  upcoming: UpcomingNode[];
}

export interface UpcomingNode {
  key: string;
  /** Epoch milliseconds. */
  requestedAt: number;
}

export function podKey(pod: Pick<Pod, "namespace" | "name">): string {
  return `${pod.namespace}/${pod.name}`;
}

export const NODE_GROUP_LABEL = "autoscaler.vpsie.com/nodegroup";
/** The NoSchedule taint a node gets before its drain (cluster-autoscaler's ToBeDeletedByClusterAutoscaler). */
export const TO_BE_DELETED_TAINT = "autoscaler.vpsie.com/to-be-deleted";
export const HOSTNAME_LABEL = "kubernetes.io/hostname";
