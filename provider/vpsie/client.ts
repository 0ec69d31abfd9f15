import { z } from "zod";
import { TokenSource } from "./auth.js";
import { Credentials, credentialsFromEnv, rateLimitFromEnv } from "./credentials.js";
import { VpsieAuthError, VpsieError, VpsieNotFoundError, VpsieOutcomeUnknownError } from "./errors.js";
import {
  type AddedWorker,
  AddedWorkerWire,
  type Cluster,
  type ClusterDetail,
  ClusterDetailWire,
  ClusterWire,
  type Datacenter,
  DatacenterWire,
  type NodeGroup,
  NodeGroupWire,
  type Offer,
  OfferWire,
  type Vm,
  VmWire,
} from "./model.js";
import { Transport, type TransportOptions } from "./transport.js";
import { isWorker, type Worker, type WorkerRef, workerKey, workersOf } from "./workers.js";

const K8S = "/apps/v2/k8s";

export interface VpsieClientOptions extends Omit<TransportOptions, "baseUrl"> {
  credentials: Credentials;
  /** Scheme and host (default https://api.vpsie.com). */
  apiUrl?: string;
  /** SDKs disagree on the VM prefix: `/api/v2/vm` (current SDK, default) or `/apps/v2/vm`. */
  vmPrefix?: string;
  /** How long a deleted worker may stay in the cluster's listing before the delete counts as failed (default 10 min). */
  deleteSettleMs?: number;
}

/** Why a delete did not count as done: VPSie still lists the worker. */
export class VpsieWorkerStillListedError extends VpsieError {
  override name = "VpsieWorkerStillListedError";
}

function parse<S extends z.ZodType>(schema: S, data: unknown, operation: string): z.output<S> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue?.path.length ? `data.${issue.path.join(".")}` : "data";
  throw new VpsieError(
    `VPSie API ${operation} answered an unexpected shape at ${where}: ${issue?.message}`,
    false,
  );
}

/**
 * The one VPSie client: typed calls for managed Kubernetes, VMs and datacenters. Every call goes
 * through the transport's rate limit, retries and circuit breaker; a refused token is renewed and
 * the call tried once more when client credentials allow it.
 */
export class VpsieClient {
  readonly #transport: Transport;
  readonly #tokens: TokenSource;
  readonly #vmPrefix: string;
  readonly #deleteSettleMs: number;

  constructor(options: VpsieClientOptions) {
    const { credentials, apiUrl, vmPrefix, deleteSettleMs, ...transportOptions } = options;
    this.#transport = new Transport({ ...transportOptions, baseUrl: apiUrl ?? "https://api.vpsie.com" });
    this.#tokens = new TokenSource(credentials, this.#transport);
    this.#vmPrefix = vmPrefix ?? "/api/v2/vm";
    this.#deleteSettleMs = deleteSettleMs ?? 10 * 60_000;
  }

  /** A client from VPSIE_API_URL, VPSIE_TOKEN (or VPSIE_CLIENT_ID and VPSIE_CLIENT_SECRET) and VPSIE_API_RATE_LIMIT. */
  static fromEnv(
    env: NodeJS.ProcessEnv = process.env,
    options: Omit<VpsieClientOptions, "credentials" | "apiUrl"> = {},
  ) {
    const { credentials, apiUrl } = credentialsFromEnv(env);
    const rateLimit = options.rateLimit ?? rateLimitFromEnv(env);
    return new VpsieClient({ ...options, ...(rateLimit && { rateLimit }), credentials, apiUrl });
  }

  /** How the token exchange wrote the token's expiry (client credentials only, after the first call). */
  get tokenExpiryFormat() {
    return this.#tokens.lastExpiryFormat;
  }

  /** True while repeated failures keep the client from calling VPSie. */
  get circuitOpen(): boolean {
    return this.#transport.circuitOpen;
  }

  async #call(
    method: "GET" | "POST" | "DELETE",
    path: string,
    json?: unknown,
    idempotent = method !== "POST",
  ): Promise<unknown> {
    const operation = `${method} ${path}`;
    const send = () =>
      this.#transport.send({
        operation,
        method,
        path,
        json,
        idempotent,
        authHeaders: () => this.#tokens.headers(),
      });
    try {
      return await send();
    } catch (err) {
      if (!(err instanceof VpsieAuthError && err.status === 401 && this.#tokens.canRefresh)) throw err;
      this.#tokens.invalidate();
      return send();
    }
  }

  async listClusters(): Promise<Cluster[]> {
    const path = `${K8S}/cluster/all`;
    return parse(z.array(ClusterWire), await this.#call("GET", path), `GET ${path}`);
  }

  /** The cluster with its nodes, or undefined when VPSie does not know it. */
  async getCluster(clusterIdentifier: string): Promise<ClusterDetail | undefined> {
    const path = `${K8S}/cluster/byId/${encodeURIComponent(clusterIdentifier)}`;
    try {
      const data = await this.#call("GET", path);
      return data === false || data === undefined ? undefined : parse(ClusterDetailWire, data, `GET ${path}`);
    } catch (err) {
      if (err instanceof VpsieNotFoundError) return undefined;
      throw err;
    }
  }

  async listNodeGroups(clusterIdentifier: string): Promise<NodeGroup[]> {
    const path = `${K8S}/node/groups/byClusterId/${encodeURIComponent(clusterIdentifier)}`;
    const data = await this.#call("GET", path);
    return data === false ? [] : parse(z.array(NodeGroupWire), data, `GET ${path}`);
  }

  /**
   * Creates a node group of one Kubernetes size. VPSie answers without the new group's id, so the
   * group is found again by its name, which is unique in a cluster; when the answer is lost the request
   * is not sent again, and the listing says whether it was carried out.
   */
  async createNodeGroup(input: {
    clusterIdentifier: string;
    name: string;
    kubeSizeId: number;
  }): Promise<NodeGroup> {
    try {
      await this.#call("POST", `${K8S}/cluster/add/group`, {
        clusterIdentifier: input.clusterIdentifier,
        groupName: input.name,
        KubeSizeID: input.kubeSizeId,
      });
    } catch (err) {
      if (!(err instanceof VpsieOutcomeUnknownError)) throw err;
      const made = (await this.listNodeGroups(input.clusterIdentifier)).find((g) => g.name === input.name);
      if (made) return made;
      throw err;
    }
    const created = (await this.listNodeGroups(input.clusterIdentifier)).find((g) => g.name === input.name);
    if (!created) {
      throw new VpsieError(
        `VPSie accepted node group ${input.name} but does not list it in cluster ${input.clusterIdentifier}`,
        true,
      );
    }
    return created;
  }

  /**
   * Deletes a node group by its uuid; false when it was already gone. A "not found" counts only when
   * the cluster's groups (when `clusterIdentifier` is given) no longer list it.
   */
  async deleteNodeGroup(
    groupIdentifier: string,
    reason: string,
    clusterIdentifier?: string,
  ): Promise<boolean> {
    try {
      await this.#call("DELETE", `${K8S}/cluster/delete/group/${encodeURIComponent(groupIdentifier)}`, {
        deleteStatistic: { reason, note: "vpsie-autoscaler" },
      });
      return true;
    } catch (err) {
      if (!(err instanceof VpsieNotFoundError)) throw err;
      const still =
        clusterIdentifier &&
        (await this.listNodeGroups(clusterIdentifier)).some((g) => g.identifier === groupIdentifier);
      if (still)
        throw new VpsieError(
          `VPSie answered not found for node group ${groupIdentifier} but still lists it in cluster ${clusterIdentifier}`,
          true,
        );
      return false;
    }
  }

  /**
   * Adds one worker to a group (by the group's numeric id). VPSie answers with the new node, or with
   * bare `true`, in which case the result is undefined and the caller discovers the node. Sent at most
   * once: a lost answer is a VpsieOutcomeUnknownError, and the caller looks for the worker instead.
   */
  async addWorker(clusterIdentifier: string, groupId: number): Promise<AddedWorker | undefined> {
    const path = `${K8S}/cluster/byId/${encodeURIComponent(clusterIdentifier)}/add/slave/group/${groupId}`;
    return parse(AddedWorkerWire, await this.#call("POST", path), `POST ${path}`);
  }

  /**
   * The cluster's nodes, each with its VM's uuid and size from the VM list (matched by hostname,
   * without case) when the node listing does not carry them; [] when VPSie does not know the cluster.
   */
  async listWorkers(clusterIdentifier: string): Promise<Worker[]> {
    const cluster = await this.getCluster(clusterIdentifier);
    // "Not found" may be a wrong route as well as a gone cluster: never read it as "no workers".
    if (!cluster)
      throw new VpsieError(
        `VPSie knows no cluster ${clusterIdentifier}: check the node group's cluster with \`vpsie-autoscaler vpsie clusters\``,
        false,
      );
    return workersOf(cluster.nodes, await this.listVms());
  }

  /**
   * Deletes exactly this worker (delete/slave takes the VM's uuid, looked up by hostname when the
   * reference lacks it). Done only when the cluster's listing no longer has it: "not found" is also
   * what VPSie answers for a route that does not exist, so it proves nothing by itself. False when the
   * worker was gone already.
   */
  async deleteWorker(clusterIdentifier: string, worker: string | WorkerRef): Promise<boolean> {
    const ref: WorkerRef = typeof worker === "string" ? { identifier: worker } : worker;
    const listed = () => this.listWorkers(clusterIdentifier).then((all) => all.find((w) => isWorker(ref, w)));
    const before = await listed();
    const identifier = ref.identifier ?? before?.identifier;
    if (!before) return false;
    if (!identifier)
      throw new VpsieError(
        `cannot delete worker ${ref.hostname ?? workerKey(ref)}: VPSie lists no VM of that hostname to give its uuid (run \`vpsie-autoscaler doctor\`)`,
        false,
      );
    const path = `${K8S}/cluster/byId/${encodeURIComponent(clusterIdentifier)}/delete/slave`;
    let answeredNotFound = false;
    try {
      await this.#call("DELETE", path, {
        identifier,
        deleteStatistic: { reason: "removed by vpsie-autoscaler", note: "vpsie-autoscaler" },
      });
    } catch (err) {
      if (!(err instanceof VpsieNotFoundError)) throw err;
      answeredNotFound = true;
    }
    // VPSie may take a while to drop a deleted worker; a "not found" that leaves it listed is a wrong route.
    const deadline =
      Date.now() + (answeredNotFound ? Math.min(30_000, this.#deleteSettleMs) : this.#deleteSettleMs);
    for (;;) {
      // The deletion was accepted: a listing that fails now says nothing about it, and failing the
      // delete for it left a Node resource whose worker was gone (found by the chaos campaign).
      let still: Worker | undefined | "unknown";
      try {
        still = await listed();
      } catch (err) {
        if (!(err instanceof VpsieError && err.retryable) || Date.now() > deadline) throw err;
        still = "unknown";
      }
      if (!still) return true;
      if (still === "unknown") {
        await new Promise((r) => setTimeout(r, 1_000));
        continue;
      }
      if (Date.now() > deadline)
        throw new VpsieWorkerStillListedError(
          `VPSie ${answeredNotFound ? "answered not found for" : "accepted the deletion of"} worker ${still.hostname} but still lists it in cluster ${clusterIdentifier}`,
          true,
        );
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }

  /** Kubernetes sizes ("offers") of a datacenter, with their capacity and prices. */
  async listOffers(dcIdentifier: string): Promise<Offer[]> {
    const path = `${K8S}/offers`;
    // A read, though VPSie wants it as a POST: safe to send again.
    return parse(z.array(OfferWire), await this.#call("POST", path, { dcIdentifier }, true), `POST ${path}`);
  }

  async listVms(): Promise<Vm[]> {
    return parse(z.array(VmWire), await this.#call("GET", this.#vmPrefix), `GET ${this.#vmPrefix}`);
  }

  /** One VM by its uuid, or undefined when VPSie does not know it. */
  async getVm(identifier: string): Promise<Vm | undefined> {
    const path = `${this.#vmPrefix}/${encodeURIComponent(identifier)}`;
    try {
      const data = await this.#call("GET", path);
      if (data === false || data === undefined) return undefined;
      return parse(z.object({ vmData: VmWire }), data, `GET ${path}`).vmData;
    } catch (err) {
      if (err instanceof VpsieNotFoundError) return undefined;
      throw err;
    }
  }

  async listDatacenters(): Promise<Datacenter[]> {
    const path = "/apps/v2/datacenter";
    return parse(z.array(DatacenterWire), await this.#call("GET", path), `GET ${path}`);
  }
}
