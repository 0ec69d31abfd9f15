import { AppsV1Api, CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { eventually } from "./cluster.js";

/** The load the scale tests create: a Deployment "web" in default whose pods each request `cpu` and 1Gi. */
export async function deployWeb(kubeconfig: KubeConfig, replicas = 3, cpu = "1500m"): Promise<void> {
  await kubeconfig.makeApiClient(AppsV1Api).createNamespacedDeployment({
    namespace: "default",
    body: {
      metadata: { name: "web" },
      spec: {
        replicas,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: {
            containers: [{ name: "web", image: "nginx", resources: { requests: { cpu, memory: "1Gi" } } }],
          },
        },
      },
    },
  });
}

/** Waits until all `count` pods of "web" run. */
export async function webRunning(kubeconfig: KubeConfig, count: number, timeoutMs = 90_000) {
  const core = kubeconfig.makeApiClient(CoreV1Api);
  return eventually(
    `all ${count} pods of web Running`,
    async () => {
      const pods = (await core.listNamespacedPod({ namespace: "default", labelSelector: "app=web" })).items;
      return pods.length === count && pods.every((p) => p.status?.phase === "Running") ? pods : undefined;
    },
    timeoutMs,
  );
}
