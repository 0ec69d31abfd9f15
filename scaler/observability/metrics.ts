/**
 * Prometheus metrics: cluster-autoscaler's names where the meaning is the same (so dashboards carry
 * over), and ours for what CA does not have (Pulumi updates, VPSie API calls, leadership).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ClusterAutoscalerStatus } from "../controller/caStatus.js";

export class ScalerMetrics {
  readonly registry = new Registry();
  readonly buildInfo = new Gauge({
    name: "vpsie_autoscaler_build_info",
    help: "The running build: always 1, its labels say which",
    labelNames: ["version", "commit", "build_date"],
    registers: [this.registry],
  });
  readonly nodeGroupsCount = new Gauge({
    name: "cluster_autoscaler_node_groups_count",
    help: "Node groups by type",
    labelNames: ["node_group_type"],
    registers: [this.registry],
  });
  readonly maxNodesCount = new Gauge({
    name: "cluster_autoscaler_max_nodes_count",
    help: "The cluster-wide limit on nodes (0: none)",
    registers: [this.registry],
  });
  readonly nodeGroupMin = new Gauge({
    name: "cluster_autoscaler_node_group_min_count",
    help: "Minimum size of a node group",
    labelNames: ["node_group"],
    registers: [this.registry],
  });
  readonly nodeGroupMax = new Gauge({
    name: "cluster_autoscaler_node_group_max_count",
    help: "Maximum size of a node group",
    labelNames: ["node_group"],
    registers: [this.registry],
  });
  readonly nodeGroupTarget = new Gauge({
    name: "cluster_autoscaler_node_group_target_count",
    help: "Target size of a node group: its member keys",
    labelNames: ["node_group"],
    registers: [this.registry],
  });
  readonly nodeGroupHealthiness = new Gauge({
    name: "cluster_autoscaler_node_group_healthiness",
    help: "Whether a node group is healthy (1) or not (0)",
    labelNames: ["node_group"],
    registers: [this.registry],
  });
  readonly nodeGroupBackoff = new Gauge({
    name: "cluster_autoscaler_node_group_backoff_status",
    help: "Whether a node group is backing off after a failed scale-up (1) or not (0), and why",
    labelNames: ["node_group", "reason"],
    registers: [this.registry],
  });
  readonly nodeGroupCost = new Gauge({
    name: "vpsie_autoscaler_node_group_cost_per_hour",
    help: "What a node group's nodes (and those on their way) cost, in dollars an hour at VPSie's prices",
    labelNames: ["node_group"],
    registers: [this.registry],
  });
  readonly safeToAutoscale = new Gauge({
    name: "cluster_autoscaler_cluster_safe_to_autoscale",
    help: "Whether the caches are synced and the loop may act (1) or not (0)",
    registers: [this.registry],
  });
  readonly nodesCount = new Gauge({
    name: "cluster_autoscaler_nodes_count",
    help: "Nodes by state",
    labelNames: ["state"],
    registers: [this.registry],
  });
  readonly unschedulablePods = new Gauge({
    name: "cluster_autoscaler_unschedulable_pods_count",
    help: "Pods the scheduler marked unschedulable",
    registers: [this.registry],
  });
  readonly unneededNodes = new Gauge({
    name: "cluster_autoscaler_unneeded_nodes_count",
    help: "Nodes currently unneeded",
    registers: [this.registry],
  });
  readonly lastActivity = new Gauge({
    name: "cluster_autoscaler_last_activity",
    help: "Unix time of the last activity",
    labelNames: ["activity"],
    registers: [this.registry],
  });
  readonly functionDuration = new Histogram({
    name: "cluster_autoscaler_function_duration_seconds",
    help: "Time taken by parts of the loop",
    labelNames: ["function"],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly scaledUpNodes = new Counter({
    name: "cluster_autoscaler_scaled_up_nodes_total",
    help: "Nodes added",
    registers: [this.registry],
  });
  readonly scaledDownNodes = new Counter({
    name: "cluster_autoscaler_scaled_down_nodes_total",
    help: "Nodes removed",
    labelNames: ["reason"],
    registers: [this.registry],
  });
  readonly evictedPods = new Counter({
    name: "cluster_autoscaler_evicted_pods_total",
    help: "Pods evicted by scale-down drains",
    registers: [this.registry],
  });
  readonly failedScaleUps = new Counter({
    name: "cluster_autoscaler_failed_scale_ups_total",
    help: "Failed scale-up operations",
    labelNames: ["reason"],
    registers: [this.registry],
  });
  readonly updateDuration = new Histogram({
    name: "vpsie_autoscaler_pulumi_update_duration_seconds",
    help: "Duration of the Pulumi updates that carry scale actions (preview included)",
    labelNames: ["group", "kind", "result"],
    buckets: [1, 2.5, 5, 10, 20, 40, 80, 160, 320],
    registers: [this.registry],
  });
  readonly lockWaits = new Counter({
    name: "vpsie_autoscaler_stack_lock_waits_total",
    help: "Updates that found their stack locked by someone else",
    labelNames: ["group"],
    registers: [this.registry],
  });
  readonly lockHeld = new Gauge({
    name: "vpsie_autoscaler_stack_lock_held_seconds",
    help: "Age of the oldest lock someone else holds on a group's stack while an update waits for it (0: none)",
    labelNames: ["group"],
    registers: [this.registry],
  });
  readonly vpsieRequests = new Counter({
    name: "vpsie_autoscaler_vpsie_api_requests_total",
    help: "VPSie API requests by operation and result",
    labelNames: ["operation", "result"],
    registers: [this.registry],
  });
  #circuitOpen: () => boolean = () => false;
  readonly vpsieCircuitOpen: Gauge = new Gauge({
    name: "vpsie_autoscaler_vpsie_circuit_open",
    help: "Whether the VPSie API client's circuit breaker is open (1: calls are refused without trying) or closed (0)",
    registers: [this.registry],
    collect: (): void => this.vpsieCircuitOpen.set(this.#circuitOpen() ? 1 : 0),
  });
  readonly leader = new Gauge({
    name: "vpsie_autoscaler_leader",
    help: "Whether this replica leads (1) or waits (0)",
    registers: [this.registry],
  });

  constructor(build?: { version: string; commit: string; buildDate: string }) {
    collectDefaultMetrics({ register: this.registry });
    if (build)
      this.buildInfo.set({ version: build.version, commit: build.commit, build_date: build.buildDate }, 1);
  }

  /** Reads the circuit's state at each scrape. */
  watchCircuit(isOpen: () => boolean): void {
    this.#circuitOpen = isOpen;
  }

  /** The per-group gauges dashboards and alerts built for cluster-autoscaler query, from the status. */
  recordStatus(status: ClusterAutoscalerStatus, maxNodesTotal: number | undefined): void {
    this.nodeGroupsCount.set({ node_group_type: "autoscaled" }, status.nodeGroups.length);
    this.maxNodesCount.set(maxNodesTotal ?? 0);
    this.nodeGroupBackoff.reset();
    for (const group of status.nodeGroups) {
      const labels = { node_group: group.name };
      this.nodeGroupMin.set(labels, group.health.minSize);
      this.nodeGroupMax.set(labels, group.health.maxSize);
      this.nodeGroupTarget.set(labels, group.health.cloudProviderTarget);
      this.nodeGroupHealthiness.set(labels, group.health.status === "Healthy" ? 1 : 0);
      const backoff = group.scaleUp.backoffInfo;
      this.nodeGroupBackoff.set(
        { node_group: group.name, reason: backoff?.errorCode ?? "" },
        group.scaleUp.status === "Backoff" ? 1 : 0,
      );
    }
  }
}
