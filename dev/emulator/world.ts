/**
 * The emulator's world: accounts, clusters, node groups and nodes, with the rules VPSie enforces
 * (one group per size in a cluster, per-account worker limits, asynchronous provisioning). Plain data
 * that survives a restart through a JSON file.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { readFile, rename, writeFile } from "node:fs/promises";
import type { EmulatorConfig } from "./config.js";

export type NodeStatus = "provisioning" | "running";

export interface WorkerNode {
  id: number;
  identifier: string;
  hostname: string;
  defaultIp: string;
  privateIp: string;
  nodeType: "master" | "slave";
  /** Numeric id of the node group; masters have none. */
  groupId?: number;
  status: NodeStatus;
  createdOn: string;
  /** When provisioning ends (epoch ms); absent once running, or when it never will. */
  readyAt?: number;
}

export interface Group {
  id: number;
  identifier: string;
  name: string;
  kubeSizeId: number;
  createdOn: string;
}

export interface Cluster {
  identifier: string;
  name: string;
  account: string;
  dcIdentifier: string;
  kubeVersion: string;
  createdOn: string;
  groups: Group[];
  nodes: WorkerNode[];
}

export interface IssuedToken {
  account: string;
  expiresAt: number;
}

export interface WorldData {
  nextId: number;
  clusters: Cluster[];
  issuedTokens: Record<string, IssuedToken>;
}

/** A refusal in VPSie's words; the server turns it into the error envelope. */
export class WorldError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface WorldEvents {
  onWorkerRunning?: (cluster: Cluster, node: WorkerNode) => void;
  onWorkerDeleted?: (cluster: Cluster, node: WorkerNode) => void;
}

function slug(length: number): string {
  return randomBytes(length).toString("hex").slice(0, length);
}

export class World {
  readonly data: WorldData;
  readonly config: EmulatorConfig;
  readonly #stateFile?: string;
  readonly #now: () => number;
  events: WorldEvents = {};

  private constructor(
    config: EmulatorConfig,
    data: WorldData,
    stateFile: string | undefined,
    now: () => number,
  ) {
    this.config = config;
    this.data = data;
    this.#stateFile = stateFile;
    this.#now = now;
  }

  /** The world from the state file when it exists, else seeded from the configuration. */
  static async open(
    config: EmulatorConfig,
    stateFile?: string,
    now: () => number = Date.now,
  ): Promise<World> {
    if (stateFile) {
      const text = await readFile(stateFile, "utf8").catch(() => undefined);
      if (text !== undefined) return new World(config, JSON.parse(text) as WorldData, stateFile, now);
    }
    const world = new World(config, { nextId: 1000, clusters: [], issuedTokens: {} }, stateFile, now);
    for (const seed of config.clusters) {
      const cluster: Cluster = {
        identifier: seed.identifier,
        name: seed.name,
        account: seed.account,
        dcIdentifier: seed.dcIdentifier,
        kubeVersion: seed.kubeVersion,
        createdOn: new Date(now()).toISOString(),
        groups: [],
        nodes: [],
      };
      world.data.clusters.push(cluster);
      cluster.nodes.push(world.#newNode(cluster, "master", undefined, "running"));
      for (const group of seed.groups) {
        const created = world.createGroup(cluster.account, cluster.identifier, group.name, group.kubeSizeId);
        for (let i = 0; i < group.workers; i++) world.#addNode(cluster, created, "running");
      }
    }
    await world.save();
    return world;
  }

  async save(): Promise<void> {
    if (!this.#stateFile) return;
    const temp = `${this.#stateFile}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify(this.data, null, 2));
    await rename(temp, this.#stateFile);
  }

  #nextId(): number {
    return this.data.nextId++;
  }

  /**
   * A worker's hostname, unique in its cluster as a Node name must be: four hex digits collide among 61
   * workers about once in 35 clusters, which made two workers one in the exactly-once tests' eyes.
   */
  #slaveName(cluster: Cluster, base: string): string {
    for (;;) {
      const name = `${base}-slave-${slug(4)}`;
      if (!cluster.nodes.some((n) => n.hostname.toLowerCase() === name.toLowerCase())) return name;
    }
  }

  #newNode(
    cluster: Cluster,
    nodeType: "master" | "slave",
    group: Group | undefined,
    status: NodeStatus,
  ): WorkerNode {
    const id = this.#nextId();
    // The only real hostnames quoted are mixed case (HEL-Kubernetes-49ab-…): the evidence profile keeps the case.
    const base = this.config.behaviour.profile === "evidence" ? cluster.name : cluster.name.toLowerCase();
    return {
      id,
      identifier: randomUUID(),
      hostname:
        nodeType === "master"
          ? `${cluster.name}-master-main.${id}.k8s.vpsie.net`
          : this.#slaveName(cluster, base),
      defaultIp: `10.${(id >> 16) & 255}.${(id >> 8) & 255}.${id & 255}`,
      privateIp: `192.168.${(id >> 8) & 255}.${id & 255}`,
      nodeType,
      groupId: group?.id,
      status,
      createdOn: new Date(this.#now()).toISOString(),
    };
  }

  #addNode(cluster: Cluster, group: Group, status: NodeStatus): WorkerNode {
    const node = this.#newNode(cluster, "slave", group, status);
    const { provisionNeverCompletes, provisionDelayMs, provisionJitterMs } = this.config.behaviour;
    if (status === "provisioning" && !provisionNeverCompletes) {
      node.readyAt = this.#now() + provisionDelayMs + Math.floor(Math.random() * provisionJitterMs);
    }
    cluster.nodes.push(node);
    return node;
  }

  /** Moves workers whose provisioning time has passed to `running`; true when anything changed. */
  advance(): boolean {
    const now = this.#now();
    let changed = false;
    for (const cluster of this.data.clusters) {
      for (const node of cluster.nodes) {
        if (node.status === "provisioning" && node.readyAt !== undefined && node.readyAt <= now) {
          node.status = "running";
          delete node.readyAt;
          changed = true;
          this.events.onWorkerRunning?.(cluster, node);
        }
      }
    }
    return changed;
  }

  accountOfToken(token: string): string | undefined {
    const configured = this.config.accounts.find((a) => a.tokens.includes(token));
    if (configured) return configured.name;
    const issued = this.data.issuedTokens[token];
    return issued && issued.expiresAt > this.#now() ? issued.account : undefined;
  }

  issueToken(clientId: string, clientSecret: string): { token: string; expiresAt: number } | undefined {
    const account = this.config.accounts.find((a) =>
      a.clients.some((c) => c.clientId === clientId && c.clientSecret === clientSecret),
    );
    if (!account) return undefined;
    const token = randomBytes(24).toString("base64url");
    const expiresAt = this.#now() + this.config.behaviour.tokenLifetimeSeconds * 1000;
    this.data.issuedTokens[token] = { account: account.name, expiresAt };
    return { token, expiresAt };
  }

  clustersOf(account: string): Cluster[] {
    return this.data.clusters.filter((c) => c.account === account);
  }

  cluster(account: string, identifier: string): Cluster {
    const cluster = this.data.clusters.find((c) => c.account === account && c.identifier === identifier);
    if (!cluster) throw new WorldError(404, "kubernetes not found");
    return cluster;
  }

  offers(dcIdentifier: string) {
    return this.config.offers[dcIdentifier] ?? [];
  }

  createGroup(account: string, clusterIdentifier: string, name: string, kubeSizeId: number): Group {
    const cluster = this.cluster(account, clusterIdentifier);
    if (!this.offers(cluster.dcIdentifier).some((o) => o.id === kubeSizeId)) {
      throw new WorldError(400, `Kubernetes size ${kubeSizeId} is not offered in this datacenter`);
    }
    const sameSize = cluster.groups.find((g) => g.kubeSizeId === kubeSizeId);
    if (sameSize) {
      throw new WorldError(400, `Group ${sameSize.name} has same selected Size, please select another size`);
    }
    if (cluster.groups.some((g) => g.name === name)) {
      throw new WorldError(400, `Group name ${name} already exists`);
    }
    const group: Group = {
      id: this.#nextId(),
      identifier: randomUUID(),
      name,
      kubeSizeId,
      createdOn: new Date(this.#now()).toISOString(),
    };
    cluster.groups.push(group);
    return group;
  }

  deleteGroup(account: string, groupIdentifier: string): void {
    for (const cluster of this.clustersOf(account)) {
      const group = cluster.groups.find((g) => g.identifier === groupIdentifier);
      if (!group) continue;
      for (const node of cluster.nodes.filter((n) => n.groupId === group.id)) this.#removeNode(cluster, node);
      cluster.groups = cluster.groups.filter((g) => g !== group);
      return;
    }
    throw new WorldError(404, "Group not found");
  }

  workersOf(account: string): number {
    return this.clustersOf(account).reduce(
      (sum, c) => sum + c.nodes.filter((n) => n.nodeType === "slave").length,
      0,
    );
  }

  addWorker(account: string, clusterIdentifier: string, groupId: number): WorkerNode {
    const cluster = this.cluster(account, clusterIdentifier);
    const group = cluster.groups.find((g) => g.id === groupId);
    if (!group) throw new WorldError(404, "Group not found");
    const limit = this.config.accounts.find((a) => a.name === account)?.workerLimit ?? 0;
    if (this.workersOf(account) >= limit) {
      // Seen for real as HTTP 500 (vpsie-k8s-autoscaler errors_test.go): a 5xx that is final.
      throw this.config.behaviour.profile === "evidence"
        ? new WorldError(500, `Worker nodes count exceeds the allowed limit ${limit}`)
        : new WorldError(400, "Worker nodes count exceeds the allowed limit");
    }
    return this.#addNode(cluster, group, "provisioning");
  }

  deleteWorker(account: string, clusterIdentifier: string, identifier: string): void {
    const cluster = this.cluster(account, clusterIdentifier);
    const node = cluster.nodes.find((n) => n.identifier === identifier && n.nodeType === "slave");
    if (!node) throw new WorldError(404, "Node not found");
    this.#removeNode(cluster, node);
  }

  /** VPSie picks which worker of the group goes: here, the newest. */
  reduceGroup(account: string, clusterIdentifier: string, groupId: number): void {
    const cluster = this.cluster(account, clusterIdentifier);
    const node = cluster.nodes.filter((n) => n.groupId === groupId).at(-1);
    if (!node) throw new WorldError(400, "The group has no worker to remove");
    this.#removeNode(cluster, node);
  }

  #removeNode(cluster: Cluster, node: WorkerNode): void {
    cluster.nodes = cluster.nodes.filter((n) => n !== node);
    this.events.onWorkerDeleted?.(cluster, node);
  }

  findVm(account: string, identifier: string): { cluster: Cluster; node: WorkerNode } | undefined {
    for (const cluster of this.clustersOf(account)) {
      const node = cluster.nodes.find((n) => n.identifier === identifier);
      if (node) return { cluster, node };
    }
    return undefined;
  }
}
