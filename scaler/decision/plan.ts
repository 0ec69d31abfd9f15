/**
 * The decision core: snapshot, node groups, timers and the time in; a plan with a reason for every
 * pending pod and every node out. Pure: no I/O, no clock, no randomness but the one passed in.
 */
import {
  defaultPlannerOptions,
  toleratedUnready,
  type PlannerOptions,
  type TimersState,
  withScaleUpFailure,
} from "./options.js";
import { describePause, type ScaleDownPause } from "./reasons.js";
import { planScaleDown, type NodeReport, type ScaleDown } from "./scaleDown.js";
import { planScaleUp, type NoScaleUp, type PendingOutcome, type ScaleUp } from "./scaleUp.js";
import { type NodeGroup, podKey, type Snapshot } from "./types.js";

export interface PlanInput {
  snapshot: Snapshot;
  groups: NodeGroup[];
  timers: TimersState;
  /** Epoch milliseconds. */
  now: number;
  options?: Partial<PlannerOptions>;
  /** Whether the unneeded-time timer and the cooldowns apply; when false they count as elapsed. */
  respectTimers?: boolean;
  random?: () => number;
}

export interface FailedProvisioning {
  group: string;
  key: string;
  reason: string;
}

export interface Plan {
  scaleUp: ScaleUp[];
  scaleDown: ScaleDown[];
  noScaleUp: NoScaleUp[];
  nodes: NodeReport[];
  pending: PendingOutcome[];
  /** Requested nodes that did not register in time: to be removed; their groups back off. */
  failedProvisioning: FailedProvisioning[];
  /** Why scale-down does not run this loop, if it does not (text derived from `scaleDownPause`). */
  scaleDownPaused?: string;
  scaleDownPause?: ScaleDownPause;
  /** Why nothing is done at all this loop, if so. */
  halted?: string;
  /** The timers to keep for the next loop. */
  timers: TimersState;
}

/**
 * The snapshot with each pending pod that fits an existing node placed on it, as cluster-autoscaler's
 * filterOutSchedulable places them before scale-down looks: a node the scheduler is about to fill is
 * not empty (a new node seen empty for the unneeded time while its pods waited for the scheduler was
 * removed, and the same scale-up planned again).
 */
function withPlacedPending(snapshot: Snapshot, pending: PendingOutcome[]): Snapshot {
  const placed = new Map(pending.flatMap((p) => (p.outcome === "fits-existing" ? [[p.pod, p.node]] : [])));
  if (placed.size === 0) return snapshot;
  return {
    ...snapshot,
    pods: snapshot.pods.map((pod) => {
      const node = placed.get(podKey(pod));
      return node ? { ...pod, nodeName: node } : pod;
    }),
  };
}

export function plan(input: PlanInput): Plan {
  const options: PlannerOptions = { ...defaultPlannerOptions, ...input.options };
  const respectTimers = input.respectTimers ?? true;
  const random = input.random ?? (() => 0);
  const { snapshot, now } = input;
  let timers = input.timers;

  const failedProvisioning: FailedProvisioning[] = [];
  const groups = input.groups.map((group) => {
    const late = group.upcoming.filter((u) => now - u.requestedAt > options.maxNodeProvisionTimeMs);
    for (const node of late) {
      const reason = `node ${node.key} did not register within ${options.maxNodeProvisionTimeMs / 60_000}m`;
      failedProvisioning.push({ group: group.name, key: node.key, reason });
      timers = withScaleUpFailure(timers, group.name, reason, now, options);
    }
    return late.length > 0 ? { ...group, upcoming: group.upcoming.filter((u) => !late.includes(u)) } : group;
  });

  const unready = snapshot.nodes.filter((n) => !n.ready).length;
  const tolerated = toleratedUnready(snapshot.nodes.length, options);
  const halted =
    unready > tolerated
      ? `${unready} of ${snapshot.nodes.length} nodes are unready (more than ${Math.floor(tolerated)}): scaling halts until the cluster is healthy`
      : undefined;

  const up = halted
    ? { scaleUp: [], noScaleUp: [], pending: [] }
    : planScaleUp(snapshot, groups, timers, now, options, random);
  const down = planScaleDown(
    withPlacedPending(snapshot, up.pending),
    groups,
    timers,
    now,
    options,
    respectTimers,
    up.scaleUp.length > 0,
  );
  return {
    scaleUp: up.scaleUp,
    scaleDown: halted ? [] : down.scaleDown,
    noScaleUp: up.noScaleUp,
    nodes: down.nodes,
    pending: up.pending,
    failedProvisioning,
    scaleDownPaused: down.paused && describePause(down.paused),
    scaleDownPause: down.paused,
    halted,
    timers: { ...timers, unneededSince: down.unneededSince },
  };
}
