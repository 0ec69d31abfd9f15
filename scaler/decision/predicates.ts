/**
 * The scheduler's filters, as the simulation needs them: each answers whether a pod fits a node and,
 * when it does not, says why (a PredicateFailure, described in the scheduler's own words by reasons.ts).
 */
import type { PredicateFailure } from "./reasons.js";
import type {
  HostPort,
  LabelSelector,
  Node,
  NodeSelectorTerm,
  Pod,
  Resources,
  SelectorRequirement,
  Taint,
  Toleration,
} from "./types.js";

function requirementMatches(value: string | undefined, req: SelectorRequirement): boolean {
  const values = req.values ?? [];
  switch (req.operator) {
    case "In":
      return value !== undefined && values.includes(value);
    case "NotIn":
      return value === undefined || !values.includes(value);
    case "Exists":
      return value !== undefined;
    case "DoesNotExist":
      return value === undefined;
    case "Gt":
    case "Lt": {
      if (value === undefined || values.length !== 1) return false;
      const actual = Number.parseInt(value, 10);
      const bound = Number.parseInt(values[0] ?? "", 10);
      if (Number.isNaN(actual) || Number.isNaN(bound)) return false;
      return req.operator === "Gt" ? actual > bound : actual < bound;
    }
  }
}

export function labelSelectorMatches(
  selector: LabelSelector | undefined,
  labels: Record<string, string>,
): boolean {
  // A missing selector selects nothing (as for pod affinity terms); an empty one selects everything.
  if (!selector) return false;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {}))
    if (labels[key] !== value) return false;
  return (selector.matchExpressions ?? []).every((req) => requirementMatches(labels[req.key], req));
}

function termMatches(term: NodeSelectorTerm, node: Pick<Node, "name" | "labels">): boolean {
  const expressions = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (expressions.length === 0 && fields.length === 0) return false;
  return (
    expressions.every((req) => requirementMatches(node.labels[req.key], req)) &&
    fields.every((req) => req.key === "metadata.name" && requirementMatches(node.name, req))
  );
}

/** nodeSelector and required node affinity (any one term must match). */
export function nodeAffinityFits(pod: Pod, node: Pick<Node, "name" | "labels">): boolean {
  for (const [key, value] of Object.entries(pod.nodeSelector)) if (node.labels[key] !== value) return false;
  return !pod.nodeAffinity || pod.nodeAffinity.some((term) => termMatches(term, node));
}

function tolerates(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.operator === "Exists") return !toleration.key || toleration.key === taint.key;
  return toleration.key === taint.key && (toleration.value ?? "") === (taint.value ?? "");
}

/** The first NoSchedule or NoExecute taint the pod does not tolerate. */
export function untoleratedTaint(pod: Pod, taints: Taint[]): Taint | undefined {
  return taints.find(
    (taint) =>
      taint.effect !== "PreferNoSchedule" &&
      !pod.tolerations.some((toleration) => tolerates(toleration, taint)),
  );
}

/** Which resource is short, with how much is asked and how much is free; undefined when all fit. */
export function insufficient(requests: Resources, free: Resources): PredicateFailure | undefined {
  if (requests.pods > free.pods) return { kind: "TooManyPods" };
  for (const [resource, key] of [
    ["cpu", "cpu"],
    ["memory", "memory"],
    ["ephemeral-storage", "ephemeralStorage"],
  ] as const) {
    if (requests[key] > free[key])
      return { kind: "InsufficientResource", resource, requested: requests[key], free: free[key] };
  }
  return undefined;
}

export function hostPortConflict(wanted: HostPort[], used: HostPort[]): boolean {
  return wanted.some((w) =>
    used.some(
      (u) =>
        u.port === w.port &&
        u.protocol === w.protocol &&
        (u.hostIP === w.hostIP || u.hostIP === "0.0.0.0" || w.hostIP === "0.0.0.0"),
    ),
  );
}

export function addResources(a: Resources, b: Resources): Resources {
  return {
    cpu: a.cpu + b.cpu,
    memory: a.memory + b.memory,
    ephemeralStorage: a.ephemeralStorage + b.ephemeralStorage,
    pods: a.pods + b.pods,
  };
}

export function subtractResources(a: Resources, b: Resources): Resources {
  return {
    cpu: a.cpu - b.cpu,
    memory: a.memory - b.memory,
    ephemeralStorage: a.ephemeralStorage - b.ephemeralStorage,
    pods: a.pods - b.pods,
  };
}

export const NO_RESOURCES: Resources = { cpu: 0, memory: 0, ephemeralStorage: 0, pods: 0 };
