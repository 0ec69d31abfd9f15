/**
 * Scale-down: which nodes are unneeded (little requested, and every pod can move elsewhere), which of
 * them go now, and for every node why it stays.
 */
import { costChange, type CostChange } from "./cost.js";
import { blockingPod } from "./drainability.js";
import type { PlannerOptions, TimersState } from "./options.js";
import { labelSelectorMatches } from "./predicates.js";
import {
  describeRemovable,
  describeUnremovable,
  DO_NOT_DISRUPT,
  type PredicateFailure,
  type RemovableReason,
  SCALE_DOWN_DISABLED,
  type ScaleDownPause,
  type UnremovableReason,
} from "./reasons.js";
import { Simulation, type SimNode } from "./simulation.js";
import {
  NODE_GROUP_LABEL,
  type Node,
  type NodeGroup,
  type Pod,
  type PodDisruptionBudget,
  podKey,
  type Snapshot,
} from "./types.js";

export interface ScaleDown {
  group: string;
  node: string;
  /** Why it goes, for people (derived from `because`). */
  reason: string;
  because: RemovableReason;
  /** Pods to evict before the node goes (none for an empty node). */
  pods: string[];
  /** What it saves, when the group's price is known. */
  cost?: CostChange;
}

export interface NodeReport {
  node: string;
  group?: string;
  utilization: { cpu: number; memory: number };
  removable: boolean;
  /** Why it goes or stays, for people (derived from `because`). */
  reason: string;
  because: RemovableReason | UnremovableReason;
  unneededSince?: string;
}

export interface ScaleDownResult {
  scaleDown: ScaleDown[];
  nodes: NodeReport[];
  unneededSince: Record<string, number>;
  /** Why scale-down as a whole does not run this loop, when it does not. */
  paused?: ScaleDownPause;
}

/** Pods that run on every node, or that nothing would miss: they neither move nor block. */
function staysBehind(pod: Pod, options: PlannerOptions): boolean {
  return (
    pod.isDaemonSet ||
    pod.isMirror ||
    pod.finished ||
    pod.terminating ||
    pod.priority < options.expendablePriorityCutoff
  );
}

/** Evictions each budget still allows in this plan, decremented as nodes are chosen. */
function pdbBlocks(
  pods: Pod[],
  pdbs: PodDisruptionBudget[],
  budget: Map<PodDisruptionBudget, number>,
): UnremovableReason | undefined {
  for (const pdb of pdbs) {
    const covered = pods.filter(
      (p) => p.namespace === pdb.namespace && labelSelectorMatches(pdb.selector, p.labels),
    );
    if (covered.length === 0) continue;
    const left = budget.get(pdb) ?? pdb.disruptionsAllowed;
    if (covered.length > left) {
      return {
        kind: "NotEnoughPdb",
        pod: podKey(covered[0] as Pod),
        pdb: `${pdb.namespace}/${pdb.name}`,
        allowed: left,
      };
    }
  }
  return undefined;
}

function utilization(node: Node, requested: { cpu: number; memory: number }) {
  return {
    cpu: node.allocatable.cpu > 0 ? requested.cpu / node.allocatable.cpu : 1,
    memory: node.allocatable.memory > 0 ? requested.memory / node.allocatable.memory : 1,
  };
}

function cooldown(timers: TimersState, now: number, options: PlannerOptions): ScaleDownPause | undefined {
  const waits: Array<[number | undefined, number, "a scale-up" | "a scale-down" | "a failed scale-down"]> = [
    [timers.lastScaleUp, options.scaleDownDelayAfterAddMs, "a scale-up"],
    [timers.lastScaleDown, options.scaleDownDelayAfterDeleteMs, "a scale-down"],
    [timers.lastScaleDownFailure, options.scaleDownDelayAfterFailureMs, "a failed scale-down"],
  ];
  for (const [at, delayMs, after] of waits) {
    if (at !== undefined && now - at < delayMs) return { kind: "Cooldown", after, agoMs: now - at, delayMs };
  }
  return undefined;
}

export function planScaleDown(
  snapshot: Snapshot,
  groups: NodeGroup[],
  timers: TimersState,
  now: number,
  options: PlannerOptions,
  respectTimers: boolean,
  scaleUpPlanned: boolean,
): ScaleDownResult {
  const sim = new Simulation(
    snapshot.nodes,
    snapshot.pods.filter((p) => p.nodeName),
  );
  const byName = new Map(groups.map((g) => [g.name, g]));
  const sizes = new Map(groups.map((g) => [g.name, g.upcoming.length]));
  for (const node of snapshot.nodes) {
    const group = node.labels[NODE_GROUP_LABEL];
    if (group && sizes.has(group)) sizes.set(group, (sizes.get(group) ?? 0) + 1);
  }
  // Utilization as the cluster is now, before the simulation moves any pod.
  const before = new Map(sim.nodes.map((n) => [n.node.name, utilization(n.node, n.requested)]));
  const reports = new Map<string, NodeReport>();
  const report = (sim: SimNode, because: RemovableReason | UnremovableReason, removable = false) => {
    const node = sim.node;
    const util = before.get(node.name) ?? utilization(node, sim.requested);
    reports.set(node.name, {
      node: node.name,
      group: node.labels[NODE_GROUP_LABEL],
      utilization: { cpu: Math.round(util.cpu * 1000) / 1000, memory: Math.round(util.memory * 1000) / 1000 },
      removable,
      reason: removable
        ? describeRemovable(because as RemovableReason)
        : describeUnremovable(because as UnremovableReason),
      because,
    });
  };

  const unready = snapshot.nodes.filter((n) => !n.ready).length;
  const tolerated = Math.max(
    options.okTotalUnreadyCount,
    (snapshot.nodes.length * options.maxTotalUnreadyPercentage) / 100,
  );
  const paused: ScaleDownPause | undefined = scaleUpPlanned
    ? { kind: "ScaleUpInLoop" }
    : unready > tolerated
      ? { kind: "TooManyUnready", unready, total: snapshot.nodes.length, tolerated }
      : respectTimers
        ? cooldown(timers, now, options)
        : undefined;

  // Candidates: managed nodes whose requests are low enough (unready ones whatever their requests).
  const candidates: Array<{ sim: SimNode; movable: Pod[]; share: number }> = [];
  for (const simNode of sim.nodes) {
    const node = simNode.node;
    const groupName = node.labels[NODE_GROUP_LABEL];
    const util = utilization(node, simNode.requested);
    if (!groupName) {
      report(simNode, { kind: "NotAutoscaled" });
      continue;
    }
    if (!byName.has(groupName)) {
      report(simNode, { kind: "UnknownNodeGroup", group: groupName });
      continue;
    }
    if (node.annotations[SCALE_DOWN_DISABLED] === "true") {
      report(simNode, { kind: "ScaleDownDisabledAnnotation" });
      continue;
    }
    if (node.annotations[DO_NOT_DISRUPT] === "true") {
      report(simNode, { kind: "NodeDoNotDisrupt" });
      continue;
    }
    const threshold = options.scaleDownUtilizationThreshold;
    if (node.ready && (util.cpu >= threshold || util.memory >= threshold)) {
      report(simNode, { kind: "NotUnderutilized", cpu: util.cpu, memory: util.memory, threshold });
      continue;
    }
    const movable = simNode.pods.filter((p) => !staysBehind(p, options));
    const context = { pdbs: snapshot.pdbs, now };
    const block = movable.map((p) => blockingPod(p, context)).find(Boolean);
    if (block) {
      report(simNode, { kind: "BlockedByPod", block });
      continue;
    }
    candidates.push({ sim: simNode, movable, share: Math.max(util.cpu, util.memory) });
  }

  // Empty nodes first, then the least utilized: their pods are the easiest to place.
  candidates.sort((a, b) => a.movable.length - b.movable.length || a.share - b.share);
  const budget = new Map<PodDisruptionBudget, number>();
  const leaving = new Set<string>();
  const unneeded: Array<{ sim: SimNode; movable: Pod[] }> = [];
  let nonEmptyExamined = 0;
  for (const candidate of candidates) {
    const { sim: simNode, movable } = candidate;
    if (movable.length > 0 && ++nonEmptyExamined > options.maxNonEmptyCandidates) {
      report(simNode, { kind: "NotSimulated", limit: options.maxNonEmptyCandidates });
      continue;
    }
    const pdbReason = pdbBlocks(movable, snapshot.pdbs, budget);
    if (pdbReason) {
      report(simNode, pdbReason);
      continue;
    }
    const excluded = new Set([...leaving, simNode.node.name]);
    const moves: Array<[Pod, SimNode]> = [];
    let stuck: UnremovableReason | undefined;
    for (const pod of movable) {
      let failure: PredicateFailure | undefined;
      const target = sim.nodes.find((dest) => {
        if (excluded.has(dest.node.name) || !dest.node.ready) return false;
        failure = sim.whyNot(pod, dest, excluded);
        return failure === undefined;
      });
      if (!target) {
        stuck = { kind: "NoPlaceToMovePods", pod: podKey(pod), failure };
        break;
      }
      sim.place(pod, target);
      moves.push([pod, target]);
    }
    if (stuck) {
      for (const [pod, target] of moves) sim.remove(pod, target);
      report(simNode, stuck);
      continue;
    }
    // The pods stay planned on their new nodes, so the next candidate cannot count on that room.
    for (const pod of movable) sim.remove(pod, simNode);
    for (const pdb of snapshot.pdbs) {
      const covered = movable.filter(
        (p) => p.namespace === pdb.namespace && labelSelectorMatches(pdb.selector, p.labels),
      ).length;
      if (covered > 0) budget.set(pdb, (budget.get(pdb) ?? pdb.disruptionsAllowed) - covered);
    }
    leaving.add(simNode.node.name);
    unneeded.push({ sim: simNode, movable });
  }

  const unneededSince: Record<string, number> = {};
  const scaleDown: ScaleDown[] = [];
  let drains = 0;
  let empties = 0;
  for (const { sim: simNode, movable } of unneeded) {
    const node = simNode.node;
    const group = byName.get(node.labels[NODE_GROUP_LABEL] ?? "") as NodeGroup;
    const since = timers.unneededSince[node.name] ?? now;
    unneededSince[node.name] = since;
    const needed = node.ready ? options.scaleDownUnneededTimeMs : options.scaleDownUnreadyTimeMs;
    const util = before.get(node.name) ?? utilization(node, simNode.requested);
    const removable: RemovableReason = !node.ready
      ? { kind: "Unready" }
      : movable.length === 0
        ? { kind: "Empty" }
        : { kind: "Underutilized", cpu: util.cpu, memory: util.memory, pods: movable.length };
    const size = sizes.get(group.name) ?? 0;
    let blocked: UnremovableReason | undefined;
    if (respectTimers && now - since < needed)
      blocked = { kind: "NotUnneededLongEnough", removable, forMs: now - since, requiredMs: needed };
    else if (size - 1 < group.minNodes)
      blocked = { kind: "NodeGroupMinSizeReached", removable, group: group.name, min: group.minNodes };
    else if (paused) blocked = { kind: "ScaleDownPaused", removable, pause: paused };
    else if (movable.length === 0 && empties >= options.maxEmptyBulkDelete) {
      blocked = { kind: "EmptyBulkDeleteLimit", removable, limit: options.maxEmptyBulkDelete };
    } else if (movable.length > 0 && drains >= 1) blocked = { kind: "OneDrainAtATime", removable };
    if (blocked) {
      report(simNode, blocked);
    } else {
      if (movable.length === 0) empties++;
      else drains++;
      sizes.set(group.name, size - 1);
      scaleDown.push({
        group: group.name,
        node: node.name,
        reason: describeRemovable(removable),
        because: removable,
        pods: movable.map(podKey),
        ...(group.pricePerHour !== undefined && { cost: costChange(group.pricePerHour, size, size - 1) }),
      });
      report(simNode, removable, true);
    }
    const entry = reports.get(node.name);
    if (entry) entry.unneededSince = new Date(since).toISOString();
  }

  const nodes = snapshot.nodes
    .map((n) => reports.get(n.name))
    .filter((r): r is NodeReport => r !== undefined);
  return { scaleDown, nodes, unneededSince, paused };
}
