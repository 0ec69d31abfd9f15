/**
 * The status document in cluster-autoscaler's YAML format (CA ≥ 1.30, clusterstate/api/types.go), which
 * tools that read `cluster-autoscaler-status` parse: the autoscaler's state, cluster-wide health with
 * node counts, scale-up and scale-down, and the same per node group with its target, limits and backoff.
 * Each condition keeps the time it last changed, carried from the previous document.
 */
import { type PlannerOptions, toleratedUnready } from "../decision/options.js";
import type { Plan } from "../decision/plan.js";
import { NODE_GROUP_LABEL, type Node, type NodeGroup, type Snapshot } from "../decision/types.js";

export interface NodeCount {
  registered: {
    total: number;
    ready: number;
    notStarted: number;
    unready: { total: number; resourceUnready: number };
  };
  longUnregistered: number;
  unregistered: number;
}

interface Condition {
  status: string;
  lastProbeTime: string;
  lastTransitionTime: string;
}

export interface ClusterAutoscalerStatus {
  time: string;
  autoscalerStatus: "Running" | "Initializing";
  message?: string;
  clusterWide: {
    health: Condition & { nodeCounts: NodeCount };
    scaleUp: Condition;
    scaleDown: Condition & { candidates?: number };
  };
  nodeGroups: Array<{
    name: string;
    health: Condition & {
      nodeCounts: NodeCount;
      cloudProviderTarget: number;
      minSize: number;
      maxSize: number;
    };
    scaleUp: Condition & { backoffInfo?: { errorCode: string; errorMessage: string } };
    scaleDown: Condition & { candidates?: number };
  }>;
}

export interface StatusInput {
  plan: Plan;
  snapshot: Snapshot;
  groups: NodeGroup[];
  now: number;
  /**
   * When a node not Ready is still starting, when a requested node is long unregistered, and how many
   * unready nodes a group tolerates: the planner's own settings, so the status agrees with its decisions.
   */
  planner: StatusSettings;
}

export type StatusSettings = Pick<
  PlannerOptions,
  "maxNodeStartupTimeMs" | "maxNodeProvisionTimeMs" | "okTotalUnreadyCount" | "maxTotalUnreadyPercentage"
>;

function nodeCount(nodes: Node[], upcoming: NodeGroup["upcoming"], input: StatusInput): NodeCount {
  const starting = (n: Node) => !n.ready && input.now - n.createdAt < input.planner.maxNodeStartupTimeMs;
  const unready = nodes.filter((n) => !n.ready && !starting(n)).length;
  const late = upcoming.filter(
    (u) => input.now - u.requestedAt > input.planner.maxNodeProvisionTimeMs,
  ).length;
  return {
    registered: {
      total: nodes.length,
      ready: nodes.filter((n) => n.ready).length,
      notStarted: nodes.filter(starting).length,
      unready: { total: unready, resourceUnready: 0 },
    },
    longUnregistered: late,
    unregistered: upcoming.length - late,
  };
}

/** Builds the document; a condition whose status is unchanged keeps its transition time. */
export function buildStatus(input: StatusInput, previous?: ClusterAutoscalerStatus): ClusterAutoscalerStatus {
  const at = new Date(input.now).toISOString();
  const condition = (status: string, before?: Condition): Condition => ({
    status,
    lastProbeTime: at,
    lastTransitionTime: before && before.status === status ? before.lastTransitionTime : at,
  });
  const { plan, snapshot, groups } = input;
  const upcoming = groups.flatMap((g) => g.upcoming);
  const candidates = (group?: string) =>
    plan.nodes.filter((n) => n.removable && (group === undefined || n.group === group)).length;
  const backingOff = (g: NodeGroup) => {
    const backoff = plan.timers.backoff[g.name];
    return backoff && backoff.until > input.now ? backoff : undefined;
  };
  const scalingUp = (g: NodeGroup) => g.upcoming.length > 0 || plan.scaleUp.some((u) => u.group === g.name);

  const before = previous?.clusterWide;
  const clusterCandidates = candidates();
  return {
    time: at,
    autoscalerStatus: "Running",
    ...(plan.halted && { message: plan.halted }),
    clusterWide: {
      health: {
        ...condition(plan.halted ? "Unhealthy" : "Healthy", before?.health),
        nodeCounts: nodeCount(snapshot.nodes, upcoming, input),
      },
      scaleUp: condition(
        groups.some(scalingUp) ? "InProgress" : plan.noScaleUp.length > 0 ? "Needed" : "NoActivity",
        before?.scaleUp,
      ),
      scaleDown: {
        ...condition(clusterCandidates > 0 ? "CandidatesPresent" : "NoCandidates", before?.scaleDown),
        ...(clusterCandidates > 0 && { candidates: clusterCandidates }),
      },
    },
    nodeGroups: groups.map((g) => {
      const was = previous?.nodeGroups.find((p) => p.name === g.name);
      const members = snapshot.nodes.filter((n) => n.labels[NODE_GROUP_LABEL] === g.name);
      const counts = nodeCount(members, g.upcoming, input);
      const backoff = backingOff(g);
      const groupCandidates = candidates(g.name);
      return {
        name: g.name,
        health: {
          ...condition(
            counts.registered.unready.total > toleratedUnready(members.length, input.planner)
              ? "Unhealthy"
              : "Healthy",
            was?.health,
          ),
          nodeCounts: counts,
          // Its member keys: the nodes registered and those asked for.
          cloudProviderTarget: members.length + g.upcoming.length,
          minSize: g.minNodes,
          maxSize: g.maxNodes,
        },
        scaleUp: {
          ...condition(backoff ? "Backoff" : scalingUp(g) ? "InProgress" : "NoActivity", was?.scaleUp),
          ...(backoff && { backoffInfo: { errorCode: "cloudProviderError", errorMessage: backoff.reason } }),
        },
        scaleDown: {
          ...condition(groupCandidates > 0 ? "CandidatesPresent" : "NoCandidates", was?.scaleDown),
          ...(groupCandidates > 0 && { candidates: groupCandidates }),
        },
      };
    }),
  };
}
