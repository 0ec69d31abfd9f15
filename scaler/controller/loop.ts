/**
 * The scaler's loop, split as cluster-autoscaler's and Karpenter's are: observe (a snapshot from the
 * informers, the node groups from their stacks), plan (the pure decision core), dispatch (the actuator
 * carries the actions out). It runs on a schedule, and soon after pods turn unschedulable, batched as
 * Karpenter batches them (1 s without a new one, 10 s at most). It never plans from caches that have
 * not synced or whose watch failed, nor while VPSie cannot be called, nor while it does not lead; and a
 * new leader first finishes what a crashed one left.
 */
import {
  defaultPlannerOptions,
  emptyTimers,
  type PlannerOptions,
  type TimersState,
  withScaleUpFailure,
} from "../decision/options.js";
import { plan, type Plan } from "../decision/plan.js";
import { NODE_GROUP_LABEL, podKey, type Snapshot, TO_BE_DELETED_TAINT } from "../decision/types.js";
import type { NodeGroupConfig } from "../../stacks/contract.js";
import type { ActionOutcome, Actuator } from "./actuator.js";
import type { ReviewGate } from "../review/gate.js";
import type { ApplyLayer, Clock, ClusterSource, GroupSource, Log, NodeOperations } from "./ports.js";
import type { Reconciler } from "./reconciler.js";
import type { Reporter } from "./reporter.js";
import type { StackSync } from "../apply/stackStore.js";
import { StackConfigConflictError } from "../apply/stackConfig.js";

/** A loop that has not completed for this long while leading means the scaler is stuck (CA: max-inactivity). */
const MAX_INACTIVITY_MS = 10 * 60_000;

export interface BatchWindow {
  /** Plan this long after the last unschedulable pod (default 1 s, Karpenter's BATCH_IDLE_DURATION). */
  idleMs: number;
  /** …but no later than this after the first (default 10 s, Karpenter's BATCH_MAX_DURATION). */
  maxMs: number;
}

export interface LoopOptions {
  clock: Clock;
  cluster: ClusterSource;
  catalog: GroupSource;
  apply: ApplyLayer;
  actuator: Actuator;
  reporter: Reporter;
  nodes: NodeOperations;
  planner?: Partial<PlannerOptions>;
  batch?: Partial<BatchWindow>;
  /** Why VPSie cannot be called now (the client's circuit is open), or undefined. */
  vpsieUnavailable?: () => string | undefined;
  /** Adopts workers no key holds and deletes Nodes whose worker is gone (see reconciler.ts). */
  reconciler?: Reconciler;
  /** How often it runs (default 2 min, as Karpenter's garbage collection). */
  reconcileIntervalMs?: number;
  /**
   * Brings stacks/ up to date before each loop, leaving the groups being updated alone (in a cluster:
   * from the stack ConfigMap). A failure skips the loop: nothing is planned from config it could not read.
   */
  syncStackConfig?: (busy: ReadonlySet<string>) => Promise<StackSync>;
  /** Approvals: the leader applies approved actions and drops expired ones every loop. */
  review?: ReviewGate;
  log: Log;
}

export class ScalerLoop {
  readonly #o: LoopOptions;
  readonly #planner: PlannerOptions;
  readonly #batch: BatchWindow;
  #timers: TimersState = emptyTimers();
  #ticking?: Promise<void>;
  #acting = false;
  #recovered = false;
  /** Settings changes (commits) given to the actuator, so a link that failed does not apply one twice. */
  readonly #settingsApplied = new Set<string>();
  #lastLoopAt: number;
  #batchStartedAt?: number;
  #reconciledAt = Number.NEGATIVE_INFINITY;
  #cancelBatch?: () => void;
  /** The last plan, for status reporting and tests. */
  lastPlan?: Plan;
  /** Why the last loop did not plan, if it did not. */
  lastSkip?: string;

  constructor(options: LoopOptions) {
    this.#o = options;
    this.#planner = { ...defaultPlannerOptions, ...options.planner };
    this.#batch = { idleMs: 1_000, maxMs: 10_000, ...options.batch };
    this.#lastLoopAt = options.clock.now();
    options.cluster.onUnschedulable(() => this.#soon());
  }

  get timers(): TimersState {
    return this.#timers;
  }

  /** Only a leader acts; a replica that is not keeps its caches warm and waits. */
  get acting(): boolean {
    return this.#acting;
  }

  set acting(value: boolean) {
    // Each time this replica starts acting, it first finishes what a crashed predecessor left.
    if (value && !this.#acting) this.#recovered = false;
    this.#acting = value;
  }

  /** For /healthz and /readyz. */
  health() {
    return {
      unhealthy: () => {
        const idle = this.#o.clock.now() - this.#lastLoopAt;
        return this.acting && idle > MAX_INACTIVITY_MS
          ? `no loop has completed for ${Math.round(idle / 1000)}s`
          : undefined;
      },
      notReady: () => this.#o.cluster.notReady(),
    };
  }

  #soon(): void {
    const now = this.#o.clock.now();
    this.#batchStartedAt ??= now;
    this.#cancelBatch?.();
    const wait = Math.max(0, Math.min(this.#batch.idleMs, this.#batchStartedAt + this.#batch.maxMs - now));
    this.#cancelBatch = this.#o.clock.after(wait, () => {
      this.#batchStartedAt = undefined;
      this.#cancelBatch = undefined;
      void this.tick();
    });
  }

  /** Stops batching; actions under way are the actuator's to settle. */
  stop(): Promise<void> {
    this.#cancelBatch?.();
    return this.#ticking ?? Promise.resolve();
  }

  /** One loop; overlapping calls wait for the running one. */
  tick(): Promise<void> {
    this.#ticking ??= this.#loop().finally(() => {
      this.#ticking = undefined;
    });
    return this.#ticking;
  }

  #skip(why: string): void {
    if (why !== this.lastSkip) this.#o.log("info", `not acting: ${why}`);
    this.lastSkip = why;
  }

  async #loop(): Promise<void> {
    const why = !this.acting
      ? "not the leader"
      : (this.#o.cluster.notReady() ?? this.#o.vpsieUnavailable?.());
    if (why) return this.#skip(why);
    const busy = new Set(this.#o.actuator.busyGroups);
    let sync: StackSync | undefined;
    if (this.#o.syncStackConfig) {
      try {
        sync = await this.#o.syncStackConfig(busy);
      } catch (err) {
        return this.#skip(`stack config not synced: ${(err as Error).message}`);
      }
      await this.#o.reporter.stackConfig(sync.problems);
    }
    this.lastSkip = undefined;
    const starting = !this.#recovered;
    if (starting) {
      await this.#recoverGroups();
      this.#recovered = true;
    }
    // A person's change to a group (a commit) is applied first, by an update of its own naming it; the
    // group is planned again once that is done. A group whose file does not parse is held back.
    for (const change of sync?.settings ?? []) {
      if (busy.has(change.stack) || !this.acting || this.#settingsApplied.has(change.ref)) continue;
      this.#settingsApplied.add(change.ref);
      this.#o.actuator.applySettings(change.stack, change.ref, change.reason);
      busy.add(change.stack);
    }
    for (const stack of sync?.held ?? []) busy.add(stack);

    // Observe.
    const now = this.#o.clock.now();
    let snapshot = this.#o.cluster.snapshot();
    if (starting) snapshot = await this.#untaintLeftovers(snapshot);
    const configs = await this.#o.catalog.configs();
    await this.#register(snapshot, configs);
    // A node that registered and is not Ready yet is still on its way, as cluster-autoscaler counts it:
    // planned as a fresh node of its group rather than as a node that takes no pods, which made the
    // next loop add another node for the same pending pods.
    const provisionMs = this.#planner.maxNodeProvisionTimeMs;
    const registered = new Set(
      snapshot.nodes.filter((n) => n.ready || now - n.createdAt > provisionMs).map((n) => n.name),
    );
    const groups = await this.#o.catalog.decisionGroups(configs, registered, now, (m) =>
      this.#o.log("warn", m),
    );
    const draining = this.#o.actuator.drainingNodes;

    // Plan.
    const awaiting = this.#o.actuator.podsAwaitingNodes;
    const result = plan({
      snapshot: {
        ...snapshot,
        nodes: snapshot.nodes.filter((n) => !draining.has(n.name)),
        pods: awaiting.size ? snapshot.pods.filter((p) => !awaiting.has(podKey(p))) : snapshot.pods,
      },
      groups: groups.filter((g) => !busy.has(g.name)),
      timers: this.#timers,
      now,
      options: this.#planner,
      respectTimers: true,
    });
    this.#timers = result.timers;
    this.lastPlan = result;
    this.#lastLoopAt = this.#o.clock.now();
    await this.#o.reporter.plan(result, snapshot, groups, now);

    // Dispatch, unless leadership was lost meanwhile.
    if (!this.acting) return this.#skip("not the leader");
    const { actuator } = this.#o;
    await this.#approved(snapshot, configs);
    for (const up of result.scaleUp) actuator.scaleUp(up.group, up.to - up.from, up.pods, up.reason, up.cost);
    for (const failed of result.failedProvisioning)
      actuator.removeUnregistered(failed.group, failed.key, failed.reason);
    // One action per group: its empty nodes together in one update (the planner allows up to
    // maxEmptyBulkDelete, as cluster-autoscaler deletes empty nodes in bulk), else its one drain.
    const downs = new Map<string, typeof result.scaleDown>();
    for (const down of result.scaleDown)
      if (!actuator.busyGroups.has(down.group))
        downs.set(down.group, [...(downs.get(down.group) ?? []), down]);
    for (const [group, candidates] of downs) {
      const empty = candidates.filter((d) => d.pods.length === 0);
      if (empty.length > 0) {
        actuator.removeEmpty(
          group,
          empty.map((d) => ({ node: d.node, reason: d.reason })),
          empty.every((d) => d.cost)
            ? {
                deltaPerHour: empty.reduce((sum, d) => sum + (d.cost?.deltaPerHour ?? 0), 0),
                groupPerHour: Math.min(...empty.map((d) => d.cost?.groupPerHour ?? 0)),
              }
            : undefined,
        );
        continue;
      }
      const [down] = candidates;
      if (!down) continue;
      const pods = snapshot.pods.filter(
        (p) => p.nodeName === down.node && !p.isDaemonSet && !p.isMirror && !p.finished,
      );
      actuator.scaleDown(group, down.node, pods, down.reason, down.cost);
    }
    await this.#reconcile(configs, snapshot);
  }

  /**
   * Approved actions, applied by the leader held to their saved plans; a scale-up whose pods are no
   * longer pending, or a scale-down whose node is gone, is stale: dropped, and planned again.
   */
  async #approved(snapshot: Snapshot, configs: NodeGroupConfig[]): Promise<void> {
    const { review, actuator } = this.#o;
    if (!review) return;
    let due: Awaited<ReturnType<ReviewGate["due"]>>;
    try {
      due = await review.due();
    } catch (err) {
      this.#o.log("warn", `could not read the reviews: ${(err as Error).message}`);
      return;
    }
    for (const record of due.expired) this.handle({ kind: "ReviewSettled", group: record.group, record });
    for (const record of due.approved) {
      if (actuator.busyGroups.has(record.group)) continue;
      const members = configs.find((c) => c.name === record.group)?.nodes ?? [];
      const nodes = new Set(record.remove.map((r) => r.node));
      const pending = new Set(
        snapshot.pods.filter((p) => p.unschedulableSince !== undefined && !p.nodeName).map(podKey),
      );
      const stale =
        record.kind === "scale-up" && !record.pods.some((p) => pending.has(p))
          ? "none of the pods it was for is pending any more"
          : [...nodes].find((n) => !snapshot.nodes.some((s) => s.name === n))
            ? "a node it removes is gone"
            : undefined;
      const pods = snapshot.pods.filter(
        (p) => p.nodeName && nodes.has(p.nodeName) && !p.isDaemonSet && !p.isMirror && !p.finished,
      );
      actuator.applyApproved(record, pods, members, stale);
    }
  }

  async #reconcile(configs: NodeGroupConfig[], snapshot: Snapshot): Promise<void> {
    const { reconciler, actuator } = this.#o;
    const now = this.#o.clock.now();
    if (!reconciler || now - this.#reconciledAt < (this.#o.reconcileIntervalMs ?? 120_000)) return;
    this.#reconciledAt = now;
    const found = await reconciler.reconcile(configs, actuator.busyGroups, snapshot.nodes);
    if (!this.acting) return;
    for (const { group, worker, reason } of found.adopt) actuator.adopt(group, worker, reason);
    for (const { group, node } of found.goneNodes) await actuator.removeGoneNode(group, node);
  }

  /** What an action's end means for the timers (cooldowns, backoff), then for people. */
  handle(outcome: ActionOutcome): void {
    const now = this.#o.clock.now();
    switch (outcome.kind) {
      case "ScaledUp":
        if (outcome.result.created.length > 0) this.#timers = { ...this.#timers, lastScaleUp: now };
        break;
      case "ScaleUpFailed":
        // A person changed the group's file meanwhile: planned again from it, nothing to back off.
        if (outcome.error instanceof StackConfigConflictError) break;
        // cluster-autoscaler backs a group off after a failed scale-up; a VPSie refusal counts at once.
        this.#timers = withScaleUpFailure(
          this.#timers,
          outcome.group,
          outcome.error.message,
          now,
          this.#planner,
        );
        break;
      case "ScaledDown":
        this.#timers = { ...this.#timers, lastScaleDown: now };
        break;
      case "ScaleDownFailed":
        if (outcome.error instanceof StackConfigConflictError) break;
        this.#timers = { ...this.#timers, lastScaleDownFailure: now };
        break;
      case "DrainFailed":
        this.#timers = { ...this.#timers, lastScaleDownFailure: now };
        break;
      case "SettingsFailed":
        // Tried again at the next loop that still finds the commit without its update.
        this.#settingsApplied.delete(outcome.ref);
        break;
      default:
        break;
    }
    void this.#o.reporter.outcome(outcome);
  }

  /**
   * A leader killed mid-drain leaves its taint on a node that stays (cluster-autoscaler cleans its own at
   * start too). Only members of a group: a node whose key is gone is on its way out, taint and all.
   */
  async #untaintLeftovers(snapshot: Snapshot): Promise<Snapshot> {
    const draining = this.#o.actuator.drainingNodes;
    const cleaned = new Set<string>();
    for (const node of snapshot.nodes) {
      if (!node.taints.some((t) => t.key === TO_BE_DELETED_TAINT)) continue;
      if (draining.has(node.name) || !this.#o.catalog.keyOf(node.name)) continue;
      try {
        await this.#o.nodes.untaint(node.name);
        cleaned.add(node.name);
        this.#o.log(
          "warn",
          `took off the ${TO_BE_DELETED_TAINT} taint a stopped scaler left on ${node.name}`,
          {
            node: node.name,
          },
        );
      } catch (err) {
        this.#o.log("error", `could not untaint ${node.name}: ${(err as Error).message}`, {
          node: node.name,
        });
      }
    }
    return {
      ...snapshot,
      nodes: snapshot.nodes.map((n) =>
        cleaned.has(n.name) ? { ...n, taints: n.taints.filter((t) => t.key !== TO_BE_DELETED_TAINT) } : n,
      ),
    };
  }

  /** Recovers every group's stack from an update a crashed scaler left unfinished, before planning on it. */
  async #recoverGroups(): Promise<void> {
    for (const config of await this.#o.catalog.configs()) {
      try {
        const report = await this.#o.apply.recover(config.name);
        if (report) {
          this.#o.log(
            "warn",
            `recovered ${config.name}: ${report.skipped ?? `adopted ${report.adopted.length}, dropped ${report.dropped.length}, deleted ${report.deletedOrphans.length} orphan(s)`}`,
            { group: config.name },
          );
          // cluster-autoscaler waits its delay after any scale-up: nodes just added look empty until
          // the scheduler fills them.
          if (report.nodesAdded) this.#timers = { ...this.#timers, lastScaleUp: this.#o.clock.now() };
        }
        for (const [key, hostname] of Object.entries(await this.#o.apply.nodeNames(config.name)))
          this.#o.catalog.hostnames.set(key, hostname);
      } catch (err) {
        this.#o.log("error", `recovery of ${config.name} failed: ${(err as Error).message}`, {
          group: config.name,
        });
      }
    }
  }

  /** New nodes get their group's label, labels and taints when they register. */
  async #register(snapshot: Snapshot, configs: NodeGroupConfig[]): Promise<void> {
    for (const node of snapshot.nodes) {
      if (node.labels[NODE_GROUP_LABEL]) continue;
      const key = this.#o.catalog.keyOf(node.name);
      const config = configs.find((c) => key && c.nodes.includes(key));
      if (!config) continue;
      try {
        await this.#o.nodes.label(node.name, config);
        this.#o.log("info", `node ${node.name} registered for node group ${config.name}`, {
          node: node.name,
          group: config.name,
        });
      } catch (err) {
        this.#o.log("warn", `could not label node ${node.name} for group ${config.name}`, {
          node: node.name,
          group: config.name,
          error: (err as Error).message,
        });
      }
    }
  }
}
