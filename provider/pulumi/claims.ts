/**
 * Adding workers so that each add ends with exactly one worker of its own, many at a time.
 *
 * VPSie may answer an add with bare `true`, with the new node, or not at all (a lost answer). So every
 * add takes a listing of the cluster that completed before its request went out (its baseline): the
 * worker it makes cannot be in it. Afterwards it claims a worker that was not in it, that nobody in this
 * process claimed, that is no master, and whose VM has the group's size (one group per size in a
 * cluster). One poller per cluster lists the cluster for all adds waiting, and while adds are under way
 * a new one takes the newest completed listing as its baseline, so N concurrent adds cost N requests
 * and a listing a second, not N listings. An older baseline only widens the candidates to workers of
 * the group's size that appeared meanwhile, and while this process's adds are under way no other update
 * of the group can run (the stack's lock): the newest listing is forgotten when the last add ends, so
 * the next update starts from a listing of its own and never takes a worker another process's update
 * made. A lost answer is never followed by a second add: the worker is looked for all the same, and one
 * that turns up later is adopted by reconciliation (scaler/controller). A group's size is looked up
 * once per process (VPSie cannot change it).
 */
import type { VpsieClient } from "../vpsie/client.js";
import { VpsieError, VpsieOutcomeUnknownError } from "../vpsie/errors.js";
import { isWorker, type Worker, type WorkerRef, workerKey } from "../vpsie/workers.js";

export interface ClaimTimings {
  /** How often waiting adds list the cluster (default 1 s). */
  pollMs: number;
  /** How long a worker VPSie accepted may take to appear (default 10 min, the predecessor's allowance). */
  acceptedTimeoutMs: number;
  /** How long to look for a worker whose add answer was lost (default 3 min). */
  unknownOutcomeTimeoutMs: number;
}

export const defaultClaimTimings: ClaimTimings = {
  pollMs: 1_000,
  acceptedTimeoutMs: 10 * 60_000,
  unknownOutcomeTimeoutMs: 3 * 60_000,
};

interface Waiter {
  kubeSizeId: number;
  group: string;
  baseline: ReadonlySet<string>;
  /** The node VPSie's answer named, when it named one. */
  expected?: WorkerRef;
  outcomeUnknown: boolean;
  /** Listings started after this may show the new worker. */
  answeredAt: number;
  deadline: number;
  resolve: (worker: Worker) => void;
  reject: (err: Error) => void;
}

/** One listing of a cluster's workers; its keys are shared by every add that takes it as baseline. */
interface Listing {
  workers: Worker[];
  keys: ReadonlySet<string>;
}

interface ClusterClaims {
  claimed: Set<string>;
  waiters: Set<Waiter>;
  listing?: Promise<Listing>;
  /** The newest listing that completed while adds were under way. */
  latest?: Listing;
  /** Adds under way, from their baseline to their claim. */
  adding: number;
  polling: boolean;
}

export class WorkerClaims {
  readonly #client: VpsieClient;
  readonly #timings: ClaimTimings;
  readonly #clusters = new Map<string, ClusterClaims>();
  readonly #groupSizes = new Map<string, Promise<number>>();

  constructor(client: VpsieClient, timings: Partial<ClaimTimings> = {}) {
    this.#client = client;
    this.#timings = { ...defaultClaimTimings, ...timings };
  }

  #cluster(identifier: string): ClusterClaims {
    let claims = this.#clusters.get(identifier);
    if (!claims) {
      claims = { claimed: new Set(), waiters: new Set(), adding: 0, polling: false };
      this.#clusters.set(identifier, claims);
    }
    return claims;
  }

  /** The listing under way (its answer is written before anything sent after it), or a new one. */
  #list(cluster: string, claims: ClusterClaims): Promise<Listing> {
    claims.listing ??= this.#client
      .listWorkers(cluster)
      .then((workers) => {
        const listing = { workers, keys: new Set(workers.map(workerKey)) };
        if (claims.adding > 0) claims.latest = listing;
        return listing;
      })
      .finally(() => {
        claims.listing = undefined;
      });
    return claims.listing;
  }

  /** A listing that completed before now: the newest one while adds are under way, else a new one. */
  async #baseline(cluster: string, claims: ClusterClaims): Promise<Listing> {
    return claims.latest ?? this.#list(cluster, claims);
  }

  /** The Kubernetes size of one of the cluster's node groups. */
  groupSize(cluster: string, groupId: number): Promise<number> {
    const key = `${cluster}/${groupId}`;
    let size = this.#groupSizes.get(key);
    if (!size) {
      size = this.#client.listNodeGroups(cluster).then((groups) => {
        const group = groups.find((g) => g.id === groupId);
        if (!group) throw new VpsieError(`VPSie lists no node group ${groupId} in cluster ${cluster}`, false);
        return group.kubeSizeId;
      });
      size.catch(() => this.#groupSizes.delete(key));
      this.#groupSizes.set(key, size);
    }
    return size;
  }

  /**
   * Claims a worker that exists already (one no key holds: an add whose answer was lost, found later),
   * so that no create in this process takes it as its own. Never a master, only the group's size.
   */
  async adoptWorker(cluster: string, ref: WorkerRef, kubeSizeId: number): Promise<Worker> {
    const claims = this.#cluster(cluster);
    const worker = (await this.#list(cluster, claims)).workers.find((w) => isWorker(ref, w));
    if (!worker)
      throw new VpsieError(`the worker to adopt (${ref.hostname ?? workerKey(ref)}) is gone`, false);
    if (worker.role !== "worker" || worker.kubeSizeId !== kubeSizeId)
      throw new VpsieError(`${worker.hostname} is no worker of this group's size: not adopted`, false);
    if (claims.claimed.has(workerKey(worker)))
      throw new VpsieError(`${worker.hostname} was claimed by another node of this process`, false);
    claims.claimed.add(workerKey(worker));
    return worker;
  }

  /** Adds one worker to the group and returns it once it is listed, claimed for this caller alone. */
  async addWorker(
    cluster: string,
    group: { name: string; groupId: number; kubeSizeId: number },
  ): Promise<Worker> {
    const claims = this.#cluster(cluster);
    claims.adding += 1;
    try {
      return await this.#add(cluster, claims, group);
    } finally {
      claims.adding -= 1;
      if (claims.adding === 0) claims.latest = undefined;
    }
  }

  async #add(
    cluster: string,
    claims: ClusterClaims,
    group: { name: string; groupId: number; kubeSizeId: number },
  ): Promise<Worker> {
    const baseline = (await this.#baseline(cluster, claims)).keys;
    let expected: WorkerRef | undefined;
    let outcomeUnknown = false;
    try {
      const added = await this.#client.addWorker(cluster, group.groupId);
      if (added && (added.identifier || added.id !== undefined || added.hostname)) expected = added;
    } catch (err) {
      if (!(err instanceof VpsieOutcomeUnknownError)) throw err;
      outcomeUnknown = true;
    }
    const answeredAt = Date.now();
    return new Promise<Worker>((resolve, reject) => {
      claims.waiters.add({
        kubeSizeId: group.kubeSizeId,
        group: group.name,
        baseline,
        expected,
        outcomeUnknown,
        answeredAt,
        deadline:
          answeredAt +
          (outcomeUnknown ? this.#timings.unknownOutcomeTimeoutMs : this.#timings.acceptedTimeoutMs),
        resolve,
        reject,
      });
      void this.#poll(cluster, claims);
    });
  }

  async #poll(cluster: string, claims: ClusterClaims): Promise<void> {
    if (claims.polling) return;
    claims.polling = true;
    try {
      while (claims.waiters.size > 0) {
        const startedAt = Date.now();
        const workers = (await this.#list(cluster, claims).catch(() => undefined))?.workers;
        for (const waiter of [...claims.waiters].sort((a, b) => a.answeredAt - b.answeredAt)) {
          const found =
            workers && waiter.answeredAt <= startedAt ? this.#match(waiter, workers, claims) : undefined;
          if (found) {
            claims.claimed.add(workerKey(found));
            claims.waiters.delete(waiter);
            waiter.resolve(found);
          } else if (Date.now() > waiter.deadline) {
            claims.waiters.delete(waiter);
            waiter.reject(this.#timeout(waiter, cluster));
          }
        }
        if (claims.waiters.size > 0) await new Promise((r) => setTimeout(r, this.#timings.pollMs));
      }
    } finally {
      claims.polling = false;
    }
  }

  #match(waiter: Waiter, workers: Worker[], claims: ClusterClaims): Worker | undefined {
    return workers.find((worker) => {
      const key = workerKey(worker);
      if (waiter.baseline.has(key) || claims.claimed.has(key) || worker.role === "master") return false;
      if (waiter.expected) return isWorker(waiter.expected, worker);
      return worker.kubeSizeId === waiter.kubeSizeId;
    });
  }

  #timeout(waiter: Waiter, cluster: string): Error {
    const seconds = Math.round((waiter.deadline - waiter.answeredAt) / 1000);
    return waiter.outcomeUnknown
      ? new VpsieError(
          `the answer to adding a worker to ${waiter.group} was lost and no new worker of its size appeared in cluster ${cluster} within ${seconds}s; the request was not sent again (one that appears later is adopted by reconciliation)`,
          false,
        )
      : new VpsieError(
          `VPSie accepted a new worker for ${waiter.group} but it did not appear in cluster ${cluster} within ${seconds}s`,
          false,
        );
  }
}
