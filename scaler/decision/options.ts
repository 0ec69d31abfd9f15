/** The planner's settings, with cluster-autoscaler's defaults (../shared/reference/autoscaler-anchors.md §1.2). */

export const EXPANDERS = ["least-waste", "priority", "price", "most-pods", "random"] as const;
export type ExpanderName = (typeof EXPANDERS)[number];

const MINUTE = 60_000;

export interface PlannerOptions {
  /** Applied in order, each keeping the best of what the previous kept; ties end in a random pick. */
  expanders: ExpanderName[];
  /**
   * Pending pods younger than this do not trigger a scale-up yet (CA: new-pod-scale-up-delay, 0 s). The
   * loop batches unschedulable pods as Karpenter does (1 s without a new one), which gives the scheduler
   * a moment to use capacity that just freed up.
   */
  newPodScaleUpDelayMs: number;
  /** Pods below this priority neither trigger scale-up nor block scale-down. */
  expendablePriorityCutoff: number;
  scaleDownUtilizationThreshold: number;
  scaleDownUnneededTimeMs: number;
  scaleDownUnreadyTimeMs: number;
  scaleDownDelayAfterAddMs: number;
  scaleDownDelayAfterDeleteMs: number;
  scaleDownDelayAfterFailureMs: number;
  /** Empty nodes removed at once. */
  maxEmptyBulkDelete: number;
  /** Non-empty candidates simulated per loop, least utilized first. */
  maxNonEmptyCandidates: number;
  /** Scaling halts while more nodes than max(this % of all, okTotalUnreadyCount) are unready. */
  maxTotalUnreadyPercentage: number;
  okTotalUnreadyCount: number;
  /**
   * Nodes one scale-up adds (CA: max-nodes-per-scaleup, 1000). Lower here because one update holds every
   * create it runs in memory: 100 keeps the pod within its limit, and the next loop adds the rest.
   */
  maxNodesPerScaleUp: number;
  /** A requested node must register within this time, or its group backs off. */
  maxNodeProvisionTimeMs: number;
  /** A registered node that is not Ready yet counts as capacity on its way for this long (CA: max-node-startup-time). */
  maxNodeStartupTimeMs: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  backoffResetMs: number;
  limits: { maxNodesTotal?: number; maxCores?: number; maxMemoryBytes?: number; maxCostPerHour?: number };
}

export const defaultPlannerOptions: PlannerOptions = {
  expanders: ["least-waste"],
  newPodScaleUpDelayMs: 0,
  expendablePriorityCutoff: -10,
  scaleDownUtilizationThreshold: 0.5,
  scaleDownUnneededTimeMs: 10 * MINUTE,
  scaleDownUnreadyTimeMs: 20 * MINUTE,
  scaleDownDelayAfterAddMs: 10 * MINUTE,
  scaleDownDelayAfterDeleteMs: 0,
  scaleDownDelayAfterFailureMs: 3 * MINUTE,
  maxEmptyBulkDelete: 10,
  maxNonEmptyCandidates: 30,
  maxTotalUnreadyPercentage: 45,
  okTotalUnreadyCount: 3,
  maxNodesPerScaleUp: 100,
  maxNodeProvisionTimeMs: 15 * MINUTE,
  maxNodeStartupTimeMs: 15 * MINUTE,
  initialBackoffMs: 5 * MINUTE,
  maxBackoffMs: 30 * MINUTE,
  backoffResetMs: 3 * 60 * MINUTE,
  limits: {},
};

/** What the planner remembers between loops (the controller persists it; `plan` reads it from a file). */
export interface TimersState {
  /** Since when (epoch ms) each node has been unneeded. */
  unneededSince: Record<string, number>;
  lastScaleUp?: number;
  lastScaleDown?: number;
  lastScaleDownFailure?: number;
  /** Node groups backing off after failed scale-ups. */
  backoff: Record<string, { until: number; failures: number; lastFailure: number; reason: string }>;
}

export const emptyTimers = (): TimersState => ({ unneededSince: {}, backoff: {} });

/** Backs a node group off after a failed scale-up: 5 min, doubling to 30 min, reset after 3 h without failures. */
export function withScaleUpFailure(
  timers: TimersState,
  group: string,
  reason: string,
  now: number,
  options: PlannerOptions = defaultPlannerOptions,
): TimersState {
  const previous = timers.backoff[group];
  const failures =
    previous && now - previous.lastFailure < options.backoffResetMs ? previous.failures + 1 : 1;
  const duration = Math.min(options.initialBackoffMs * 2 ** (failures - 1), options.maxBackoffMs);
  return {
    ...timers,
    backoff: { ...timers.backoff, [group]: { until: now + duration, failures, lastFailure: now, reason } },
  };
}

/** How many unready nodes of `nodes` are tolerated before scaling halts (CA: max-total-unready-percentage). */
export function toleratedUnready(
  nodes: number,
  options: Pick<PlannerOptions, "okTotalUnreadyCount" | "maxTotalUnreadyPercentage">,
): number {
  return Math.max(options.okTotalUnreadyCount, (nodes * options.maxTotalUnreadyPercentage) / 100);
}
