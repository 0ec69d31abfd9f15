/**
 * The controller loop: on a schedule, and soon after new unschedulable pods appear, it plans from the
 * informers' snapshot and acts through the apply layer: scale-ups as updates that add member keys,
 * scale-downs as a drain followed by an update that removes exactly the drained node's key.
 */
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { schedule as cronSchedule, type ScheduledTask } from "node-cron";
import type { VpsieClient } from "../../provider/vpsie/client.js";
import type { Applier } from "../apply/applier.js";
import {
  defaultPlannerOptions,
  emptyTimers,
  type PlannerOptions,
  type TimersState,
} from "../decision/options.js";
import { plan, type Plan } from "../decision/plan.js";
import { NODE_GROUP_LABEL, podKey, type Snapshot } from "../decision/types.js";
import { GroupCatalog } from "./catalog.js";
import { ClusterState } from "./clusterState.js";
import { applyGroupSettings, drainNode, type DrainOptions } from "./nodes.js";
import { Reporter } from "./reporting.js";
import type { ScalerMetrics } from "../observability/metrics.js";

export interface ControllerOptions {
  kubeconfig: KubeConfig;
  applier: Applier;
  client: VpsieClient;
  projectDir: string;
  /** node-cron expression for the loop (default every 10 s). */
  schedule?: string;
  /** Plan this soon after a new unschedulable pod appears (default 2 s). */
  debounceMs?: number;
  planner?: Partial<PlannerOptions>;
  drain?: Partial<DrainOptions>;
  metrics?: ScalerMetrics;
  /**
   * Brings stacks/ up to date before each loop, leaving the groups being updated alone (in a cluster:
   * from the stack ConfigMap). A failure skips the loop: nothing is planned from config it could not read.
   */
  syncStackConfig?: (busy: ReadonlySet<string>) => Promise<void>;
  /** Where the status ConfigMap goes (default kube-system/vpsie-autoscaler-status). */
  status?: { namespace: string; name: string };
  log: (message: string) => void;
}

/** A loop that has not completed for this long while leading means the scaler is stuck (CA: max-inactivity). */
const MAX_INACTIVITY_MS = 10 * 60_000;

function list(items: string[], max = 5): string {
  return items.length <= max
    ? items.join(", ")
    : `${items.slice(0, max).join(", ")} and ${items.length - max} more`;
}

export class Controller {
  readonly #o: ControllerOptions;
  readonly #state: ClusterState;
  readonly #catalog: GroupCatalog;
  readonly #core: CoreV1Api;
  readonly #reporter: Reporter;
  #timers: TimersState = emptyTimers();
  #task?: ScheduledTask;
  #debounce?: NodeJS.Timeout;
  #ticking?: Promise<void>;
  readonly #inFlight = new Set<string>();
  readonly #draining = new Set<string>();
  /** Scale actions under way: stop() lets them finish, so no update is left half-applied. */
  readonly #actions = new Set<Promise<unknown>>();
  /** The last plan, for status reporting and tests. */
  lastPlan?: Plan;
  /** Why the last loop did not plan, if it did not. */
  lastSkip?: string;
  /** Only a leader acts; a replica that is not keeps its caches warm and waits. */
  get acting(): boolean {
    return this.#acting;
  }

  set acting(value: boolean) {
    // Each time this replica starts acting, it first finishes what a crashed predecessor left.
    if (value && !this.#acting) this.#recovered = false;
    this.#acting = value;
  }

  #acting = true;
  #recovered = false;
  #lastLoopAt = Date.now();

  constructor(options: ControllerOptions) {
    this.#o = options;
    this.#state = new ClusterState(options.kubeconfig, options.log);
    this.#catalog = new GroupCatalog(options.projectDir, options.client);
    this.#core = options.kubeconfig.makeApiClient(CoreV1Api);
    this.#reporter = new Reporter(this.#core, {
      statusNamespace: options.status?.namespace ?? "kube-system",
      statusName: options.status?.name ?? "vpsie-autoscaler-status",
      log: options.log,
    });
    this.#state.onChange = (kind, object) => {
      const unschedulable =
        kind === "Pod" &&
        (
          object as { status?: { conditions?: Array<{ type: string; reason?: string }> } }
        ).status?.conditions?.some((c) => c.type === "PodScheduled" && c.reason === "Unschedulable");
      if (unschedulable) this.#soon();
    };
  }

  #soon(): void {
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => void this.tick(), this.#o.debounceMs ?? 2_000);
  }

  async start(): Promise<void> {
    for (const config of await this.#catalog.configs()) {
      for (const [key, hostname] of Object.entries(
        await this.#o.applier.nodeNames(config.name).catch(() => ({})),
      )) {
        this.#catalog.hostnames.set(key, hostname);
      }
    }
    await this.#state.start();
    this.#task = cronSchedule(this.#o.schedule ?? "*/10 * * * * *", () => void this.tick());
  }

  async stop(): Promise<void> {
    clearTimeout(this.#debounce);
    await this.#task?.stop();
    await this.#ticking;
    await Promise.allSettled([...this.#actions]);
    await this.#state.stop();
  }

  #track(action: Promise<unknown>): void {
    this.#actions.add(action);
    void action.finally(() => this.#actions.delete(action));
  }

  /** For /healthz and /readyz. */
  health() {
    return {
      unhealthy: () =>
        this.acting && Date.now() - this.#lastLoopAt > MAX_INACTIVITY_MS
          ? `no loop has completed for ${Math.round((Date.now() - this.#lastLoopAt) / 1000)}s`
          : undefined,
      notReady: () => this.#state.notReady(),
    };
  }

  /** One loop; overlapping calls wait for the running one. */
  tick(): Promise<void> {
    this.#ticking ??= this.#loop().finally(() => {
      this.#ticking = undefined;
    });
    return this.#ticking;
  }

  async #loop(): Promise<void> {
    const skip = !this.acting
      ? "not the leader"
      : (this.#state.notReady() ??
        (this.#o.client.circuitOpen ? "the VPSie API circuit is open" : undefined));
    if (skip) {
      if (skip !== this.lastSkip) this.#o.log(`not acting: ${skip}`);
      this.lastSkip = skip;
      return;
    }
    if (this.#o.syncStackConfig) {
      try {
        await this.#o.syncStackConfig(new Set(this.#inFlight));
      } catch (err) {
        const why = `stack config not synced: ${(err as Error).message}`;
        if (why !== this.lastSkip) this.#o.log(`not acting: ${why}`);
        this.lastSkip = why;
        return;
      }
    }
    this.lastSkip = undefined;
    if (!this.#recovered) {
      await this.#recoverGroups();
      this.#recovered = true;
    }
    const now = Date.now();
    const metrics = this.#o.metrics;
    const endTimer = metrics?.functionDuration.startTimer({ function: "main" });
    const snapshot = this.#state.snapshot();
    const configs = await this.#catalog.configs();
    await this.#register(snapshot, configs);
    const registered = new Set(snapshot.nodes.map((n) => n.name));
    const groups = await this.#catalog.decisionGroups(configs, registered, now, this.#o.log);
    const busy = new Set([...this.#inFlight, ...this.#draining]);
    const result = plan({
      snapshot: { ...snapshot, nodes: snapshot.nodes.filter((n) => !this.#draining.has(n.name)) },
      groups: groups.filter((g) => !busy.has(g.name)),
      timers: this.#timers,
      now,
      options: { ...defaultPlannerOptions, ...this.#o.planner },
      respectTimers: true,
    });
    this.#timers = result.timers;
    this.lastPlan = result;
    this.#lastLoopAt = Date.now();
    if (metrics) {
      endTimer?.();
      metrics.safeToAutoscale.set(result.halted ? 0 : 1);
      metrics.nodesCount.set({ state: "ready" }, snapshot.nodes.filter((n) => n.ready).length);
      metrics.nodesCount.set({ state: "unready" }, snapshot.nodes.filter((n) => !n.ready).length);
      metrics.unschedulablePods.set(
        snapshot.pods.filter((p) => p.unschedulableSince !== undefined && !p.nodeName).length,
      );
      metrics.unneededNodes.set(Object.keys(result.timers.unneededSince).length);
      metrics.lastActivity.set({ activity: "main" }, Date.now() / 1000);
    }
    const sizes = new Map<string, number>();
    for (const node of snapshot.nodes) {
      const group = node.labels[NODE_GROUP_LABEL];
      if (group) sizes.set(group, (sizes.get(group) ?? 0) + 1);
    }
    await this.#reporter.planEvents(result);
    await this.#reporter.status(result, groups, sizes);
    for (const up of result.scaleUp)
      this.#scaleUp(up.group, up.to - up.from, `${list(up.pods)}: ${up.reason}`);
    for (const failed of result.failedProvisioning)
      this.#removeUnregistered(failed.group, failed.key, failed.reason);
    const down = result.scaleDown.find((d) => !busy.has(d.group));
    if (down) this.#scaleDown(down.group, down.node, down.reason, snapshot);
  }

  /** Recovers every group's stack from an update a crashed scaler left unfinished, before planning on it. */
  async #recoverGroups(): Promise<void> {
    for (const config of await this.#catalog.configs()) {
      try {
        const report = await this.#o.applier.recover(config.name);
        if (!report) continue;
        this.#o.log(
          `recovered ${config.name}: ${report.skipped ?? `adopted ${report.adopted.length}, dropped ${report.dropped.length}, deleted ${report.deletedOrphans.length} orphan(s)`}`,
        );
        for (const [key, hostname] of Object.entries(await this.#o.applier.nodeNames(config.name)))
          this.#catalog.hostnames.set(key, hostname);
      } catch (err) {
        this.#o.log(`recovery of ${config.name} failed: ${(err as Error).message}`);
      }
    }
  }

  /** New nodes get their group's label, labels and taints when they register. */
  async #register(snapshot: Snapshot, configs: Awaited<ReturnType<GroupCatalog["configs"]>>): Promise<void> {
    for (const node of snapshot.nodes) {
      if (node.labels[NODE_GROUP_LABEL]) continue;
      const key = this.#catalog.keyOf(node.name);
      const config = configs.find((c) => key && c.nodes.includes(key));
      if (!config) continue;
      await applyGroupSettings(this.#core, node.name, config).catch((err: unknown) =>
        this.#o.log(`could not label node ${node.name} for group ${config.name}: ${(err as Error).message}`),
      );
      this.#o.log(`node ${node.name} registered for node group ${config.name}`);
    }
  }

  #scaleUp(group: string, add: number, reason: string): void {
    this.#inFlight.add(group);
    this.#o.log(`scale-up of ${group} by ${add}: ${reason}`);
    const action = this.#o.applier
      .apply({ group, add, remove: [], reason })
      .then((r) => {
        for (const c of r.created) if (c.hostname) this.#catalog.hostnames.set(c.key, c.hostname);
        this.#o.metrics?.scaledUpNodes.inc(r.created.length);
        this.#o.metrics?.lastActivity.set({ activity: "scaleUp" }, Date.now() / 1000);
        this.#timers = { ...this.#timers, lastScaleUp: Date.now() };
        this.#o.log(r.skipped ? `scale-up of ${group} not applied: ${r.skipped}` : `applied: ${r.message}`);
      })
      .catch((err: unknown) => {
        this.#o.metrics?.failedScaleUps.inc({ reason: (err as Error).name || "Error" });
        this.#o.log(`scale-up of ${group} failed: ${(err as Error).message}`);
      })
      .finally(() => this.#inFlight.delete(group));
    this.#track(action);
  }

  /** A requested node that never registered goes through the apply layer too; its group backs off (in the plan's timers). */
  #removeUnregistered(group: string, key: string, reason: string): void {
    if (this.#inFlight.has(group)) return;
    this.#inFlight.add(group);
    this.#o.metrics?.failedScaleUps.inc({ reason: "timeout" });
    this.#o.log(`removing ${key} from ${group}: ${reason}; the group backs off`);
    const action = this.#o.applier
      .apply({ group, add: 0, remove: [key], reason: `${reason}: removed, and the group backs off` })
      .then((r) => {
        this.#catalog.hostnames.delete(key);
        this.#o.log(`applied: ${r.message}`);
      })
      .catch((err: unknown) => this.#o.log(`removing ${key} from ${group} failed: ${(err as Error).message}`))
      .finally(() => this.#inFlight.delete(group));
    this.#track(action);
  }

  #scaleDown(group: string, node: string, reason: string, snapshot: Snapshot): void {
    const key = this.#catalog.keyOf(node);
    if (!key) {
      this.#o.log(`not removing ${node}: no member key of ${group} names it`);
      return;
    }
    const pods = snapshot.pods.filter(
      (p) => p.nodeName === node && !p.isDaemonSet && !p.isMirror && !p.finished,
    );
    this.#draining.add(node);
    this.#inFlight.add(group);
    this.#o.log(`scale-down of ${group}: draining ${node} (${key}): ${reason}`);
    const nodeRef = { kind: "Node" as const, name: node };
    void this.#reporter.event(
      nodeRef,
      "ScaleDown",
      `marked for removal from ${group} and being drained: ${reason}`,
    );
    const action = (async () => {
      try {
        const drain = await drainNode(this.#core, node, pods, {
          evictionTimeoutMs: this.#o.drain?.evictionTimeoutMs ?? 120_000,
          terminationTimeoutMs: this.#o.drain?.terminationTimeoutMs ?? 660_000,
          maxGracefulTerminationSeconds: this.#o.drain?.maxGracefulTerminationSeconds ?? 600,
        });
        if (!drain.drained) {
          this.#timers = { ...this.#timers, lastScaleDownFailure: Date.now() };
          this.#o.log(`scale-down of ${node} stopped: ${drain.reason}; the node is untainted`);
          await this.#reporter.event(
            nodeRef,
            "ScaleDownFailed",
            `drain failed, the node stays: ${drain.reason}`,
            "Warning",
          );
          return;
        }
        const moved = pods.map(podKey);
        const result = await this.#o.applier.apply({
          group,
          add: 0,
          remove: [key],
          reason: `node ${node} drained${moved.length ? ` (moved ${list(moved)})` : ""}: ${reason}`,
        });
        await this.#reporter.event(
          nodeRef,
          "ScaleDownDone",
          `removed from ${group} by the update "${result.message}"`,
        );
        await this.#core.deleteNode({ name: node }).catch(() => undefined);
        this.#catalog.hostnames.delete(key);
        this.#timers = { ...this.#timers, lastScaleDown: Date.now() };
        this.#o.metrics?.scaledDownNodes.inc({ reason: pods.length === 0 ? "empty" : "underutilized" });
        this.#o.metrics?.lastActivity.set({ activity: "scaleDown" }, Date.now() / 1000);
        this.#o.log(`applied: ${result.message}`);
      } catch (err) {
        this.#timers = { ...this.#timers, lastScaleDownFailure: Date.now() };
        this.#o.log(`scale-down of ${node} failed: ${(err as Error).message}`);
      } finally {
        this.#draining.delete(node);
        this.#inFlight.delete(group);
      }
    })();
    this.#track(action);
  }
}
