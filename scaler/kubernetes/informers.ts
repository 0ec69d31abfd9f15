/**
 * The cluster as informers see it: Nodes, Pods and PodDisruptionBudgets, cached from a list and kept
 * current by watches. The controller acts only while every cache has synced and no watch has failed
 * since its last relist; `snapshot()` says which one is not ready otherwise.
 *
 * Each object is read into the decision core's types once, when it arrives, and the informer keeps only
 * its identity (name, namespace, resource version, which it needs to tell changes and deletions apart).
 * Planning then takes the parsed objects as they are: at 1,000 nodes and 30,000 pods, converting and
 * validating every object on every loop, and keeping the API's full objects, cost most of the scaler's
 * CPU and memory (npm run bench:scale).
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

type Cache = Informer<KubernetesObject> & ObjectCache<KubernetesObject>;

type Parsed = Node | Pod | PodDisruptionBudget;

interface Watched {
  name: string;
  kind: "Node" | "Pod" | "PodDisruptionBudget";
  informer: Cache;
  parse: (item: unknown, where: string) => Parsed;
  /** The parsed objects, by namespace/name. */
  objects: Map<string, Parsed>;
  synced: boolean;
  failure?: string;
}

const keyOf = (object: KubernetesObject) =>
  `${object.metadata?.namespace ?? ""}/${object.metadata?.name ?? ""}`;

interface Page {
  items: KubernetesObject[];
  metadata?: { _continue?: string; resourceVersion?: string };
}

/**
 * Lists in pages of 500, as client-go's informers do, so a large cluster's first list is many small
 * answers rather than one of hundreds of megabytes; the watch starts from the last page's version.
 */
function paged(list: (page: { limit: number; _continue?: string }) => Promise<Page>) {
  return async (): Promise<Page> => {
    const items: KubernetesObject[] = [];
    let page: Page;
    let _continue: string | undefined;
    do {
      page = await list({ limit: 500, _continue });
      items.push(...page.items);
      _continue = page.metadata?._continue || undefined;
    } while (_continue);
    return { items, metadata: { resourceVersion: page.metadata?.resourceVersion } };
  };
}

/** All the informer needs to keep of an object once it has been read. */
function keepIdentity(object: KubernetesObject): void {
  const { name, namespace, resourceVersion, uid } = object.metadata ?? {};
  for (const key of Object.keys(object))
    if (key !== "metadata") delete (object as Record<string, unknown>)[key];
  object.metadata = { name, namespace, resourceVersion, uid };
}

/** The informer's typed objects back to the API's JSON, with their kind (list items carry none). */
function plain(object: KubernetesObject, kind: string): unknown {
  return { ...(JSON.parse(JSON.stringify(object)) as object), kind };
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
      kind: Watched["kind"],
      path: string,
      list: () => Promise<{ items: KubernetesObject[] }>,
      parse: Watched["parse"],
    ): Watched => ({
      name,
      kind,
      informer: makeInformer<KubernetesObject>(kubeconfig, path, list),
      parse,
      objects: new Map(),
      synced: false,
    });
    this.#watched = [
      watch(
        "nodes",
        "Node",
        "/api/v1/nodes",
        paged((p) => core.listNode(p)),
        nodeFromKubernetes,
      ),
      watch(
        "pods",
        "Pod",
        "/api/v1/pods",
        paged((p) => core.listPodForAllNamespaces(p)),
        podFromKubernetes,
      ),
      watch(
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        "/apis/policy/v1/poddisruptionbudgets",
        paged((p) => policy.listPodDisruptionBudgetForAllNamespaces(p)),
        pdbFromKubernetes,
      ),
    ];
    for (const w of this.#watched) {
      for (const verb of ["add", "update"] as const) w.informer.on(verb, (object) => this.#read(w, object));
      w.informer.on("delete", (object) => void w.objects.delete(keyOf(object)));
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

  /** Reads an object that arrived or changed, and leaves the informer only its identity. */
  #read(w: Watched, object: KubernetesObject): void {
    const key = keyOf(object);
    const where = `${w.kind} ${key.startsWith("/") ? key.slice(1) : key}`;
    try {
      const parsed = w.parse(plain(object, w.kind), where);
      w.objects.set(key, parsed);
      if (w.kind === "Pod" && (parsed as Pod).unschedulableSince !== undefined && !(parsed as Pod).nodeName)
        for (const listener of this.#listeners) listener();
    } catch (err) {
      w.objects.delete(key);
      this.#log(`ignoring ${where}: ${(err as Error).message}`);
    }
    keepIdentity(object);
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

  /** The decision core's view of the cluster; objects that could not be read were left out and logged. */
  snapshot(): Snapshot {
    const of = <T extends Parsed>(kind: Watched["kind"]) =>
      [...(this.#watched.find((w) => w.kind === kind)?.objects.values() ?? [])] as T[];
    return {
      nodes: of<Node>("Node"),
      pods: of<Pod>("Pod"),
      pdbs: of<PodDisruptionBudget>("PodDisruptionBudget"),
    };
  }
}
