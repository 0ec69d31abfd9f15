/**
 * Why the decision core decided what it did, as data: every pending pod that no group can host, every
 * node that stays or goes, every pause. Reporting, events, metrics and `plan` read the `kind`; the text
 * people read is derived here, once. The kinds follow cluster-autoscaler's names where they mean the
 * same (its UnremovableReason, its drainability rules' BlockingPodReason, the scheduler's predicates).
 */
import { formatCost } from "./cost.js";
import { formatBytes, formatCpu } from "../units/quantity.js";
import { formatDuration } from "../units/durations.js";
import type { Taint } from "./types.js";

/** Why a pod cannot go onto a node: the first of the scheduler's filters that fails. */
export type PredicateFailure =
  | { kind: "NodeUnschedulable" }
  | { kind: "NodeAffinity" }
  | { kind: "TaintToleration"; taint: Taint }
  | { kind: "NodePorts" }
  | { kind: "TooManyPods" }
  | {
      kind: "InsufficientResource";
      resource: "cpu" | "memory" | "ephemeral-storage";
      requested: number;
      free: number;
    }
  | { kind: "PodAntiAffinity" }
  | { kind: "PodTopologySpread" };

export function formatTaint(taint: Taint): string {
  return `{${taint.key}${taint.value ? `=${taint.value}` : ""}:${taint.effect}}`;
}

export function describePredicate(failure: PredicateFailure): string {
  switch (failure.kind) {
    case "NodeUnschedulable":
      return "node(s) were unschedulable";
    case "NodeAffinity":
      return "node(s) didn't match Pod's node affinity/selector";
    case "TaintToleration":
      return `node(s) had untolerated taint ${formatTaint(failure.taint)}`;
    case "NodePorts":
      return "node(s) didn't have free ports for the requested pod ports";
    case "TooManyPods":
      return "Too many pods";
    case "InsufficientResource": {
      const format = failure.resource === "cpu" ? formatCpu : formatBytes;
      return `Insufficient ${failure.resource} (requests ${format(failure.requested)}, free ${format(Math.max(failure.free, 0))})`;
    }
    case "PodAntiAffinity":
      return "node(s) didn't match pod anti-affinity rules";
    case "PodTopologySpread":
      return "node(s) didn't match pod topology spread constraints";
  }
}

/** Why a node group cannot take a pending pod. */
export type NoScaleUpReason =
  | { kind: "NotFit"; failure: PredicateFailure }
  | { kind: "MaxSizeReached"; group: string; max: number }
  | { kind: "MaxNodesTotalReached"; limit: number }
  | { kind: "MaxNodesPerScaleUpReached"; limit: number }
  | { kind: "MaxCoresTotalReached"; limit: number }
  | { kind: "MaxMemoryTotalReached"; limitBytes: number }
  | { kind: "MaxCostPerHourReached"; limit: number; unpriced: boolean }
  | { kind: "BackingOff"; group: string; until: number; cause: string }
  | { kind: "NoNodeGroups" };

export function describeNoScaleUp(reason: NoScaleUpReason): string {
  switch (reason.kind) {
    case "NotFit":
      return describePredicate(reason.failure);
    case "MaxSizeReached":
      return `node group ${reason.group} is at its maximum size (${reason.max})`;
    case "MaxNodesTotalReached":
      return `the cluster-wide limit of ${reason.limit} nodes is reached`;
    case "MaxNodesPerScaleUpReached":
      return `one scale-up adds at most ${reason.limit} nodes; the next loop adds more`;
    case "MaxCoresTotalReached":
      return `the cluster-wide limit of ${reason.limit} cores is reached`;
    case "MaxMemoryTotalReached":
      return `the cluster-wide memory limit of ${reason.limitBytes} bytes is reached`;
    case "MaxCostPerHourReached":
      return reason.unpriced
        ? `the cluster-wide limit of ${formatCost(reason.limit)}/h is set and this group's price is unknown`
        : `the cluster-wide limit of ${formatCost(reason.limit)}/h is reached`;
    case "BackingOff":
      return `node group ${reason.group} is backing off until ${new Date(reason.until).toISOString()} after a failed scale-up (${reason.cause})`;
    case "NoNodeGroups":
      return "no node groups are configured";
  }
}

/**
 * The drainability rules' verdicts (cluster-autoscaler's BlockingPodReason): why evicting a pod is not
 * acceptable, whatever room the cluster has. One rule per function, in drainability.ts.
 */
export type BlockingPod =
  | { kind: "NotSafeToEvictAnnotation"; pod: string }
  | { kind: "DoNotDisrupt"; pod: string; value: string }
  | { kind: "NotReplicated"; pod: string }
  | { kind: "UnmovableKubeSystemPod"; pod: string }
  | { kind: "LocalStorageRequested"; pod: string; volumes: string[] };

export const SAFE_TO_EVICT = "cluster-autoscaler.kubernetes.io/safe-to-evict";
export const SAFE_LOCAL_VOLUMES = "cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes";
export const SCALE_DOWN_DISABLED = "cluster-autoscaler.kubernetes.io/scale-down-disabled";
export const DO_NOT_DISRUPT = "karpenter.sh/do-not-disrupt";

export function describeBlockingPod(block: BlockingPod): string {
  switch (block.kind) {
    case "NotSafeToEvictAnnotation":
      return `pod ${block.pod} is annotated ${SAFE_TO_EVICT}=false`;
    case "DoNotDisrupt":
      return `pod ${block.pod} is annotated ${DO_NOT_DISRUPT}=${block.value}`;
    case "NotReplicated":
      return `pod ${block.pod} has no controller: nothing would recreate it (annotate ${SAFE_TO_EVICT}=true to allow)`;
    case "UnmovableKubeSystemPod":
      return `pod ${block.pod} is a kube-system pod without a PodDisruptionBudget (give it one, or annotate ${SAFE_TO_EVICT}=true)`;
    case "LocalStorageRequested":
      return `pod ${block.pod} has local storage that would be lost (volume ${block.volumes.join(", ")}; list it in ${SAFE_LOCAL_VOLUMES} to allow)`;
  }
}

/** Why scale-down as a whole does not run this loop. */
export type ScaleDownPause =
  | { kind: "ScaleUpInLoop" }
  | { kind: "TooManyUnready"; unready: number; total: number; tolerated: number }
  | {
      kind: "Cooldown";
      after: "a scale-up" | "a scale-down" | "a failed scale-down";
      agoMs: number;
      delayMs: number;
    };

export function describePause(pause: ScaleDownPause): string {
  switch (pause.kind) {
    case "ScaleUpInLoop":
      return "scale-down does not run in a loop that scales up";
    case "TooManyUnready":
      return `the cluster is not safe to scale down: ${pause.unready} of ${pause.total} nodes are unready (at most ${Math.floor(pause.tolerated)} tolerated)`;
    case "Cooldown":
      return `scale-down waits ${formatDuration(pause.delayMs - pause.agoMs)} more: ${pause.after} ${formatDuration(pause.agoMs)} ago (delay ${formatDuration(pause.delayMs)})`;
  }
}

/** Why a node may go. */
export type RemovableReason =
  | { kind: "Unready" }
  | { kind: "Empty" }
  | { kind: "Underutilized"; cpu: number; memory: number; pods: number };

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}

export function describeRemovable(reason: RemovableReason): string {
  switch (reason.kind) {
    case "Unready":
      return "the node is unready";
    case "Empty":
      return "the node is empty";
    case "Underutilized":
      return `requests are cpu ${percent(reason.cpu)}, memory ${percent(reason.memory)}, and its ${reason.pods} pod(s) fit on other nodes`;
  }
}

/** Why a node stays (cluster-autoscaler's UnremovableReason). */
export type UnremovableReason =
  | { kind: "NotAutoscaled" }
  | { kind: "UnknownNodeGroup"; group: string }
  | { kind: "ScaleDownDisabledAnnotation" }
  | { kind: "NodeDoNotDisrupt" }
  | { kind: "NotUnderutilized"; cpu: number; memory: number; threshold: number }
  | { kind: "BlockedByPod"; block: BlockingPod }
  | { kind: "NotEnoughPdb"; pod: string; pdb: string; allowed: number }
  | { kind: "NotSimulated"; limit: number }
  | { kind: "NoPlaceToMovePods"; pod: string; failure?: PredicateFailure }
  /** Unneeded, and going once what holds it passes. */
  | { kind: "NotUnneededLongEnough"; removable: RemovableReason; forMs: number; requiredMs: number }
  | { kind: "NodeGroupMinSizeReached"; removable: RemovableReason; group: string; min: number }
  | { kind: "ScaleDownPaused"; removable: RemovableReason; pause: ScaleDownPause }
  | { kind: "EmptyBulkDeleteLimit"; removable: RemovableReason; limit: number }
  | { kind: "OneDrainAtATime"; removable: RemovableReason };

export function describeUnremovable(reason: UnremovableReason): string {
  switch (reason.kind) {
    case "NotAutoscaled":
      return "not in a node group: the node has no autoscaler.vpsie.com/nodegroup label";
    case "UnknownNodeGroup":
      return `node group ${reason.group} is not one of the configured node groups`;
    case "ScaleDownDisabledAnnotation":
      return `scale-down is disabled by the node annotation ${SCALE_DOWN_DISABLED}=true`;
    case "NodeDoNotDisrupt":
      return `the node is annotated ${DO_NOT_DISRUPT}=true`;
    case "NotUnderutilized":
      return `requests are cpu ${percent(reason.cpu)}, memory ${percent(reason.memory)} of allocatable: not both below the ${percent(reason.threshold)} threshold`;
    case "BlockedByPod":
      return describeBlockingPod(reason.block);
    case "NotEnoughPdb":
      return `pod ${reason.pod} is covered by PodDisruptionBudget ${reason.pdb}, which allows ${reason.allowed} more disruption(s)`;
    case "NotSimulated":
      return `not simulated this loop: only the ${reason.limit} least-utilized non-empty candidates are`;
    case "NoPlaceToMovePods":
      return `pod ${reason.pod} cannot move to another node${reason.failure ? ` (${describePredicate(reason.failure)})` : ""}`;
    case "NotUnneededLongEnough":
      return `unneeded (${describeRemovable(reason.removable)}), but unneeded for ${formatDuration(reason.forMs)} of the ${formatDuration(reason.requiredMs)} required`;
    case "NodeGroupMinSizeReached":
      return `unneeded (${describeRemovable(reason.removable)}), but node group ${reason.group} is at its minimum size (${reason.min})`;
    case "ScaleDownPaused":
      return `unneeded (${describeRemovable(reason.removable)}), but ${describePause(reason.pause)}`;
    case "EmptyBulkDeleteLimit":
      return `unneeded (${describeRemovable(reason.removable)}), but at most ${reason.limit} empty nodes are removed at once`;
    case "OneDrainAtATime":
      return `unneeded (${describeRemovable(reason.removable)}), but one non-empty node is drained at a time`;
  }
}

/**
 * Whether a person can do something about it (a budget, an annotation, the minimum size, waiting):
 * these are told on the node as ScaleDownBlocked events; being busy, ungrouped or not simulated are not.
 */
export function isScaleDownBlocked(reason: UnremovableReason): boolean {
  return !["NotUnderutilized", "NotAutoscaled", "UnknownNodeGroup", "NotSimulated"].includes(reason.kind);
}
