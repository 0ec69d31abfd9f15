/**
 * Reconciliation, what Karpenter's garbage collection and cluster-autoscaler's cleanup of unregistered
 * nodes do here: a worker of a managed group that no key holds (an add whose answer was lost and whose
 * worker turned up after its create gave up, a worker someone added by hand) bills all the same, so
 * past a grace period it is adopted into a key, through the apply layer: a Pulumi update whose message
 * says why. A Kubernetes Node of a managed group whose worker is gone is deleted. Never a master (only
 * nodes positively known as workers), never a group the scaler does not manage, and nothing at all from
 * a listing that failed.
 */
import type { VpsieClient } from "../../provider/vpsie/client.js";
import { sameHost, type Worker, workerKey } from "../../provider/vpsie/workers.js";
import type { NodeGroupConfig } from "../../stacks/contract.js";
import { formatDuration } from "../units/durations.js";
import { NODE_GROUP_LABEL, type Node } from "../decision/types.js";
import type { ApplyLayer, Clock, Log } from "./ports.js";

export interface Reconciliation {
  adopt: Array<{ group: string; worker: Worker; reason: string }>;
  /** Kubernetes Nodes whose worker is gone. */
  goneNodes: Array<{ node: string; group: string }>;
}

export interface ReconcilerOptions {
  client: Pick<VpsieClient, "listWorkers">;
  apply: Pick<ApplyLayer, "nodeNames">;
  clock: Clock;
  log: Log;
  /** How long a worker may go unclaimed, or a Node without its worker, before it is dealt with (default 10 min). */
  graceMs?: number;
}

export class Reconciler {
  readonly #o: ReconcilerOptions;
  readonly #grace: number;
  /** When each unclaimed worker, and each Node without a worker, was first seen so. */
  readonly #since = new Map<string, number>();

  constructor(options: ReconcilerOptions) {
    this.#o = options;
    this.#grace = options.graceMs ?? 10 * 60_000;
  }

  #age(key: string, now: number, createdOn?: string): number {
    const created = createdOn ? Date.parse(createdOn) : Number.NaN;
    if (!this.#since.has(key)) this.#since.set(key, Number.isFinite(created) ? created : now);
    return now - (this.#since.get(key) ?? now);
  }

  /** What to adopt and which Nodes to delete, for the groups with no action under way. */
  async reconcile(
    configs: NodeGroupConfig[],
    busy: ReadonlySet<string>,
    nodes: Node[],
  ): Promise<Reconciliation> {
    const result: Reconciliation = { adopt: [], goneNodes: [] };
    const now = this.#o.clock.now();
    const seen = new Set<string>();
    for (const cluster of new Set(configs.map((c) => c.cluster))) {
      let workers: Worker[];
      try {
        workers = await this.#o.client.listWorkers(cluster);
      } catch (err) {
        this.#o.log("warn", `reconciliation skipped for cluster ${cluster}: ${(err as Error).message}`);
        continue;
      }
      for (const config of configs.filter((c) => c.cluster === cluster && !busy.has(c.name))) {
        const held = Object.values(await this.#o.apply.nodeNames(config.name));
        for (const worker of workers) {
          if (worker.role !== "worker" || worker.kubeSizeId !== config.kubeSizeId) continue;
          if (held.some((h) => sameHost(h, worker.hostname))) continue;
          const key = `worker ${workerKey(worker)}`;
          seen.add(key);
          const age = this.#age(key, now, worker.createdOn);
          if (age < this.#grace) continue;
          result.adopt.push({
            group: config.name,
            worker,
            reason: `worker ${worker.hostname} of ${config.name}'s size has had no key for ${formatDuration(age)}: adopted, so it is accounted for (and removed by scale-down if unneeded)`,
          });
        }
        for (const node of nodes.filter((n) => n.labels[NODE_GROUP_LABEL] === config.name)) {
          if (workers.some((w) => sameHost(w.hostname, node.name))) continue;
          const key = `node ${node.name}`;
          seen.add(key);
          if (this.#age(key, now) >= this.#grace)
            result.goneNodes.push({ node: node.name, group: config.name });
        }
      }
    }
    for (const key of this.#since.keys()) if (!seen.has(key)) this.#since.delete(key);
    return result;
  }
}
