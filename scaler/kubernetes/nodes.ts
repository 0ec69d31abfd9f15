/**
 * What the controller does to Node objects: give a registering node its group's labels and taints,
 * and drain a node before its removal (taint it, evict its pods through the Eviction API respecting
 * PodDisruptionBudgets, and untaint it again if the drain fails).
 */
import type { CoreV1Api, V1Node, V1Taint } from "@kubernetes/client-node";
import type { Clock, DrainOutcome, NodeOperations } from "../controller/ports.js";
import type { Pod } from "../decision/types.js";
import { NODE_GROUP_LABEL, TO_BE_DELETED_TAINT } from "../decision/types.js";

function status(err: unknown): number | undefined {
  return (err as { code?: number }).code;
}

/** Read, change, write back; retried when someone else wrote the node in between (409). */
async function updateNode(core: CoreV1Api, name: string, change: (node: V1Node) => boolean): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const node = await core.readNode({ name });
    if (!change(node)) return;
    try {
      await core.replaceNode({ name, body: node });
      return;
    } catch (err) {
      if (status(err) !== 409) throw err;
    }
  }
  throw new Error(`node ${name} kept changing while being updated`);
}

/** Puts the group label, the group's labels and its taints on a node that registered without them. */
export async function applyGroupSettings(
  core: CoreV1Api,
  name: string,
  group: { name: string; labels: Record<string, string>; taints: V1Taint[] },
): Promise<void> {
  await updateNode(core, name, (node) => {
    const labels = { ...node.metadata?.labels, ...group.labels, [NODE_GROUP_LABEL]: group.name };
    const taints = [...(node.spec?.taints ?? [])];
    for (const taint of group.taints)
      if (!taints.some((t) => t.key === taint.key && t.effect === taint.effect)) taints.push(taint);
    node.metadata = { ...node.metadata, labels };
    node.spec = { ...node.spec, taints };
    return true;
  });
}

async function setDrainTaint(core: CoreV1Api, name: string, present: boolean): Promise<void> {
  await updateNode(core, name, (node) => {
    const others = (node.spec?.taints ?? []).filter((t) => t.key !== TO_BE_DELETED_TAINT);
    const has = others.length !== (node.spec?.taints ?? []).length;
    if (has === present) return false;
    node.spec = {
      ...node.spec,
      taints: present
        ? [
            ...others,
            { key: TO_BE_DELETED_TAINT, value: String(Math.floor(Date.now() / 1000)), effect: "NoSchedule" },
          ]
        : others,
    };
    return true;
  });
}

export interface DrainOptions {
  /** How long a pod's eviction is retried while a PodDisruptionBudget refuses it (CA: max-pod-eviction-time, 2 min). */
  evictionTimeoutMs: number;
  /** How long evicted pods may take to go. */
  terminationTimeoutMs: number;
  /** The longest termination grace a pod gets during a drain (CA: max-graceful-termination-sec, 600). */
  maxGracefulTerminationSeconds: number;
}

export const defaultDrainOptions: DrainOptions = {
  evictionTimeoutMs: 120_000,
  terminationTimeoutMs: 660_000,
  maxGracefulTerminationSeconds: 600,
};

/** Drains the node of `pods`; on failure the taint comes off again and the reason comes back. */
export async function drainNode(
  core: CoreV1Api,
  name: string,
  pods: Pod[],
  options: DrainOptions,
  clock: Pick<Clock, "now" | "sleep">,
): Promise<DrainOutcome> {
  await setDrainTaint(core, name, true);
  let evicted = 0;
  try {
    for (const pod of pods) {
      const deadline = clock.now() + options.evictionTimeoutMs;
      // CA caps a pod's termination grace during a drain (max-graceful-termination-sec, 600 s).
      const current = await core
        .readNamespacedPod({ name: pod.name, namespace: pod.namespace })
        .catch(() => undefined);
      const grace = Math.min(
        current?.spec?.terminationGracePeriodSeconds ?? 30,
        options.maxGracefulTerminationSeconds,
      );
      for (;;) {
        try {
          await core.createNamespacedPodEviction({
            name: pod.name,
            namespace: pod.namespace,
            body: {
              metadata: { name: pod.name, namespace: pod.namespace },
              deleteOptions: { gracePeriodSeconds: grace },
            },
          });
          evicted++;
          break;
        } catch (err) {
          if (status(err) === 404) break;
          if (status(err) !== 429) throw err;
          if (clock.now() > deadline) {
            throw new Error(
              `evicting ${pod.namespace}/${pod.name} was refused for ${options.evictionTimeoutMs / 1000}s: a PodDisruptionBudget allows no disruption`,
              { cause: err },
            );
          }
          await clock.sleep(2_000);
        }
      }
    }
    const gone = clock.now() + options.terminationTimeoutMs;
    for (const pod of pods) {
      for (;;) {
        const still = await core
          .readNamespacedPod({ name: pod.name, namespace: pod.namespace })
          .catch((err: unknown) => {
            if (status(err) === 404) return undefined;
            throw err;
          });
        if (!still || still.spec?.nodeName !== name) break;
        if (clock.now() > gone) throw new Error(`pod ${pod.namespace}/${pod.name} did not terminate in time`);
        await clock.sleep(500);
      }
    }
    return { drained: true, evicted };
  } catch (err) {
    await setDrainTaint(core, name, false).catch(() => undefined);
    return { drained: false, reason: (err as Error).message };
  }
}

/** The scaler's operations on Nodes, through the Kubernetes API. */
export class KubernetesNodes implements NodeOperations {
  readonly #core: CoreV1Api;
  readonly #drain: DrainOptions;
  readonly #clock: Clock;

  constructor(core: CoreV1Api, drain: Partial<DrainOptions>, clock: Clock) {
    this.#core = core;
    this.#drain = { ...defaultDrainOptions, ...drain };
    this.#clock = clock;
  }

  label(node: string, group: { name: string; labels: Record<string, string>; taints: V1Taint[] }) {
    return applyGroupSettings(this.#core, node, group);
  }

  drain(node: string, pods: Pod[]): Promise<DrainOutcome> {
    return drainNode(this.#core, node, pods, this.#drain, this.#clock);
  }

  async untaint(node: string): Promise<void> {
    await setDrainTaint(this.#core, node, false);
  }

  async remove(node: string): Promise<void> {
    await this.#core.deleteNode({ name: node });
  }
}
