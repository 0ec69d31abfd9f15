/**
 * Scale-up: which pending pods need new nodes, which node group gets them (bin-packing onto imagined
 * nodes of each group, then the expanders), and for every pod no group can host, why not, per group.
 */
import { describeChoice, expand, type ScaleUpOption } from "./expanders.js";
import { costChange, type CostChange, groupCostPerHour } from "./cost.js";
import { parseDuration } from "../units/durations.js";
import type { PlannerOptions, TimersState } from "./options.js";
import { describeNoScaleUp, type NoScaleUpReason } from "./reasons.js";
import { addResources, NO_RESOURCES, nodeAffinityFits, untoleratedTaint } from "./predicates.js";
import { Simulation, type SimNode } from "./simulation.js";
import {
  HOSTNAME_LABEL,
  NODE_GROUP_LABEL,
  type Node,
  type NodeGroup,
  type Pod,
  podKey,
  type Snapshot,
} from "./types.js";

export interface ScaleUp {
  group: string;
  from: number;
  to: number;
  pods: string[];
  reason: string;
  /** What it costs, when the group's price is known: $/h the new nodes add, and the group's $/h after it. */
  cost?: CostChange;
  /** Every group that could have hosted these pods, as the expanders saw them, with what each would cost. */
  options: ScaleUpAlternative[];
}

export interface ScaleUpAlternative {
  group: string;
  newNodes: number;
  pods: number;
  /** $/h the option adds; undefined when the group's price is unknown. */
  costPerHour?: number;
}

export interface NoScaleUp {
  pod: string;
  /** Per node group, why it cannot host the pod, for people (derived from `because`). */
  reasons: Record<string, string>;
  because: Record<string, NoScaleUpReason>;
}

export type PendingOutcome =
  | { pod: string; outcome: "fits-existing"; node: string }
  | { pod: string; outcome: "fits-upcoming"; group: string }
  | { pod: string; outcome: "scale-up"; group: string }
  | { pod: string; outcome: "no-scale-up" }
  | { pod: string; outcome: "too-young"; waitMs: number }
  | { pod: string; outcome: "expendable" };

export interface ScaleUpResult {
  scaleUp: ScaleUp[];
  noScaleUp: NoScaleUp[];
  pending: PendingOutcome[];
}

const SCALE_UP_DELAY_ANNOTATION = "cluster-autoscaler.kubernetes.io/pod-scale-up-delay";

/** An imagined new node of the group: its capacity, labels (with the group label) and taints. */
export function templateNode(group: NodeGroup, name: string): Node {
  return {
    name,
    labels: { ...group.labels, [NODE_GROUP_LABEL]: group.name, [HOSTNAME_LABEL]: name },
    annotations: {},
    taints: group.taints,
    unschedulable: false,
    ready: true,
    allocatable: group.capacity,
    createdAt: 0,
  };
}

/** One pod of each DaemonSet: what every new node will also run, if the DaemonSet's pods fit there. */
function daemonSetPods(pods: Pod[]): Pod[] {
  const seen = new Map<string, Pod>();
  for (const pod of pods) {
    if (!pod.isDaemonSet || !pod.controller) continue;
    const key = `${pod.namespace}/${pod.controller.name}`;
    if (!seen.has(key)) seen.set(key, pod);
  }
  return [...seen.values()];
}

function addTemplate(sim: Simulation, group: NodeGroup, name: string, daemons: Pod[]): SimNode {
  const node = sim.addNode(templateNode(group, name), true);
  for (const daemon of daemons) {
    if (nodeAffinityFits(daemon, node.node) && !untoleratedTaint(daemon, node.node.taints)) {
      sim.place({ ...daemon, name: `${daemon.name}@${name}`, nodeName: name }, node);
    }
  }
  return node;
}

interface ClusterTotals {
  nodes: number;
  cores: number;
  memory: number;
  /** $/h of the priced groups' nodes (and nodes on their way). */
  costPerHour: number;
}

function groupSize(group: NodeGroup, snapshot: Snapshot): number {
  return (
    snapshot.nodes.filter((n) => n.labels[NODE_GROUP_LABEL] === group.name).length + group.upcoming.length
  );
}

/** How many nodes the group may still add, and what stops it from adding more. */
function headroom(
  group: NodeGroup,
  size: { now: number; added: number },
  totals: ClusterTotals,
  options: PlannerOptions,
): { nodes: number; limit: NoScaleUpReason } {
  const perScaleUp = options.maxNodesPerScaleUp;
  const caps: Array<[number, NoScaleUpReason]> = [
    [group.maxNodes - size.now, { kind: "MaxSizeReached", group: group.name, max: group.maxNodes }],
    [perScaleUp - size.added, { kind: "MaxNodesPerScaleUpReached", limit: perScaleUp }],
  ];
  const { maxNodesTotal, maxCores, maxMemoryBytes, maxCostPerHour } = options.limits;
  if (maxNodesTotal !== undefined)
    caps.push([maxNodesTotal - totals.nodes, { kind: "MaxNodesTotalReached", limit: maxNodesTotal }]);
  if (maxCores !== undefined) {
    caps.push([
      Math.floor((maxCores * 1000 - totals.cores) / group.capacity.cpu),
      { kind: "MaxCoresTotalReached", limit: maxCores },
    ]);
  }
  if (maxMemoryBytes !== undefined) {
    caps.push([
      Math.floor((maxMemoryBytes - totals.memory) / group.capacity.memory),
      { kind: "MaxMemoryTotalReached", limitBytes: maxMemoryBytes },
    ]);
  }
  if (maxCostPerHour !== undefined) {
    // A group with no known price cannot be held to a limit in money: it adds nothing, and says so.
    caps.push([
      group.pricePerHour === undefined
        ? 0
        : group.pricePerHour === 0
          ? Infinity
          : Math.floor((maxCostPerHour - totals.costPerHour + 1e-9) / group.pricePerHour),
      { kind: "MaxCostPerHourReached", limit: maxCostPerHour, unpriced: group.pricePerHour === undefined },
    ]);
  }
  const [nodes, limit] = caps.reduce((a, b) => (b[0] < a[0] ? b : a));
  return { nodes: Math.max(0, nodes), limit };
}

/** The largest share of the group's node the pod takes: first-fit decreasing packs big pods first. */
function dominantShare(pod: Pod, group: NodeGroup): number {
  return Math.max(pod.requests.cpu / group.capacity.cpu, pod.requests.memory / group.capacity.memory);
}

interface Packing {
  option?: ScaleUpOption;
  /** Why each pod the group cannot host is left out. */
  refused: Map<Pod, NoScaleUpReason>;
}

function pack(
  sim: Simulation,
  group: NodeGroup,
  pods: Pod[],
  room: { nodes: number; limit: NoScaleUpReason },
  daemons: Pod[],
): Packing {
  const refused = new Map<Pod, NoScaleUpReason>();
  const created: SimNode[] = [];
  const placed: Pod[] = [];
  const probe = addTemplate(sim, group, `${group.name}-template`, daemons);
  const sorted = [...pods].sort((a, b) => dominantShare(b, group) - dominantShare(a, group));
  try {
    for (const pod of sorted) {
      const onEmpty = sim.whyNot(pod, probe);
      if (onEmpty) {
        refused.set(pod, { kind: "NotFit", failure: onEmpty });
        continue;
      }
      let target = created.find((node) => sim.whyNot(pod, node) === undefined);
      if (!target) {
        if (created.length >= room.nodes) {
          refused.set(pod, room.limit);
          continue;
        }
        target = addTemplate(sim, group, `${group.name}-new-${created.length + 1}`, daemons);
        created.push(target);
        const failure = sim.whyNot(pod, target);
        if (failure) {
          refused.set(pod, { kind: "NotFit", failure });
          continue;
        }
      }
      sim.place(pod, target);
      placed.push(pod);
    }
  } finally {
    for (const node of [probe, ...created]) sim.removeNode(node.node.name);
  }
  if (placed.length === 0) return { refused };
  const used = created.reduce((sum, node) => addResources(sum, node.requested), NO_RESOURCES);
  return { option: { group, newNodes: created.length, pods: placed.map(podKey), used }, refused };
}

export function planScaleUp(
  snapshot: Snapshot,
  groups: NodeGroup[],
  timers: TimersState,
  now: number,
  options: PlannerOptions,
  random: () => number,
): ScaleUpResult {
  const pending: PendingOutcome[] = [];
  const candidates: Pod[] = [];
  for (const pod of snapshot.pods) {
    if (pod.unschedulableSince === undefined || pod.nodeName || pod.finished || pod.terminating) continue;
    const key = podKey(pod);
    if (pod.priority < options.expendablePriorityCutoff) {
      pending.push({ pod: key, outcome: "expendable" });
      continue;
    }
    const delay = parseDuration(pod.annotations[SCALE_UP_DELAY_ANNOTATION]) ?? options.newPodScaleUpDelayMs;
    const age = now - pod.createdAt;
    if (age < delay) {
      pending.push({ pod: key, outcome: "too-young", waitMs: delay - age });
      continue;
    }
    candidates.push(pod);
  }

  // Capacity already there, or already on its way, is used before anything is added.
  const sim = new Simulation(
    // A node that registered but is not Ready yet is capacity on its way, as a requested one is.
    snapshot.nodes.filter((n) => n.ready || now - n.createdAt < options.maxNodeStartupTimeMs),
    snapshot.pods.filter((p) => p.nodeName),
  );
  const daemons = daemonSetPods(snapshot.pods);
  for (const group of groups) {
    group.upcoming.forEach((u) => addTemplate(sim, group, `upcoming:${group.name}:${u.key}`, daemons));
  }
  let remaining: Pod[] = [];
  for (const pod of [...candidates].sort(
    (a, b) => b.requests.cpu - a.requests.cpu || b.requests.memory - a.requests.memory,
  )) {
    const node = sim.nodes.find((n) => sim.whyNot(pod, n) === undefined);
    if (!node) {
      remaining.push(pod);
      continue;
    }
    sim.place(pod, node);
    const upcoming = /^upcoming:([^:]+):/.exec(node.node.name)?.[1];
    pending.push(
      upcoming
        ? { pod: podKey(pod), outcome: "fits-upcoming", group: upcoming }
        : { pod: podKey(pod), outcome: "fits-existing", node: node.node.name },
    );
  }

  const totals: ClusterTotals = {
    nodes: snapshot.nodes.length + groups.reduce((n, g) => n + g.upcoming.length, 0),
    cores: snapshot.nodes.reduce((n, node) => n + node.allocatable.cpu, 0),
    memory: snapshot.nodes.reduce((n, node) => n + node.allocatable.memory, 0),
    costPerHour: groups.reduce((sum, g) => sum + groupCostPerHour(g, groupSize(g, snapshot)), 0),
  };
  const sizes = new Map(groups.map((g) => [g.name, groupSize(g, snapshot)]));
  const lastReasons = new Map<Pod, Record<string, NoScaleUpReason>>();
  const scaleUp: ScaleUp[] = [];

  while (remaining.length > 0) {
    const choices: ScaleUpOption[] = [];
    for (const group of groups) {
      const backoff = timers.backoff[group.name];
      const size = sizes.get(group.name) ?? 0;
      const added = size - groupSize(group, snapshot);
      const room = headroom(group, { now: size, added }, totals, options);
      let refused: Map<Pod, NoScaleUpReason>;
      if (backoff && backoff.until > now) {
        const why: NoScaleUpReason = {
          kind: "BackingOff",
          group: group.name,
          until: backoff.until,
          cause: backoff.reason,
        };
        refused = new Map(remaining.map((p) => [p, why]));
      } else {
        const packing = pack(sim, group, remaining, room, daemons);
        if (packing.option) choices.push(packing.option);
        refused = packing.refused;
      }
      for (const [pod, why] of refused) lastReasons.set(pod, { ...lastReasons.get(pod), [group.name]: why });
    }
    const chosen = expand(choices, options.expanders, random);
    if (!chosen) break;
    const from = sizes.get(chosen.group.name) ?? 0;
    scaleUp.push({
      group: chosen.group.name,
      from,
      to: from + chosen.newNodes,
      pods: chosen.pods,
      reason: `${chosen.pods.length} pending pod(s) fit on ${chosen.newNodes} new node(s) of ${chosen.group.name}; ${describeChoice(chosen, options.expanders, choices.length)}`,
      ...(chosen.group.pricePerHour !== undefined && {
        cost: costChange(chosen.group.pricePerHour, from, from + chosen.newNodes),
      }),
      options: choices.map((c) => ({
        group: c.group.name,
        newNodes: c.newNodes,
        pods: c.pods.length,
        ...(c.group.pricePerHour !== undefined && { costPerHour: c.group.pricePerHour * c.newNodes }),
      })),
    });
    totals.costPerHour += groupCostPerHour(chosen.group, chosen.newNodes);
    sizes.set(chosen.group.name, from + chosen.newNodes);
    totals.nodes += chosen.newNodes;
    totals.cores += chosen.newNodes * chosen.group.capacity.cpu;
    totals.memory += chosen.newNodes * chosen.group.capacity.memory;
    const helped = new Set(chosen.pods);
    for (const pod of remaining)
      if (helped.has(podKey(pod)))
        pending.push({ pod: podKey(pod), outcome: "scale-up", group: chosen.group.name });
    remaining = remaining.filter((p) => !helped.has(podKey(p)));
  }

  const noScaleUp = remaining.map((pod) => {
    const because = lastReasons.get(pod) ?? {};
    if (groups.length === 0) because["(none)"] = { kind: "NoNodeGroups" };
    pending.push({ pod: podKey(pod), outcome: "no-scale-up" });
    const reasons = Object.fromEntries(
      Object.entries(because).map(([group, reason]) => [group, describeNoScaleUp(reason)]),
    );
    return { pod: podKey(pod), reasons, because };
  });
  return { scaleUp, noScaleUp, pending };
}
