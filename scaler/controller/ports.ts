/**
 * What the controller needs from the world, as interfaces: the clock, the cluster's state, the apply
 * layer, operations on Kubernetes Nodes, and where events and the status go. The composition root
 * (compose.ts) passes the real ones; unit tests pass fakes, so the loop's timers, backoff and failure
 * paths are tested in milliseconds.
 */
import type { RecoveryReport } from "../apply/recovery.js";
import type { ScaleRequest, ScaleResult } from "../apply/applier.js";
import type { NodeGroup, Pod, Snapshot } from "../decision/types.js";
import type { NodeGroupConfig } from "../../stacks/contract.js";

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Calls `run` after `ms`; returns how to cancel it. */
  after(ms: number, run: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  after: (ms, run) => {
    const timer = setTimeout(run, ms);
    return () => clearTimeout(timer);
  },
};

/** The apply layer, the only way the scaler changes infrastructure (scaler/apply/applier.ts). */
export interface ApplyLayer {
  apply(request: ScaleRequest): Promise<ScaleResult>;
  /** Finishes an update a crashed scaler left; undefined when there was none. */
  recover(group: string): Promise<RecoveryReport | undefined>;
  /** Member key → node name, from the group's state. */
  nodeNames(group: string): Promise<Record<string, string>>;
}

/** The cluster as informers see it. */
export interface ClusterSource {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Why the caches cannot be trusted now (not synced, a watch failed since the last relist), or undefined. */
  notReady(): string | undefined;
  snapshot(): Snapshot;
  /** Called when a pod turns unschedulable, so the loop can plan soon. */
  onUnschedulable(listener: () => void): void;
}

/** The node groups as the loop needs them: their config, their nodes' size, which key is which node. */
export interface GroupSource {
  /** The configured groups, re-read every time so a person's edits count at once. */
  configs(): Promise<NodeGroupConfig[]>;
  /** The decision core's node groups; those whose size cannot be told yet are left out (and logged). */
  decisionGroups(
    configs: NodeGroupConfig[],
    registered: ReadonlySet<string>,
    now: number,
    log: (message: string) => void,
  ): Promise<NodeGroup[]>;
  /** Member key → node name (the worker's hostname). */
  readonly hostnames: Map<string, string>;
  /** The member key of a Node, if one names it. */
  keyOf(nodeName: string): string | undefined;
}

/** `evicted`: the pods the Eviction API accepted (those already gone are not counted). */
export type DrainOutcome = { drained: true; evicted: number } | { drained: false; reason: string };

/** What the scaler does to Kubernetes Nodes. */
export interface NodeOperations {
  /** Puts the group's label, labels and taints on a node that registered without them. */
  label(node: string, group: NodeGroupConfig): Promise<void>;
  /** Taints the node and evicts `pods`; on failure the taint comes off again. */
  drain(node: string, pods: Pod[]): Promise<DrainOutcome>;
  /** Takes the drain's taint off a node that is staying. */
  untaint(node: string): Promise<void>;
  /** Deletes the Node object (its worker is gone). */
  remove(node: string): Promise<void>;
}

export interface InvolvedObject {
  kind: "Pod" | "Node" | "ConfigMap";
  name: string;
  namespace?: string;
}

/** Where Kubernetes Events go. */
export interface EventRecorder {
  record(object: InvolvedObject, reason: string, message: string, type: "Normal" | "Warning"): Promise<void>;
}

/** Where the status document goes (in a cluster: the status ConfigMap). */
export interface StatusWriter {
  /** The status document, and other keys beside it (the stack config's problems). */
  write(status: string, extra?: Record<string, string>): Promise<void>;
}

/** One line for the log: a message and the fields that say what it is about. */
export type Log = (
  level: "debug" | "info" | "warn" | "error",
  message: string,
  fields?: Record<string, unknown>,
) => void;
