/**
 * The emulator's join hook: what a VPSie worker does when it boots, for a local cluster. When a
 * worker is running (and its join delay has passed), a Kubernetes Node named after its hostname, lower
 * case as a kubelet registers it, is created with the capacity of its size and the annotation that lets
 * kwok keep it Ready; when the worker is deleted, so is the Node.
 */
import { CoreV1Api, KubeConfig, type V1Node } from "@kubernetes/client-node";
import type { World, Cluster, WorkerNode } from "./world.js";

/** kwok manages the nodes that carry this annotation (see the control plane's kwok flags). */
export const KWOK_ANNOTATION = "kwok.x-k8s.io/node";
export const EMULATED_LABEL = "vpsie.com/emulated";

/** The Node name a worker's kubelet registers: its hostname in lower case (Node names are DNS names). */
export function nodeNameOf(worker: WorkerNode): string {
  return worker.hostname.toLowerCase();
}

export function nodeObject(world: World, cluster: Cluster, worker: WorkerNode): V1Node {
  const group = cluster.groups.find((g) => g.id === worker.groupId);
  const size = world.offers(cluster.dcIdentifier).find((o) => o.id === group?.kubeSizeId);
  const capacity = {
    cpu: String(size?.cpu ?? 2),
    memory: `${size?.ramMb ?? 4096}Mi`,
    "ephemeral-storage": `${size?.diskGb ?? 80}Gi`,
    pods: "110",
  };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: nodeNameOf(worker),
      annotations: { [KWOK_ANNOTATION]: "fake" },
      labels: {
        [EMULATED_LABEL]: "true",
        "kubernetes.io/hostname": nodeNameOf(worker),
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "node.kubernetes.io/instance-type": size?.name ?? "unknown",
      },
    },
    spec: { providerID: `vpsie://${worker.identifier}` },
    status: { capacity, allocatable: capacity },
  };
}

export function attachJoinHook(world: World, kubeconfigPath: string, log: (message: string) => void): void {
  const kubeconfig = new KubeConfig();
  kubeconfig.loadFromFile(kubeconfigPath);
  const core = kubeconfig.makeApiClient(CoreV1Api);

  const retrying = (what: string, action: () => Promise<unknown>, attempt = 1): void => {
    action().then(
      () => log(`join hook: ${what}`),
      (err: unknown) => {
        const status = (err as { code?: number }).code;
        if (status === 409 || status === 404) return; // already there, or already gone
        if (attempt >= 5) {
          log(`join hook: giving up on ${what}: ${(err as Error).message}`);
          return;
        }
        setTimeout(() => retrying(what, action, attempt + 1), 500 * 2 ** attempt);
      },
    );
  };

  const joining = new Map<string, NodeJS.Timeout>();
  world.events.onWorkerRunning = (cluster, worker) => {
    if (worker.nodeType !== "slave") return;
    const { joinDelayMs, joinJitterMs } = world.config.behaviour;
    const join = () => {
      joining.delete(worker.identifier);
      retrying(`registered Node ${nodeNameOf(worker)}`, () =>
        core.createNode({ body: nodeObject(world, cluster, worker) }),
      );
    };
    const delay = joinDelayMs + Math.floor(Math.random() * joinJitterMs);
    if (delay === 0) join();
    else joining.set(worker.identifier, setTimeout(join, delay).unref());
  };
  world.events.onWorkerDeleted = (_cluster, worker) => {
    clearTimeout(joining.get(worker.identifier));
    joining.delete(worker.identifier);
    retrying(`deleted Node ${nodeNameOf(worker)}`, () => core.deleteNode({ name: nodeNameOf(worker) }));
  };
}
