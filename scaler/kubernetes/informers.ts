/**
 * The cluster as informers see it: Nodes, Pods and PodDisruptionBudgets, cached from a list and kept
 * current by watches. The controller acts only while every cache has synced and no watch has failed
 * since its last relist; `snapshot()` says which one is not ready otherwise.
 */
import {
  CoreV1Api,
  type KubeConfig,
  type KubernetesObject,
  makeInformer,
  PolicyV1Api,
  type Informer,
  type ObjectCache,
} from "@kubernetes/client-node";
import type { ClusterSource } from "../controller/ports.js";
import { nodeFromKubernetes, pdbFromKubernetes, podFromKubernetes } from "../decision/fromKubernetes.js";
import type { Node, Pod, PodDisruptionBudget, Snapshot } from "../decision/types.js";
import { trimForPlanning } from "./trim.js";

type Cache = Informer<KubernetesObject> & ObjectCache<KubernetesObject>;

interface Watched {
  name: string;
  kind: string;
  informer: Cache;
  synced: boolean;
  failure?: string;
}

/** The informer's typed objects back to the API's JSON, with their kind (list items carry none). */
function plain(object: KubernetesObject, kind: string): unknown {
  return { ...(JSON.parse(JSON.stringify(object)) as object), kind };
}

/** A pod the scheduler marked PodScheduled=False/Unschedulable. */
function unschedulable(object: KubernetesObject): boolean {
  const conditions = (object as { status?: { conditions?: Array<{ type: string; reason?: string }> } }).status
    ?.conditions;
  return conditions?.some((c) => c.type === "PodScheduled" && c.reason === "Unschedulable") ?? false;
}

export class InformerClusterSource implements ClusterSource {
  readonly #watched: Watched[];
  readonly #log: (message: string) => void;
  readonly #listeners: Array<() => void> = [];
  #stopped = false;

  constructor(kubeconfig: KubeConfig, log: (message: string) => void) {
    this.#log = log;
    const core = kubeconfig.makeApiClient(CoreV1Api);
    const policy = kubeconfig.makeApiClient(PolicyV1Api);
    const watch = (
      name: string,
      kind: string,
      path: string,
      list: () => Promise<{ items: KubernetesObject[] }>,
    ) =>
      ({
        name,
        kind,
        informer: makeInformer<KubernetesObject>(kubeconfig, path, list),
        synced: false,
      }) satisfies Watched;
    this.#watched = [
      watch("nodes", "Node", "/api/v1/nodes", () => core.listNode()),
      watch("pods", "Pod", "/api/v1/pods", () => core.listPodForAllNamespaces()),
      watch("poddisruptionbudgets", "PodDisruptionBudget", "/apis/policy/v1/poddisruptionbudgets", () =>
        policy.listPodDisruptionBudgetForAllNamespaces(),
      ),
    ];
    for (const w of this.#watched) {
      for (const verb of ["add", "update"] as const)
        w.informer.on(verb, (object) => void trimForPlanning(w.kind, object));
      if (w.kind === "Pod") {
        for (const verb of ["add", "update"] as const) {
          w.informer.on(verb, (object) => {
            if (unschedulable(object)) for (const listener of this.#listeners) listener();
          });
        }
      }
      w.informer.on("error", (err) => {
        if (this.#stopped) return;
        // Until the relist, the cache may miss changes: nothing is decided from it meanwhile.
        w.synced = false;
        w.failure = String((err as Error)?.message ?? err);
        this.#log(`watch of ${w.name} failed (${w.failure}); relisting in 2s`);
        setTimeout(() => void this.#start(w), 2_000);
      });
      w.informer.on("connect", () => {
        if (w.failure) this.#log(`watch of ${w.name} is back`);
      });
    }
  }

  async #start(w: Watched): Promise<void> {
    if (this.#stopped) return;
    try {
      await w.informer.start();
      w.synced = true;
      w.failure = undefined;
    } catch (err) {
      w.failure = (err as Error).message;
      this.#log(`listing ${w.name} failed (${w.failure}); retrying in 2s`);
      setTimeout(() => void this.#start(w), 2_000);
    }
  }

  onUnschedulable(listener: () => void): void {
    this.#listeners.push(listener);
  }

  async start(): Promise<void> {
    await Promise.all(this.#watched.map((w) => this.#start(w)));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#watched.map((w) => w.informer.stop()));
  }

  /** Why the caches cannot be trusted now, or undefined when they can. */
  notReady(): string | undefined {
    const unsynced = this.#watched.filter((w) => !w.synced);
    if (unsynced.length === 0) return undefined;
    return unsynced
      .map((w) => `${w.name} ${w.failure ? `watch failed (${w.failure})` : "not synced yet"}`)
      .join(", ");
  }

  /** The decision core's view of the cluster; objects that cannot be read are left out and logged. */
  snapshot(): Snapshot {
    const read = <T>(kind: string, parse: (item: unknown, where: string) => T): T[] => {
      const w = this.#watched.find((x) => x.kind === kind) as Watched;
      return w.informer.list().flatMap((object) => {
        const where = `${kind} ${object.metadata?.namespace ? `${object.metadata.namespace}/` : ""}${object.metadata?.name ?? "?"}`;
        try {
          return [parse(plain(object, kind), where)];
        } catch (err) {
          this.#log(`ignoring ${where}: ${(err as Error).message}`);
          return [];
        }
      });
    };
    return {
      nodes: read<Node>("Node", nodeFromKubernetes),
      pods: read<Pod>("Pod", podFromKubernetes),
      pdbs: read<PodDisruptionBudget>("PodDisruptionBudget", pdbFromKubernetes),
    };
  }
}
