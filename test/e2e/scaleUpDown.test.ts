import { parse } from "yaml";
import { AppsV1Api, CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NODE_GROUP_LABEL } from "../../scaler/decision/types.js";
import { startObservabilityServer } from "../../scaler/observability/server.js";
import { selectProjectStack } from "../../scaler/pulumi/workspace.js";
import { deployWeb, webRunning } from "../../dev/testing/workload.js";
import { exports, queriedMetrics } from "../../dev/testing/queriedMetrics.js";
import { eventually } from "../../dev/testing/cluster.js";
import { DEMO_CLUSTER } from "../../dev/testing/emulator.js";
import { startWorld, type World } from "../../dev/testing/world.js";
import type { ClusterAutoscalerStatus } from "../../scaler/controller/caStatus.js";

/**
 * Pending pods → a scale-up through Pulumi → the new node joins → pods run; load gone → the node is
 * drained and removed. Against both emulator profiles: the evidence one names workers in mixed case
 * with no node identifier, while their Kubernetes Nodes are named in lower case.
 */
describe.each(["default", "evidence"] as const)(
  "the scaler end to end (%s profile): local control plane, VPSie emulator, real Pulumi engine",
  (profile) => {
    let world: World;
    let observability: Awaited<ReturnType<typeof startObservabilityServer>>;

    beforeAll(async () => {
      world = await startWorld({
        name: `e2e-${profile}`,
        emulator: (c) => {
          c.behaviour = { provisionDelayMs: 500, profile };
        },
        scaler: {
          planner: { scaleDownUnneededTimeMs: 4_000, scaleDownDelayAfterAddMs: 4_000 },
          drain: { evictionTimeoutMs: 20_000, terminationTimeoutMs: 30_000 },
        },
      });
      observability = await startObservabilityServer("127.0.0.1:0", world.metrics, world.scaler!.health());
    });

    afterAll(async () => {
      observability?.server.close();
      await world?.stop();
    });

    const nodes = async () => (await world.cluster.kubeconfig.makeApiClient(CoreV1Api).listNode()).items;
    const history = async () =>
      (await (await selectProjectStack({ ...world.project.engine, stackName: "general" })).history()).map(
        (h) => h.message,
      );

    it("labels the group's first node when it registers", async () => {
      await eventually("the first node to join with its group label", async () => {
        const [node] = await nodes();
        return node?.metadata?.labels?.[NODE_GROUP_LABEL] === "general" ? node : undefined;
      });
    });

    it("scales up for pods that do not fit, and they run on the new node", async () => {
      await deployWeb(world.cluster.kubeconfig);
      await webRunning(world.cluster.kubeconfig, 3, 90_000);
      await eventually("the new node to get its group label too", async () => {
        const labels = (await nodes()).map((n) => n.metadata?.labels?.[NODE_GROUP_LABEL]);
        return labels.length === 2 && labels.every((l) => l === "general") ? labels : undefined;
      });
      expect((await history())[0]).toMatch(
        /^scale-up general 1 → 2 \(\+general-[0-9a-f]{4}\): default\/web-\S+: 1 pending pod\(s\) fit on 1 new node/,
      );
    });

    it("drains and removes exactly one node once the load is gone, never going below the minimum", async () => {
      await world.cluster.kubeconfig
        .makeApiClient(AppsV1Api)
        .deleteNamespacedDeployment({ name: "web", namespace: "default" });
      await eventually(
        "one node left",
        async () => ((await nodes()).length === 1 ? true : undefined),
        90_000,
      );
      const [latest] = await history();
      expect(latest).toMatch(
        /^scale-down general 2 → 1 \(-general-[0-9a-f]{4}\): node hel-kubernetes-49ab-slave-[0-9a-f]{4} drained/,
      );
      const workers = (await world.sim.client().listWorkers(DEMO_CLUSTER)).filter((w) => w.role === "worker");
      expect(workers.map((w) => w.hostname.toLowerCase())).toEqual(
        (await nodes()).map((n) => n.metadata?.name),
      );
      await new Promise((r) => setTimeout(r, 8_000));
      expect(await nodes()).toHaveLength(1);
    });

    it("answers /healthz and /readyz, and counts the scale actions in /metrics under cluster-autoscaler's names", async () => {
      expect((await fetch(`${observability.url}/healthz`)).status).toBe(200);
      expect(await (await fetch(`${observability.url}/readyz`)).text()).toBe("ok");
      const text = await (await fetch(`${observability.url}/metrics`)).text();
      expect(text).toMatch(/^cluster_autoscaler_scaled_up_nodes_total 1$/m);
      expect(text).toMatch(/^cluster_autoscaler_scaled_down_nodes_total\{reason="empty"\} 1$/m);
      expect(text).toMatch(/^cluster_autoscaler_nodes_count\{state="ready"\} 1$/m);
      // The per-group gauges CA's dashboards and alerts query, and process metrics.
      expect(text).toMatch(/^cluster_autoscaler_node_group_target_count\{node_group="general"\} 1$/m);
      expect(text).toMatch(/^cluster_autoscaler_node_group_min_count\{node_group="general"\} 1$/m);
      expect(text).toMatch(/^cluster_autoscaler_node_group_max_count\{node_group="general"\} 3$/m);
      expect(text).toMatch(/^cluster_autoscaler_node_group_healthiness\{node_group="general"\} 1$/m);
      expect(text).toMatch(
        /^cluster_autoscaler_node_group_backoff_status\{node_group="general",reason=""\} 0$/m,
      );
      expect(text).toMatch(/^cluster_autoscaler_node_groups_count\{node_group_type="autoscaled"\} 1$/m);
      expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
      expect(text).toMatch(
        /^vpsie_autoscaler_pulumi_update_duration_seconds_count\{group="general",kind="scale-down",result="succeeded"\} 1$/m,
      );
      expect(text).toMatch(/^cluster_autoscaler_evicted_pods_total 0$/m);
      expect(text).toMatch(/^vpsie_autoscaler_vpsie_circuit_open 0$/m);
      expect(text).toMatch(/^vpsie_autoscaler_stack_lock_held_seconds\{group="general"\} 0$/m);
      // Every metric the chart's Grafana dashboard and alert rules query is one this scaler exports.
      const queried = await queriedMetrics();
      expect(queried.size).toBeGreaterThan(20);
      const missing = [...queried].filter(([name]) => !exports(text, name));
      expect(missing.map(([name, where]) => `${name} (${where})`)).toEqual([]);
    });

    it("records Events on the pods and the node, and keeps the status ConfigMap current", async () => {
      const core = world.cluster.kubeconfig.makeApiClient(CoreV1Api);
      const events = (await core.listNamespacedEvent({ namespace: "default" })).items.filter(
        (e) => e.source?.component === "vpsie-autoscaler",
      );
      const reasons = (kind: string) =>
        events.filter((e) => e.involvedObject.kind === kind).map((e) => e.reason);
      expect(reasons("Pod")).toContain("TriggeredScaleUp");
      expect(events.find((e) => e.reason === "TriggeredScaleUp")?.message).toBe(
        "pod triggered scale-up: group general, sizes (current/new): 1/2",
      );
      expect(reasons("Node")).toEqual(expect.arrayContaining(["ScaleDown", "ScaleDownDone"]));
      const status = await core.readNamespacedConfigMap({
        name: "vpsie-autoscaler-status",
        namespace: "kube-system",
      });
      // cluster-autoscaler's YAML status format, as the tools that read it parse it.
      const document = parse(status.data?.status ?? "") as ClusterAutoscalerStatus;
      expect(document.autoscalerStatus).toBe("Running");
      expect(document.clusterWide.health.status).toBe("Healthy");
      expect(document.nodeGroups).toEqual([
        expect.objectContaining({
          name: "general",
          health: expect.objectContaining({ cloudProviderTarget: 1, minSize: 1, maxSize: 3 }) as unknown,
        }),
      ]);
      expect(
        Date.parse(status.metadata?.annotations?.["autoscaler.vpsie.com/last-updated"] ?? ""),
      ).toBeGreaterThan(Date.now() - 60_000);
    });
  },
);
