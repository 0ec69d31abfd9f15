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
import { type ApplyLayer, type Clock, type Log, type NodeOperations, systemClock } from "./ports.js";
import type { ReviewGate } from "../review/gate.js";
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
  /** Shadow mode and approvals (scaler/review/gate.ts). In shadow mode nothing in the cluster is written. */
  review?: ReviewGate;
  log: Log;
  clock?: Clock;
}

/**
 * Shadow mode's hands: it plans beside another autoscaler and must not touch what that one runs, so
 * no label, taint, drain or Node deletion; the apply layer recovers nothing (it never started an update).
 */
function readOnly(nodes: NodeOperations, apply: ApplyLayer): { nodes: NodeOperations; apply: ApplyLayer } {
  const refuse = () => Promise.reject(new Error("shadow mode changes nothing"));
  return {
    nodes: {
      label: async () => undefined,
      untaint: async () => undefined,
      remove: async () => undefined,
      drain: refuse,
    },
    apply: { apply: refuse, recover: async () => undefined, nodeNames: (group) => apply.nodeNames(group) },
  };
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
    const shadow = options.review?.mode === "shadow";
    const hands = shadow
      ? readOnly(new KubernetesNodes(core, options.drain ?? {}, clock), options.apply)
      : { nodes: new KubernetesNodes(core, options.drain ?? {}, clock), apply: options.apply };
    const nodes = hands.nodes;
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
      apply: hands.apply,
      nodes,
      catalog,
      log,
      review: options.review,
      onOutcome: (outcome) => this.loop.handle(outcome),
    });
    this.loop = new ScalerLoop({
      clock,
      cluster: this.#cluster,
      catalog,
      apply: hands.apply,
      actuator: this.actuator,
      review: options.review,
      reporter,
      nodes,
      planner: options.planner,
      batch: options.batch,
      vpsieUnavailable: () => (options.client.circuitOpen ? "the VPSie API circuit is open" : undefined),
      syncStackConfig: options.syncStackConfig,
      reconciler: new Reconciler({
        client: options.client,
        apply: hands.apply,
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
