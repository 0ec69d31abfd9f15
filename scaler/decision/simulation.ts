/**
 * A scheduling simulation over a set of nodes (real ones, and imagined ones of a node group): where a
 * pod would fit, or why it would not, and what changes when it is placed or removed.
 */
import {
  addResources,
  hostPortConflict,
  insufficient,
  labelSelectorMatches,
  NO_RESOURCES,
  nodeAffinityFits,
  subtractResources,
  untoleratedTaint,
} from "./predicates.js";
import type { PredicateFailure } from "./reasons.js";
import {
  HOSTNAME_LABEL,
  type Node,
  type Pod,
  type PodAffinityTerm,
  type Resources,
  type TopologySpreadConstraint,
} from "./types.js";

export interface SimNode {
  node: Node;
  requested: Resources;
  pods: Pod[];
  /** An imagined node of a node group, not (yet) in the cluster. */
  template: boolean;
}

function holdsResources(pod: Pod): boolean {
  return !pod.finished;
}

function termSelects(term: PodAffinityTerm, owner: Pod, other: Pod): boolean {
  const namespaces = term.namespaces.length > 0 ? term.namespaces : [owner.namespace];
  return namespaces.includes(other.namespace) && labelSelectorMatches(term.labelSelector, other.labels);
}

export class Simulation {
  readonly nodes: SimNode[] = [];
  readonly #byName = new Map<string, SimNode>();

  constructor(nodes: Node[] = [], pods: Pod[] = []) {
    for (const node of nodes) this.addNode(node, false);
    for (const pod of pods) {
      const node = pod.nodeName ? this.#byName.get(pod.nodeName) : undefined;
      if (node && holdsResources(pod)) this.#attach(pod, node);
    }
  }

  node(name: string): SimNode | undefined {
    return this.#byName.get(name);
  }

  addNode(node: Node, template: boolean): SimNode {
    const sim: SimNode = { node, requested: { ...NO_RESOURCES }, pods: [], template };
    this.nodes.push(sim);
    this.#byName.set(node.name, sim);
    return sim;
  }

  removeNode(name: string): void {
    const node = this.#byName.get(name);
    if (!node) return;
    this.#byName.delete(name);
    this.nodes.splice(this.nodes.indexOf(node), 1);
  }

  free(node: SimNode): Resources {
    return subtractResources(node.node.allocatable, node.requested);
  }

  #attach(pod: Pod, node: SimNode): void {
    node.pods.push(pod);
    node.requested = addResources(node.requested, pod.requests);
  }

  place(pod: Pod, node: SimNode): void {
    this.#attach(pod, node);
  }

  remove(pod: Pod, node: SimNode): void {
    const index = node.pods.indexOf(pod);
    if (index < 0) return;
    node.pods.splice(index, 1);
    node.requested = subtractResources(node.requested, pod.requests);
  }

  /** Why `pod` cannot go on `node`, in the scheduler's words; undefined when it fits. */
  whyNot(pod: Pod, node: SimNode, excluded?: ReadonlySet<string>): PredicateFailure | undefined {
    const n = node.node;
    if (n.unschedulable) return { kind: "NodeUnschedulable" };
    if (!nodeAffinityFits(pod, n)) return { kind: "NodeAffinity" };
    const taint = untoleratedTaint(pod, n.taints);
    if (taint) return { kind: "TaintToleration", taint };
    if (
      pod.hostPorts.length > 0 &&
      hostPortConflict(
        pod.hostPorts,
        node.pods.flatMap((p) => p.hostPorts),
      )
    )
      return { kind: "NodePorts" };
    const short = insufficient(pod.requests, this.free(node));
    if (short) return short;
    if (this.#antiAffinityViolated(pod, node)) return { kind: "PodAntiAffinity" };
    if (
      pod.topologySpread.some(
        (c) => c.whenUnsatisfiable === "DoNotSchedule" && this.#skewTooLarge(pod, node, c, excluded),
      )
    ) {
      return { kind: "PodTopologySpread" };
    }
    return undefined;
  }

  /** Nodes in the same topology domain as `node` for `key` (for the hostname key, just the node). */
  #domain(node: SimNode, key: string): SimNode[] {
    if (key === HOSTNAME_LABEL) return [node];
    const value = node.node.labels[key];
    return value === undefined ? [] : this.nodes.filter((n) => n.node.labels[key] === value);
  }

  #antiAffinityViolated(pod: Pod, node: SimNode): boolean {
    for (const term of pod.antiAffinity) {
      for (const other of this.#domain(node, term.topologyKey)) {
        if (other.pods.some((existing) => termSelects(term, pod, existing))) return true;
      }
    }
    // Existing pods' anti-affinity keeps the newcomer away too.
    return node.pods.some((existing) =>
      existing.antiAffinity.some(
        (term) => term.topologyKey === HOSTNAME_LABEL && termSelects(term, existing, pod),
      ),
    );
  }

  #skewTooLarge(
    pod: Pod,
    node: SimNode,
    constraint: TopologySpreadConstraint,
    excluded?: ReadonlySet<string>,
  ): boolean {
    const value = node.node.labels[constraint.topologyKey];
    if (value === undefined) return true;
    const counts = new Map<string, number>();
    for (const candidate of this.nodes) {
      if (excluded?.has(candidate.node.name)) continue;
      const domain = candidate.node.labels[constraint.topologyKey];
      if (domain === undefined || !nodeAffinityFits(pod, candidate.node)) continue;
      const matching = candidate.pods.filter(
        (p) => p.namespace === pod.namespace && labelSelectorMatches(constraint.labelSelector, p.labels),
      ).length;
      counts.set(domain, (counts.get(domain) ?? 0) + matching);
    }
    const min = Math.min(...counts.values());
    return (counts.get(value) ?? 0) + 1 - min > constraint.maxSkew;
  }
}
