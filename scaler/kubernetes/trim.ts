/**
 * What the informers keep of each object: what planning and draining read (decision/fromKubernetes.ts),
 * not the bulk a real cluster's objects carry — managed fields on everything, a node's image list and
 * attached volumes, a pod's container statuses, environment, commands, probes and mounts. At 1,000 nodes
 * and 30,000 pods that bulk is most of the scaler's memory. The informer caches the very object it hands
 * its handlers, so trimming it in the add and update handlers trims the cache.
 */

type Loose = Record<string, unknown>;

const CONTAINER_KEEP = ["name", "resources", "ports", "restartPolicy"];
const NODE_STATUS_KEEP = ["allocatable", "capacity", "conditions"];
const POD_STATUS_KEEP = ["phase", "startTime", "conditions"];

function keepOnly(object: Loose, keys: readonly string[]): void {
  for (const key of Object.keys(object)) if (!keys.includes(key)) delete object[key];
}

function trimContainers(containers: unknown): void {
  if (!Array.isArray(containers)) return;
  for (const container of containers as Loose[]) {
    keepOnly(container, CONTAINER_KEEP);
    const resources = container.resources as Loose | undefined;
    if (resources) keepOnly(resources, ["requests"]);
  }
}

/** Trims the object in place, and returns it. */
export function trimForPlanning<T extends object>(kind: string, object: T): T {
  const o = object as Loose;
  const metadata = o.metadata as Loose | undefined;
  if (metadata) delete metadata.managedFields;
  const spec = o.spec as Loose | undefined;
  const status = o.status as Loose | undefined;
  if (kind === "Node" && status) keepOnly(status, NODE_STATUS_KEEP);
  if (kind === "Pod") {
    if (spec) {
      trimContainers(spec.containers);
      trimContainers(spec.initContainers);
      delete spec.ephemeralContainers;
    }
    if (status) keepOnly(status, POD_STATUS_KEEP);
  }
  return object;
}
