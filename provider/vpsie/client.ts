import { z } from "zod";
import { TokenSource } from "./auth.js";
import { Credentials, credentialsFromEnv } from "./credentials.js";
import { VpsieAuthError, VpsieError, VpsieNotFoundError } from "./errors.js";
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

const K8S = "/apps/v2/k8s";

export interface VpsieClientOptions extends Omit<TransportOptions, "baseUrl"> {
  credentials: Credentials;
  /** Scheme and host (default https://api.vpsie.com). */
  apiUrl?: string;
  /** SDKs disagree on the VM prefix: `/api/v2/vm` (current SDK, default) or `/apps/v2/vm`. */
  vmPrefix?: string;
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

  constructor(options: VpsieClientOptions) {
    const { credentials, apiUrl, vmPrefix, ...transportOptions } = options;
    this.#transport = new Transport({ ...transportOptions, baseUrl: apiUrl ?? "https://api.vpsie.com" });
    this.#tokens = new TokenSource(credentials, this.#transport);
    this.#vmPrefix = vmPrefix ?? "/api/v2/vm";
  }

  /** A client from VPSIE_API_URL and VPSIE_TOKEN (or VPSIE_CLIENT_ID and VPSIE_CLIENT_SECRET). */
  static fromEnv(
    env: NodeJS.ProcessEnv = process.env,
    options: Omit<VpsieClientOptions, "credentials" | "apiUrl"> = {},
  ) {
    const { credentials, apiUrl } = credentialsFromEnv(env);
    return new VpsieClient({ ...options, credentials, apiUrl });
  }

  /** True while repeated failures keep the client from calling VPSie. */
  get circuitOpen(): boolean {
    return this.#transport.circuitOpen;
  }

  async #call(method: "GET" | "POST" | "DELETE", path: string, json?: unknown): Promise<unknown> {
    const operation = `${method} ${path}`;
    const send = () =>
      this.#transport.send({ operation, method, path, json, authHeaders: () => this.#tokens.headers() });
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
   * group is found again by its name, which is unique in a cluster.
   */
  async createNodeGroup(input: {
    clusterIdentifier: string;
    name: string;
    kubeSizeId: number;
  }): Promise<NodeGroup> {
    await this.#call("POST", `${K8S}/cluster/add/group`, {
      clusterIdentifier: input.clusterIdentifier,
      groupName: input.name,
      KubeSizeID: input.kubeSizeId,
    });
    const created = (await this.listNodeGroups(input.clusterIdentifier)).find((g) => g.name === input.name);
    if (!created) {
      throw new VpsieError(
        `VPSie accepted node group ${input.name} but does not list it in cluster ${input.clusterIdentifier}`,
        true,
      );
    }
    return created;
  }

  /** Deletes a node group by its uuid; false when it was already gone. */
  async deleteNodeGroup(groupIdentifier: string, reason: string): Promise<boolean> {
    return this.#deleteTolerant(`${K8S}/cluster/delete/group/${encodeURIComponent(groupIdentifier)}`, {
      deleteStatistic: { reason, note: "vpsie-autoscaler" },
    });
  }

  /**
   * Adds one worker to a group (by the group's numeric id). VPSie answers with the new node, or with
   * bare `true`, in which case the result is undefined and the caller discovers the node.
   */
  async addWorker(clusterIdentifier: string, groupId: number): Promise<AddedWorker | undefined> {
    const path = `${K8S}/cluster/byId/${encodeURIComponent(clusterIdentifier)}/add/slave/group/${groupId}`;
    return parse(AddedWorkerWire, await this.#call("POST", path), `POST ${path}`);
  }

  /** Deletes exactly the worker with this uuid; false when it was already gone. */
  async deleteWorker(clusterIdentifier: string, nodeIdentifier: string): Promise<boolean> {
    return this.#deleteTolerant(`${K8S}/cluster/byId/${encodeURIComponent(clusterIdentifier)}/delete/slave`, {
      identifier: nodeIdentifier,
    });
  }

  /** Kubernetes sizes ("offers") of a datacenter, with their capacity and prices. */
  async listOffers(dcIdentifier: string): Promise<Offer[]> {
    const path = `${K8S}/offers`;
    return parse(z.array(OfferWire), await this.#call("POST", path, { dcIdentifier }), `POST ${path}`);
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

  async #deleteTolerant(path: string, body: unknown): Promise<boolean> {
    try {
      await this.#call("DELETE", path, body);
      return true;
    } catch (err) {
      if (err instanceof VpsieNotFoundError) return false;
      throw err;
    }
  }
}
