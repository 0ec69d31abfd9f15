/**
 * The composition root of the running scaler: the informers, the Kubernetes adapters, the group
 * catalog, the actuator, the reporter and the loop, wired once; the loop runs on a schedule
 * (node-cron) besides its batches. `run`, the demo and the end-to-end tests build the scaler here.
 */
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { schedule as cronSchedule, type ScheduledTask } from "node-cron";
import type { VpsieClient } from "../../provider/vpsie/client.js";
import { defaultPlannerOptions, type PlannerOptions } from "../decision/options.js";
import type { Plan } from "../decision/plan.js";
import { KubernetesEvents } from "../kubernetes/events.js";
import { InformerClusterSource } from "../kubernetes/informers.js";
import { type DrainOptions, KubernetesNodes } from "../kubernetes/nodes.js";
import { StatusConfigMap } from "../kubernetes/statusConfigMap.js";
import type { ScalerMetrics } from "../observability/metrics.js";
import { Actuator } from "./actuator.js";
import { GroupCatalog } from "./catalog.js";
import { type BatchWindow, ScalerLoop } from "./loop.js";
import { type ApplyLayer, type Clock, type Log, systemClock } from "./ports.js";
import { Reconciler } from "./reconciler.js";
import { Reporter } from "./reporter.js";
import type { StackSync } from "../apply/stackStore.js";

export interface ScalerOptions {
  kubeconfig: KubeConfig;
  apply: ApplyLayer;
  client: VpsieClient;
  projectDir: string;
  /** How often the loop plans without a trigger (default 10 s, cluster-autoscaler's scan interval). */
  scanIntervalSeconds?: number;
  batch?: Partial<BatchWindow>;
  planner?: Partial<PlannerOptions>;
  drain?: Partial<DrainOptions>;
  metrics?: ScalerMetrics;
  syncStackConfig?: (busy: ReadonlySet<string>) => Promise<StackSync>;
  /** Reconciliation of unclaimed workers and of Nodes without a worker (defaults: every 2 min, 10 min grace). */
  reconcile?: { intervalMs?: number; graceMs?: number };
  /** Where the status ConfigMap goes (default kube-system/vpsie-autoscaler-status). */
  status?: { namespace: string; name: string };
  log: Log;
  clock?: Clock;
}

export class Scaler {
  readonly loop: ScalerLoop;
  readonly actuator: Actuator;
  readonly #cluster: InformerClusterSource;
  readonly #scanIntervalSeconds: number;
  #task?: ScheduledTask;

  constructor(options: ScalerOptions) {
    const clock = options.clock ?? systemClock;
    const core = options.kubeconfig.makeApiClient(CoreV1Api);
    const log = options.log;
    this.#cluster = new InformerClusterSource(options.kubeconfig, (m) => log("warn", m));
    this.#scanIntervalSeconds = options.scanIntervalSeconds ?? 10;
    const catalog = new GroupCatalog(options.projectDir, options.client);
    const nodes = new KubernetesNodes(core, options.drain ?? {}, clock);
    options.metrics?.watchCircuit(() => options.client.circuitOpen);
    const status = new StatusConfigMap(
      core,
      options.status?.namespace ?? "kube-system",
      options.status?.name ?? "vpsie-autoscaler-status",
    );
    const reporter = new Reporter({
      events: new KubernetesEvents(core),
      status,
      statusObject: status.object,
      clock,
      log,
      metrics: options.metrics,
      planner: { ...defaultPlannerOptions, ...options.planner },
    });
    this.actuator = new Actuator({
      apply: options.apply,
      nodes,
      catalog,
      log,
      onOutcome: (outcome) => this.loop.handle(outcome),
    });
    this.loop = new ScalerLoop({
      clock,
      cluster: this.#cluster,
      catalog,
      apply: options.apply,
      actuator: this.actuator,
      reporter,
      nodes,
      planner: options.planner,
      batch: options.batch,
      vpsieUnavailable: () => (options.client.circuitOpen ? "the VPSie API circuit is open" : undefined),
      syncStackConfig: options.syncStackConfig,
      reconciler: new Reconciler({
        client: options.client,
        apply: options.apply,
        clock,
        log,
        graceMs: options.reconcile?.graceMs,
      }),
      reconcileIntervalMs: options.reconcile?.intervalMs,
      log,
    });
    // Without leader election (a single replica, the demo) the scaler acts; `run` starts it waiting.
    this.loop.acting = true;
  }

  get acting(): boolean {
    return this.loop.acting;
  }

  set acting(value: boolean) {
    this.loop.acting = value;
  }

  get lastPlan(): Plan | undefined {
    return this.loop.lastPlan;
  }

  health() {
    return this.loop.health();
  }

  tick(): Promise<void> {
    return this.loop.tick();
  }

  async start(): Promise<void> {
    await this.#cluster.start();
    this.#task = cronSchedule(`*/${this.#scanIntervalSeconds} * * * * *`, () => void this.loop.tick());
  }

  /** Stops planning, lets actions under way finish (no update is left half-applied), stops the informers. */
  async stop(): Promise<void> {
    await this.#task?.stop();
    await this.loop.stop();
    await this.actuator.settle();
    await this.#cluster.stop();
  }
}
