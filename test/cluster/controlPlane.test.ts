import { createServer } from "node:net";
import { readFile } from "node:fs/promises";
import { AppsV1Api, CoreV1Api, PolicyV1Api, type V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterDown, clusterUp } from "../../dev/localcluster/controlPlane.js";
import { resolveControlPlane } from "../../dev/toolchain/kube.js";
import { eventually, startCluster, type TestCluster } from "../../dev/testing/cluster.js";
import { tempDir } from "../../dev/testing/tempDir.js";

const NS = "default";

function kwokNode(name: string, cpu: string, memory: string) {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      annotations: { "kwok.x-k8s.io/node": "fake" },
      labels: { "kubernetes.io/hostname": name },
    },
    status: { capacity: { cpu, memory, pods: "110" }, allocatable: { cpu, memory, pods: "110" } },
  };
}

function statusCode(err: unknown): number | undefined {
  return (err as { code?: number }).code;
}

describe("the local control plane", () => {
  let cluster: TestCluster;
  let core: CoreV1Api;

  beforeAll(async () => {
    cluster = await startCluster("control-plane");
    core = cluster.kubeconfig.makeApiClient(CoreV1Api);
  });
  afterAll(() => cluster?.stop());

  it("leaves a Deployment's pods Pending while no node fits, then schedules them onto a kwok node with room", async () => {
    const apps = cluster.kubeconfig.makeApiClient(AppsV1Api);
    await core.createNode({ body: kwokNode("small", "1", "1Gi") });
    await apps.createNamespacedDeployment({
      namespace: NS,
      body: {
        metadata: { name: "web" },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: {
              containers: [
                { name: "web", image: "nginx", resources: { requests: { cpu: "1500m", memory: "512Mi" } } },
              ],
            },
          },
        },
      },
    });
    const pending = await eventually("two unschedulable pods", async () => {
      const pods = (await core.listNamespacedPod({ namespace: NS, labelSelector: "app=web" })).items;
      const unschedulable = pods.filter((p) =>
        p.status?.conditions?.some(
          (c) => c.type === "PodScheduled" && c.status === "False" && c.reason === "Unschedulable",
        ),
      );
      return unschedulable.length === 2 ? unschedulable : undefined;
    });
    expect(pending.every((p) => p.status?.phase === "Pending")).toBe(true);

    await core.createNode({ body: kwokNode("big", "4", "8Gi") });
    const running = await eventually("both pods Running and Ready on the new node", async () => {
      const pods = (await core.listNamespacedPod({ namespace: NS, labelSelector: "app=web" })).items;
      const ready = pods.filter(
        (p) =>
          p.status?.phase === "Running" &&
          p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
      );
      return ready.length === 2 ? ready : undefined;
    });
    expect(running.map((p) => p.spec?.nodeName)).toEqual(["big", "big"]);
    expect(
      (await core.readNode({ name: "big" })).status?.conditions?.find((c) => c.type === "Ready")?.status,
    ).toBe("True");
  });

  it("answers an eviction that a PodDisruptionBudget forbids with 429, and allows it once the budget does", async () => {
    const policy = cluster.kubeconfig.makeApiClient(PolicyV1Api);
    await policy.createNamespacedPodDisruptionBudget({
      namespace: NS,
      body: {
        metadata: { name: "web" },
        spec: { minAvailable: 2, selector: { matchLabels: { app: "web" } } },
      },
    });
    await eventually("the disruption controller to observe the budget", async () => {
      const pdb = await policy.readNamespacedPodDisruptionBudget({ name: "web", namespace: NS });
      return pdb.status?.observedGeneration === pdb.metadata?.generation && pdb.status?.currentHealthy === 2
        ? pdb
        : undefined;
    });
    const [victim] = (await core.listNamespacedPod({ namespace: NS, labelSelector: "app=web" })).items as [
      V1Pod,
    ];
    const evict = () =>
      core.createNamespacedPodEviction({
        name: victim.metadata!.name!,
        namespace: NS,
        body: { metadata: { name: victim.metadata!.name!, namespace: NS } },
      });
    const refused = await evict().catch((err: unknown) => err);
    expect(statusCode(refused)).toBe(429);

    await policy.patchNamespacedPodDisruptionBudget({
      name: "web",
      namespace: NS,
      body: [{ op: "replace", path: "/spec/minAvailable", value: 1 }],
    });
    await eventually("the eviction to be allowed", async () => {
      const result = await evict().then(
        () => "evicted",
        (err: unknown) => (statusCode(err) === 429 ? undefined : Promise.reject(err as Error)),
      );
      return result;
    });
  });
});

describe("cluster down", () => {
  it("leaves no process and no bound port, and the directory can be removed", async () => {
    const dir = await tempDir("cluster-down");
    const record = await clusterUp(dir.path, await resolveControlPlane(), () => undefined);
    await clusterDown(dir.path, () => undefined);
    for (const component of record.components) {
      expect(() => process.kill(component.pid, 0), `${component.name} still runs`).toThrow();
      expect(await readFile(`/proc/${component.pid}/cmdline`, "utf8").catch(() => "")).not.toContain(
        dir.path,
      );
    }
    for (const [name, port] of Object.entries(record.ports)) {
      const free = await new Promise<boolean>((resolve) => {
        const server = createServer();
        server.once("error", () => resolve(false));
        server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
      });
      expect(free, `port ${port} (${name}) is still bound`).toBe(true);
    }
    await dir.remove();
  });
});
