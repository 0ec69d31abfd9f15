/**
 * The drainability rules (cluster-autoscaler's simulator/drainability/rules): whether evicting a pod
 * is acceptable at all, whatever room the cluster has. Each rule looks at one thing and says the pod
 * blocks the drain, is cleared of the rules after it, or has nothing to say; the first verdict wins.
 */
import { parseDuration } from "../units/durations.js";
import { labelSelectorMatches } from "./predicates.js";
import { type BlockingPod, DO_NOT_DISRUPT, SAFE_LOCAL_VOLUMES, SAFE_TO_EVICT } from "./reasons.js";
import { type Pod, type PodDisruptionBudget, podKey } from "./types.js";

export interface DrainContext {
  pdbs: PodDisruptionBudget[];
  /** Epoch milliseconds. */
  now: number;
}

/** A rule's verdict: the pod blocks, the pod may go whatever the rules after say, or nothing to say. */
type Verdict = BlockingPod | "cleared" | undefined;
type Rule = (pod: Pod, context: DrainContext) => Verdict;

/** `safe-to-evict: "false"` always blocks. */
const notSafeToEvict: Rule = (pod) =>
  pod.annotations[SAFE_TO_EVICT] === "false"
    ? { kind: "NotSafeToEvictAnnotation", pod: podKey(pod) }
    : undefined;

/** Karpenter's `do-not-disrupt`: `"true"` blocks, a duration blocks that long after the pod started. */
const doNotDisrupt: Rule = (pod, { now }) => {
  const value = pod.annotations[DO_NOT_DISRUPT];
  if (value === undefined) return undefined;
  const hold = value === "true" ? Number.POSITIVE_INFINITY : parseDuration(value);
  return hold !== undefined && now < (pod.startedAt ?? pod.createdAt) + hold
    ? { kind: "DoNotDisrupt", pod: podKey(pod), value }
    : undefined;
};

/** `safe-to-evict: "true"` clears the pod of the rules below (bare pods, kube-system, local storage). */
const safeToEvict: Rule = (pod) => (pod.annotations[SAFE_TO_EVICT] === "true" ? "cleared" : undefined);

/** A pod without a controller: nothing would recreate it. */
const notReplicated: Rule = (pod) =>
  pod.controller ? undefined : { kind: "NotReplicated", pod: podKey(pod) };

/** A kube-system pod that no PodDisruptionBudget covers might be a critical singleton. */
const unmovableKubeSystemPod: Rule = (pod, { pdbs }) =>
  pod.namespace === "kube-system" &&
  !pdbs.some((b) => b.namespace === pod.namespace && labelSelectorMatches(b.selector, pod.labels))
    ? { kind: "UnmovableKubeSystemPod", pod: podKey(pod) }
    : undefined;

/** Local storage (hostPath, emptyDir on disk) would be lost, unless each volume is listed as safe. */
const localStorage: Rule = (pod) => {
  const allowed = new Set((pod.annotations[SAFE_LOCAL_VOLUMES] ?? "").split(",").map((v) => v.trim()));
  const volumes = pod.localVolumes.filter((v) => !allowed.has(v));
  return volumes.length > 0 ? { kind: "LocalStorageRequested", pod: podKey(pod), volumes } : undefined;
};

const RULES: Rule[] = [
  notSafeToEvict,
  doNotDisrupt,
  safeToEvict,
  notReplicated,
  unmovableKubeSystemPod,
  localStorage,
];

/** Why evicting this pod is not acceptable; undefined when it may move. */
export function blockingPod(pod: Pod, context: DrainContext): BlockingPod | undefined {
  for (const rule of RULES) {
    const verdict = rule(pod, context);
    if (verdict === "cleared") return undefined;
    if (verdict) return verdict;
  }
  return undefined;
}
