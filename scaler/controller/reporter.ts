/**
 * What people see, fed with typed results: Kubernetes Events on pods (TriggeredScaleUp,
 * NotTriggerScaleUp) and nodes (ScaleDown, ScaleDownBlocked, ScaleDownFailed, ScaleDownDone),
 * deduplicated over 5 minutes as cluster-autoscaler does; Prometheus metrics under cluster-autoscaler's
 * names; and the status document. It reads the reasons' kinds, never their text.
 */
import { stringify } from "yaml";
import { VpsieError } from "../../provider/vpsie/errors.js";
import type { PlannerOptions } from "../decision/options.js";
import type { Plan } from "../decision/plan.js";
import { isScaleDownBlocked, type UnremovableReason } from "../decision/reasons.js";
import { NODE_GROUP_LABEL, type NodeGroup, type Snapshot } from "../decision/types.js";
import type { ScalerMetrics } from "../observability/metrics.js";
import type { ActionOutcome } from "./actuator.js";
import { describeCostChange, groupCostPerHour } from "../decision/cost.js";
import type { Held } from "../review/gate.js";
import type { StackConfigProblem } from "../apply/stackStore.js";
import { buildStatus, type ClusterAutoscalerStatus, type StatusSettings } from "./caStatus.js";
import type { Clock, EventRecorder, InvolvedObject, Log, StatusWriter } from "./ports.js";

const DEDUP_MS = 5 * 60_000;

export interface ReporterOptions {
  events: EventRecorder;
  status: StatusWriter;
  clock: Clock;
  log: Log;
  metrics?: ScalerMetrics;
  /** The planner's settings the status and its gauges read. */
  planner: StatusSettings & Pick<PlannerOptions, "limits">;
  /** The status ConfigMap, which Events about the scaler's own configuration are about (as CA's are). */
  statusObject?: { namespace: string; name: string };
}

/** cluster-autoscaler's failed_scale_ups_total reasons. */
export type ScaleUpFailure = "cloudProviderError" | "apiCallError" | "timeout";

export function scaleUpFailure(error: Error): ScaleUpFailure {
  return error instanceof VpsieError ? "cloudProviderError" : "apiCallError";
}

export class Reporter {
  readonly #o: ReporterOptions;
  readonly #recent = new Map<string, number>();
  #lastStatus?: ClusterAutoscalerStatus;
  #problems: StackConfigProblem[] = [];

  constructor(options: ReporterOptions) {
    this.#o = options;
  }

  async #event(
    object: InvolvedObject,
    reason: string,
    message: string,
    type: "Normal" | "Warning" = "Normal",
  ): Promise<void> {
    const key = `${object.kind}/${object.namespace ?? ""}/${object.name}/${reason}/${message}`;
    const now = this.#o.clock.now();
    if (now - (this.#recent.get(key) ?? Number.NEGATIVE_INFINITY) < DEDUP_MS) return;
    this.#recent.set(key, now);
    for (const [k, at] of this.#recent) if (now - at > DEDUP_MS) this.#recent.delete(k);
    try {
      await this.#o.events.record(object, reason, message, type);
    } catch (err) {
      this.#o.log("warn", `could not record event ${reason} on ${object.kind} ${object.name}`, {
        error: (err as Error).message,
      });
    }
  }

  /** A loop's plan (the loop started at `startedAt`): its events, its metrics and the status. */
  async plan(plan: Plan, snapshot: Snapshot, groups: NodeGroup[], startedAt: number) {
    const metrics = this.#o.metrics;
    if (metrics) {
      const now = this.#o.clock.now() / 1000;
      metrics.functionDuration.observe({ function: "main" }, now - startedAt / 1000);
      metrics.safeToAutoscale.set(plan.halted ? 0 : 1);
      metrics.nodesCount.set({ state: "ready" }, snapshot.nodes.filter((n) => n.ready).length);
      metrics.nodesCount.set({ state: "unready" }, snapshot.nodes.filter((n) => !n.ready).length);
      metrics.unschedulablePods.set(
        snapshot.pods.filter((p) => p.unschedulableSince !== undefined && !p.nodeName).length,
      );
      metrics.unneededNodes.set(Object.keys(plan.timers.unneededSince).length);
      for (const group of groups) {
        if (group.pricePerHour === undefined) continue;
        const nodes =
          snapshot.nodes.filter((n) => n.labels[NODE_GROUP_LABEL] === group.name).length +
          group.upcoming.length;
        metrics.nodeGroupCost.set({ node_group: group.name }, groupCostPerHour(group, nodes));
      }
      metrics.lastActivity.set({ activity: "main" }, now);
    }
    for (const up of plan.scaleUp) {
      for (const pod of up.pods) {
        const [namespace, name] = pod.split("/") as [string, string];
        await this.#event(
          { kind: "Pod", namespace, name },
          "TriggeredScaleUp",
          `pod triggered scale-up: group ${up.group}, sizes (current/new): ${up.from}/${up.to}`,
        );
      }
    }
    // Nodes that would go but for something a person can change (a budget, an annotation, the minimum).
    for (const node of plan.nodes) {
      if (node.removable || !node.group || !isScaleDownBlocked(node.because as UnremovableReason)) continue;
      await this.#event({ kind: "Node", name: node.node }, "ScaleDownBlocked", node.reason);
    }
    for (const none of plan.noScaleUp) {
      const [namespace, name] = none.pod.split("/") as [string, string];
      const why = Object.entries(none.reasons)
        .map(([group, reason]) => `${group}: ${reason}`)
        .join("; ");
      await this.#event(
        { kind: "Pod", namespace, name },
        "NotTriggerScaleUp",
        `pod didn't trigger scale-up: ${why}`,
      );
    }
    await this.#status(plan, snapshot, groups);
  }

  /**
   * Stack files that cannot be used (a commit that does not parse): a log line and a Warning Event on
   * the status ConfigMap when one appears, and a key of the status ConfigMap while it lasts.
   */
  async stackConfig(problems: StackConfigProblem[]): Promise<void> {
    const known = new Set(this.#problems.map((p) => p.message));
    this.#problems = problems;
    for (const problem of problems) {
      if (known.has(problem.message)) continue;
      const message = `${problem.message}: node group ${problem.stack} is held back, nothing from this file is applied until it is fixed`;
      this.#o.log("warn", message, { group: problem.stack, source: problem.source });
      if (this.#o.statusObject)
        await this.#event(
          { kind: "ConfigMap", ...this.#o.statusObject },
          "StackConfigInvalid",
          message,
          "Warning",
        );
    }
  }

  /** An action's end: its event and its metrics. */
  async outcome(outcome: ActionOutcome): Promise<void> {
    const metrics = this.#o.metrics;
    const now = this.#o.clock.now() / 1000;
    switch (outcome.kind) {
      case "ScaledUp":
        metrics?.scaledUpNodes.inc(outcome.result.created.length);
        metrics?.lastActivity.set({ activity: "scaleUp" }, now);
        return;
      case "ScaleUpFailed":
        metrics?.failedScaleUps.inc({ reason: scaleUpFailure(outcome.error) });
        return;
      case "UnregisteredRemoved":
      case "UnregisteredRemovalFailed":
        metrics?.failedScaleUps.inc({ reason: "timeout" });
        return;
      case "ScaleDownStarted":
        return this.#event(
          { kind: "Node", name: outcome.node },
          "ScaleDown",
          `marked for removal from ${outcome.group} and being drained: ${outcome.reason}`,
        );
      case "Drained":
        metrics?.evictedPods.inc(outcome.evicted);
        return;
      case "DrainFailed":
        return this.#event(
          { kind: "Node", name: outcome.node },
          "ScaleDownFailed",
          `drain failed, the node stays: ${outcome.reason}`,
          "Warning",
        );
      case "ScaleDownFailed":
        return this.#event(
          { kind: "Node", name: outcome.node },
          "ScaleDownFailed",
          `removal failed, the node stays: ${outcome.error.message}`,
          "Warning",
        );
      case "ReviewHeld":
        return this.#held(outcome.held);
      case "ReviewFailed":
        if (!this.#o.statusObject) return;
        return this.#event(
          { kind: "ConfigMap", ...this.#o.statusObject },
          "ReviewFailed",
          `an action of ${outcome.group} is held, not applied: its review could not be recorded: ${outcome.error.message}`,
          "Warning",
        );
      case "ReviewSettled":
        if (!this.#o.statusObject) return;
        return this.#event(
          { kind: "ConfigMap", ...this.#o.statusObject },
          outcome.record.status === "applied" ? "ApprovedActionApplied" : "ReviewDropped",
          `review ${outcome.record.id} (${outcome.record.kind} of ${outcome.group}): ${outcome.record.status}: ${outcome.record.outcome ?? ""}`,
          outcome.record.status === "applied" ? "Normal" : "Warning",
        );
      case "ScaledDown":
        metrics?.scaledDownNodes.inc({ reason: outcome.empty ? "empty" : "underutilized" });
        metrics?.lastActivity.set({ activity: "scaleDown" }, now);
        return this.#event(
          { kind: "Node", name: outcome.node },
          "ScaleDownDone",
          `removed from ${outcome.group} by the update "${outcome.result.message}"`,
        );
    }
  }

  /** A held action: shadow mode's record in the log; an approval people are asked for once, by an Event. */
  async #held({ record, created }: Held): Promise<void> {
    if (!created) return;
    const cost = record.cost ? ` (${describeCostChange(record.cost)})` : "";
    if (record.status === "shadow") {
      this.#o.log("info", `shadow mode, not applied: ${record.message}`, {
        group: record.group,
        review: record.id,
      });
      return;
    }
    if (record.status !== "pending") return;
    const message = `${record.kind} of ${record.group} waits for approval${cost}, until ${record.expiresAt}: ${record.rule}. Review it with \`vpsie-autoscaler approvals show ${record.id}\` or the console`;
    this.#o.log("warn", message, { group: record.group, review: record.id });
    if (this.#o.statusObject)
      await this.#event({ kind: "ConfigMap", ...this.#o.statusObject }, "ApprovalRequired", message);
  }

  /** The status, in cluster-autoscaler's YAML format. */
  async #status(plan: Plan, snapshot: Snapshot, groups: NodeGroup[]): Promise<void> {
    this.#lastStatus = buildStatus(
      {
        plan,
        snapshot,
        groups,
        now: this.#o.clock.now(),
        planner: this.#o.planner,
      },
      this.#lastStatus,
    );
    this.#o.metrics?.recordStatus(this.#lastStatus, this.#o.planner.limits.maxNodesTotal);
    try {
      await this.#o.status.write(
        stringify(this.#lastStatus),
        this.#problems.length > 0
          ? { stackConfigProblems: this.#problems.map((p) => `- ${p.message}`).join("\n") }
          : {},
      );
    } catch (err) {
      this.#o.log("warn", "could not write the status", { error: (err as Error).message });
    }
  }
}
