import { AppsV1Api, CoreV1Api, PolicyV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, type World } from "../../dev/testing/world.js";
import { selectProjectStack } from "../../scaler/pulumi/workspace.js";
import { eventually } from "../../dev/testing/cluster.js";
import { DEMO_CLUSTER } from "../../dev/testing/emulator.js";

const deployment = (name: string, replicas: number, cpu: string) => ({
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name, image: "nginx", resources: { requests: { cpu, memory: "256Mi" } } }] },
    },
  },
});

/** An unneeded node whose pods a PodDisruptionBudget protects stays until the budget allows; then exactly it is drained and removed. */
describe("scale-down under a PodDisruptionBudget", () => {
  let world: World;

  beforeAll(async () => {
    world = await startWorld({
      name: "pdb",
      emulator: (c) => {
        c.behaviour = { provisionDelayMs: 300 };
      },
      scaler: {
        planner: { scaleDownUnneededTimeMs: 4_000, scaleDownDelayAfterAddMs: 4_000 },
        drain: { evictionTimeoutMs: 20_000, terminationTimeoutMs: 30_000 },
      },
    });
  });

  afterAll(async () => {
    await world?.stop();
  });

  it("keeps the node while the budget allows no disruption, then drains and removes exactly that node", async () => {
    const { cluster, project, scaler } = world;
    const apps = cluster.kubeconfig.makeApiClient(AppsV1Api);
    const core = cluster.kubeconfig.makeApiClient(CoreV1Api);
    const policy = cluster.kubeconfig.makeApiClient(PolicyV1Api);
    const running = async (app: string, n: number) => {
      const pods = (await core.listNamespacedPod({ namespace: "default", labelSelector: `app=${app}` }))
        .items;
      return pods.length === n && pods.every((p) => p.status?.phase === "Running") ? pods : undefined;
    };
    await eventually("the first node", async () =>
      (await core.listNode()).items.length === 1 ? true : undefined,
    );
    // Fill the first node, then ask for pods that need a second one.
    await apps.createNamespacedDeployment({ namespace: "default", body: deployment("anchor", 1, "2200m") });
    await apps.createNamespacedDeployment({ namespace: "default", body: deployment("filler", 1, "1700m") });
    await eventually(
      "anchor and filler running",
      async () => ((await running("anchor", 1)) && (await running("filler", 1)) ? true : undefined),
      60_000,
    );
    await apps.createNamespacedDeployment({ namespace: "default", body: deployment("batch", 2, "900m") });
    const batch = await eventually(
      "batch running on a second node",
      async () => running("batch", 2),
      120_000,
    );
    const second = batch[0]?.spec?.nodeName as string;
    expect(batch.every((p) => p.spec?.nodeName === second)).toBe(true);

    await policy.createNamespacedPodDisruptionBudget({
      namespace: "default",
      body: {
        metadata: { name: "batch" },
        spec: { minAvailable: 2, selector: { matchLabels: { app: "batch" } } },
      },
    });
    await eventually("the budget to be observed", async () => {
      const pdb = await policy.readNamespacedPodDisruptionBudget({ name: "batch", namespace: "default" });
      return pdb.status?.currentHealthy === 2 ? true : undefined;
    });
    // Room for batch on the first node now: the second node is unneeded, but the budget forbids moving batch.
    await apps.deleteNamespacedDeployment({ name: "filler", namespace: "default" });
    const blocked = await eventually(
      "the planner to keep the second node because of the budget",
      async () => {
        const report = scaler!.lastPlan?.nodes.find((n) => n.node === second);
        return report?.reason.includes("PodDisruptionBudget default/batch") ? report : undefined;
      },
      60_000,
    );
    expect(blocked.removable).toBe(false);
    await eventually("a ScaleDownBlocked event on the node naming the budget", async () => {
      const events = (await core.listNamespacedEvent({ namespace: "default" })).items;
      return events.some(
        (e) =>
          e.reason === "ScaleDownBlocked" &&
          e.involvedObject.name === second &&
          e.message?.includes("PodDisruptionBudget default/batch"),
      )
        ? true
        : undefined;
    });
    await new Promise((r) => setTimeout(r, 8_000));
    expect((await core.listNode()).items.map((n) => n.metadata?.name)).toContain(second);

    await policy.patchNamespacedPodDisruptionBudget({
      name: "batch",
      namespace: "default",
      body: [{ op: "replace", path: "/spec/minAvailable", value: 0 }],
    });
    await eventually(
      "the second node to be removed",
      async () => ((await core.listNode()).items.length === 1 ? true : undefined),
      120_000,
    );
    expect((await core.listNode()).items.map((n) => n.metadata?.name)).not.toContain(second);
    await eventually("batch running again on the first node", async () => running("batch", 2), 60_000);
    const [latest] = await (await selectProjectStack({ ...project.engine, stackName: "general" })).history(1);
    expect(latest?.message).toContain(`node ${second} drained (moved default/batch-`);
    const moved = /\(moved ([^)]*)\)/.exec(latest?.message ?? "")?.[1]?.split(", ") ?? [];
    // CA's counter of the pods drains evicted: those moved off the second node.
    expect((await world.metrics.evictedPods.get()).values[0]?.value).toBe(moved.length);
    // What the controller cannot write itself: VPSie and the stack lost exactly the second node.
    const [first] = (await core.listNode()).items.map((n) => n.metadata?.name);
    const workers = await world.sim.client().listWorkers(DEMO_CLUSTER);
    expect(workers.filter((w) => w.role === "worker").map((w) => w.hostname.toLowerCase())).toEqual([first]);
    expect(Object.values(await world.applier.nodeNames("general")).map((h) => h.toLowerCase())).toEqual([
      first,
    ]);
  });
});
