/**
 * Scale-down: which nodes are unneeded (little requested, and every pod can move elsewhere), which of
 * them go now, and for every node why it stays.
 */
import { formatDuration, parseDuration } from "../units/durations.js";
import type { PlannerOptions, TimersState } from "./options.js";
import { labelSelectorMatches } from "./predicates.js";
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
  reason: string;
  /** Pods to evict before the node goes (none for an empty node). */
  pods: string[];
}

export interface NodeReport {
  node: string;
  group?: string;
  utilization: { cpu: number; memory: number };
  removable: boolean;
  reason: string;
  unneededSince?: string;
}

export interface ScaleDownResult {
  scaleDown: ScaleDown[];
  nodes: NodeReport[];
  unneededSince: Record<string, number>;
  /** Why scale-down as a whole does not run this loop, when it does not. */
  paused?: string;
}

const SAFE_TO_EVICT = "cluster-autoscaler.kubernetes.io/safe-to-evict";
const SAFE_LOCAL_VOLUMES = "cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes";
const SCALE_DOWN_DISABLED = "cluster-autoscaler.kubernetes.io/scale-down-disabled";
const DO_NOT_DISRUPT = "karpenter.sh/do-not-disrupt";

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
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

/** Why evicting this pod is not acceptable, whatever room the cluster has; undefined when it may move. */
function podBlocks(pod: Pod, pdbs: PodDisruptionBudget[], now: number): string | undefined {
  const key = podKey(pod);
  const safe = pod.annotations[SAFE_TO_EVICT];
  if (safe === "false") return `pod ${key} is annotated ${SAFE_TO_EVICT}=false`;
  const doNotDisrupt = pod.annotations[DO_NOT_DISRUPT];
  if (doNotDisrupt !== undefined) {
    const hold = doNotDisrupt === "true" ? Number.POSITIVE_INFINITY : parseDuration(doNotDisrupt);
    if (hold !== undefined && now < (pod.startedAt ?? pod.createdAt) + hold) {
      return `pod ${key} is annotated ${DO_NOT_DISRUPT}=${doNotDisrupt}`;
    }
  }
  if (safe === "true") return undefined;
  if (!pod.controller)
    return `pod ${key} has no controller: nothing would recreate it (annotate ${SAFE_TO_EVICT}=true to allow)`;
  const covered = pdbs.some(
    (b) => b.namespace === pod.namespace && labelSelectorMatches(b.selector, pod.labels),
  );
  if (pod.namespace === "kube-system" && !covered) {
    return `pod ${key} is a kube-system pod without a PodDisruptionBudget (give it one, or annotate ${SAFE_TO_EVICT}=true)`;
  }
  const allowed = new Set((pod.annotations[SAFE_LOCAL_VOLUMES] ?? "").split(",").map((v) => v.trim()));
  const local = pod.localVolumes.filter((v) => !allowed.has(v));
  if (local.length > 0) {
    return `pod ${key} has local storage that would be lost (volume ${local.join(", ")}; list it in ${SAFE_LOCAL_VOLUMES} to allow)`;
  }
  return undefined;
}

/** Evictions each budget still allows in this plan, decremented as nodes are chosen. */
function pdbBlocks(
  pods: Pod[],
  pdbs: PodDisruptionBudget[],
  budget: Map<PodDisruptionBudget, number>,
): string | undefined {
  for (const pdb of pdbs) {
    const covered = pods.filter(
      (p) => p.namespace === pdb.namespace && labelSelectorMatches(pdb.selector, p.labels),
    );
    if (covered.length === 0) continue;
    const left = budget.get(pdb) ?? pdb.disruptionsAllowed;
    if (covered.length > left) {
      return `pod ${podKey(covered[0] as Pod)} is covered by PodDisruptionBudget ${pdb.namespace}/${pdb.name}, which allows ${left} more disruption(s)`;
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

function cooldown(timers: TimersState, now: number, options: PlannerOptions): string | undefined {
  const waits: Array<[number | undefined, number, string]> = [
    [timers.lastScaleUp, options.scaleDownDelayAfterAddMs, "a scale-up"],
    [timers.lastScaleDown, options.scaleDownDelayAfterDeleteMs, "a scale-down"],
    [timers.lastScaleDownFailure, options.scaleDownDelayAfterFailureMs, "a failed scale-down"],
  ];
  for (const [at, delay, what] of waits) {
    if (at !== undefined && now - at < delay) {
      return `scale-down waits ${formatDuration(delay - (now - at))} more: ${what} ${formatDuration(now - at)} ago (delay ${formatDuration(delay)})`;
    }
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
  const report = (sim: SimNode, removable: boolean, reason: string) => {
    const node = sim.node;
    const util = before.get(node.name) ?? utilization(node, sim.requested);
    reports.set(node.name, {
      node: node.name,
      group: node.labels[NODE_GROUP_LABEL],
      utilization: { cpu: Math.round(util.cpu * 1000) / 1000, memory: Math.round(util.memory * 1000) / 1000 },
      removable,
      reason,
    });
  };

  const unready = snapshot.nodes.filter((n) => !n.ready).length;
  const tolerated = Math.max(
    options.okTotalUnreadyCount,
    (snapshot.nodes.length * options.maxTotalUnreadyPercentage) / 100,
  );
  const paused = scaleUpPlanned
    ? "scale-down does not run in a loop that scales up"
    : unready > tolerated
      ? `the cluster is not safe to scale down: ${unready} of ${snapshot.nodes.length} nodes are unready (at most ${Math.floor(tolerated)} tolerated)`
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
      report(simNode, false, `not in a node group: the node has no ${NODE_GROUP_LABEL} label`);
      continue;
    }
    if (!byName.has(groupName)) {
      report(simNode, false, `node group ${groupName} is not one of the configured node groups`);
      continue;
    }
    if (node.annotations[SCALE_DOWN_DISABLED] === "true") {
      report(simNode, false, `scale-down is disabled by the node annotation ${SCALE_DOWN_DISABLED}=true`);
      continue;
    }
    if (node.annotations[DO_NOT_DISRUPT] === "true") {
      report(simNode, false, `the node is annotated ${DO_NOT_DISRUPT}=true`);
      continue;
    }
    const threshold = options.scaleDownUtilizationThreshold;
    if (node.ready && (util.cpu >= threshold || util.memory >= threshold)) {
      report(
        simNode,
        false,
        `requests are cpu ${percent(util.cpu)}, memory ${percent(util.memory)} of allocatable: not both below the ${percent(threshold)} threshold`,
      );
      continue;
    }
    const movable = simNode.pods.filter((p) => !staysBehind(p, options));
    const blocked = movable.map((p) => podBlocks(p, snapshot.pdbs, now)).find(Boolean);
    if (blocked) {
      report(simNode, false, blocked);
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
      report(
        simNode,
        false,
        `not simulated this loop: only the ${options.maxNonEmptyCandidates} least-utilized non-empty candidates are`,
      );
      continue;
    }
    const pdbReason = pdbBlocks(movable, snapshot.pdbs, budget);
    if (pdbReason) {
      report(simNode, false, pdbReason);
      continue;
    }
    const excluded = new Set([...leaving, simNode.node.name]);
    const moves: Array<[Pod, SimNode]> = [];
    let stuck: string | undefined;
    for (const pod of movable) {
      let why: string | undefined;
      const target = sim.nodes.find((dest) => {
        if (excluded.has(dest.node.name) || !dest.node.ready) return false;
        why = sim.whyNot(pod, dest, excluded);
        return why === undefined;
      });
      if (!target) {
        stuck = `pod ${podKey(pod)} cannot move to another node${why ? ` (${why})` : ""}`;
        break;
      }
      sim.place(pod, target);
      moves.push([pod, target]);
    }
    if (stuck) {
      for (const [pod, target] of moves) sim.remove(pod, target);
      report(simNode, false, stuck);
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
    const why = !node.ready
      ? "the node is unready"
      : movable.length === 0
        ? "the node is empty"
        : `requests are cpu ${percent(util.cpu)}, memory ${percent(util.memory)}, and its ${movable.length} pod(s) fit on other nodes`;
    const size = sizes.get(group.name) ?? 0;
    let blocked: string | undefined;
    if (respectTimers && now - since < needed)
      blocked = `unneeded for ${formatDuration(now - since)} of the ${formatDuration(needed)} required`;
    else if (size - 1 < group.minNodes)
      blocked = `node group ${group.name} is at its minimum size (${group.minNodes})`;
    else if (paused) blocked = paused;
    else if (movable.length === 0 && empties >= options.maxEmptyBulkDelete) {
      blocked = `at most ${options.maxEmptyBulkDelete} empty nodes are removed at once`;
    } else if (movable.length > 0 && drains >= 1) blocked = "one non-empty node is drained at a time";
    if (blocked) {
      report(simNode, false, `unneeded (${why}), but ${blocked}`);
    } else {
      if (movable.length === 0) empties++;
      else drains++;
      sizes.set(group.name, size - 1);
      scaleDown.push({ group: group.name, node: node.name, reason: why, pods: movable.map(podKey) });
      report(simNode, true, why);
    }
    const entry = reports.get(node.name);
    if (entry) entry.unneededSince = new Date(since).toISOString();
  }

  const nodes = snapshot.nodes
    .map((n) => reports.get(n.name))
    .filter((r): r is NodeReport => r !== undefined);
  return { scaleDown, nodes, unneededSince, paused };
}
