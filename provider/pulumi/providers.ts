/**
 * What the NodeGroup and Node dynamic resources do: the ResourceProviders that the dynamic-provider
 * protocol runs, in the scaler's own process (see plugins/dynamicProvider.ts) or in the plugin process
 * a person's `pulumi up` starts. The state stores only a few lines that fetch these (resources.ts), so
 * upgrades take effect without touching the state. Credentials come from the environment of the process
 * that runs them, never from the state.
 */
import type * as pulumi from "@pulumi/pulumi";
import { isDnsLabel } from "../names.js";
import { VpsieClient } from "../vpsie/client.js";
import { isWorker, type Worker, type WorkerRef } from "../vpsie/workers.js";
import { WorkerClaims } from "./claims.js";

export interface NodeGroupInputs {
  clusterIdentifier: string;
  name: string;
  kubeSizeId: number;
}

export interface NodeGroupOutputs extends NodeGroupInputs {
  groupId: number;
  groupIdentifier: string;
  cpu?: number;
  ramMb?: number;
}

export interface NodeInputs {
  clusterIdentifier: string;
  groupId: number;
  groupName: string;
  /** The member key in the stack config: names the node in previews and history. */
  key: string;
  /** Take this existing worker instead of adding one (reconciliation of unclaimed workers). */
  adopt?: WorkerRef;
}

export interface NodeOutputs extends NodeInputs {
  /** The VM's uuid (what delete/slave takes), when VPSie lists it. */
  identifier?: string;
  /** VPSie's numeric id of the node. */
  workerId?: number;
  hostname: string;
  defaultIp?: string;
  privateIp?: string;
}

export interface CheckFailure {
  property: string;
  reason: string;
}

/** Who the providers call VPSie through: one client and one set of claims per process. */
export interface ProviderContext {
  client: VpsieClient;
  claims: WorkerClaims;
}

let context: ProviderContext | undefined;

/** The scaler hosts the providers in its own process, with its own client (one rate limit, one circuit). */
export function useProviderContext(shared: ProviderContext): void {
  context = shared;
}

function ctx(): ProviderContext {
  if (!context) {
    const client = VpsieClient.fromEnv();
    context = { client, claims: new WorkerClaims(client) };
  }
  return context;
}

export function checkNodeGroup(news: Partial<NodeGroupInputs>): CheckFailure[] {
  const failures: CheckFailure[] = [];
  if (typeof news.clusterIdentifier !== "string" || news.clusterIdentifier === "") {
    failures.push({
      property: "clusterIdentifier",
      reason: "the VPSie cluster identifier (uuid) is required: see `vpsie-autoscaler vpsie clusters`",
    });
  }
  if (!isDnsLabel(news.name)) {
    failures.push({
      property: "name",
      reason: `node group name ${JSON.stringify(news.name)} must be lower-case letters, digits and '-'`,
    });
  }
  if (!Number.isInteger(news.kubeSizeId) || (news.kubeSizeId ?? 0) <= 0) {
    failures.push({
      property: "kubeSizeId",
      reason:
        "the Kubernetes size id must be a positive integer: see `vpsie-autoscaler vpsie offers --dc ID`",
    });
  }
  return failures;
}

export function checkNode(news: Partial<NodeInputs>): CheckFailure[] {
  const failures: CheckFailure[] = [];
  if (!isDnsLabel(news.key)) {
    failures.push({
      property: "key",
      reason: `node key ${JSON.stringify(news.key)} must be lower-case letters, digits and '-'`,
    });
  }
  if (typeof news.clusterIdentifier !== "string" || news.clusterIdentifier === "") {
    failures.push({ property: "clusterIdentifier", reason: "the VPSie cluster identifier is required" });
  }
  return failures;
}

/** A group is replaced when its cluster, name or size changes: VPSie cannot change them in place. */
export function diffNodeGroup(
  olds: NodeGroupOutputs,
  news: NodeGroupInputs,
): { changes: boolean; replaces: string[] } {
  const replaces = (["clusterIdentifier", "name", "kubeSizeId"] as const).filter((k) => olds[k] !== news[k]);
  return { changes: replaces.length > 0, replaces };
}

/** A node is replaced when it would belong elsewhere; a new key is a new node (a new resource), not a diff. */
export function diffNode(olds: NodeOutputs, news: NodeInputs): { changes: boolean; replaces: string[] } {
  const replaces = (["clusterIdentifier", "groupId"] as const).filter((k) => olds[k] !== news[k]);
  return { changes: replaces.length > 0 || olds.groupName !== news.groupName, replaces };
}

/** The id a Node resource has in the state: the VM's uuid, else VPSie's numeric id, else the hostname. */
export function nodeResourceId(worker: Worker): string {
  return worker.identifier ?? (worker.id !== undefined ? `id:${worker.id}` : `host:${worker.hostname}`);
}

function nodeOutputs(inputs: NodeInputs, worker: Worker): NodeOutputs {
  return {
    ...inputs,
    identifier: worker.identifier,
    workerId: worker.id,
    hostname: worker.hostname,
    defaultIp: worker.defaultIp,
    privateIp: worker.privateIp,
  };
}

export const nodeGroupProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news: Partial<NodeGroupInputs>) {
    return { inputs: news, failures: checkNodeGroup(news) };
  },
  async diff(_id, olds: NodeGroupOutputs, news: NodeGroupInputs) {
    return diffNodeGroup(olds, news);
  },
  async create(inputs: NodeGroupInputs) {
    const { client } = ctx();
    const existing = (await client.listNodeGroups(inputs.clusterIdentifier)).find(
      (g) => g.name === inputs.name,
    );
    // After a crash between VPSie's answer and the state write, the group exists already: adopt it.
    const group = existing ?? (await client.createNodeGroup(inputs));
    const outs: NodeGroupOutputs = {
      ...inputs,
      groupId: group.id,
      groupIdentifier: group.identifier,
      cpu: group.cpu,
      ramMb: group.ramMb,
    };
    return { id: group.identifier, outs };
  },
  async read(id, props: NodeGroupOutputs) {
    const group = (await ctx().client.listNodeGroups(props.clusterIdentifier)).find(
      (g) => g.identifier === id,
    );
    if (!group) return { id: "", props: {} };
    return {
      id,
      props: {
        ...props,
        name: group.name,
        kubeSizeId: group.kubeSizeId,
        groupId: group.id,
        cpu: group.cpu,
        ramMb: group.ramMb,
      },
    };
  },
  async delete(id, props: NodeGroupOutputs) {
    await ctx().client.deleteNodeGroup(
      id,
      "removed from the vpsie-autoscaler stack",
      props.clusterIdentifier || undefined,
    );
  },
};

export const nodeProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news: Partial<NodeInputs>) {
    return { inputs: news, failures: checkNode(news) };
  },
  async diff(_id, olds: NodeOutputs, news: NodeInputs) {
    return diffNode(olds, news);
  },
  async create(inputs: NodeInputs) {
    const { claims } = ctx();
    const kubeSizeId = await claims.groupSize(inputs.clusterIdentifier, inputs.groupId);
    const worker = inputs.adopt
      ? await claims.adoptWorker(inputs.clusterIdentifier, inputs.adopt, kubeSizeId)
      : await claims.addWorker(inputs.clusterIdentifier, {
          name: inputs.groupName,
          groupId: inputs.groupId,
          kubeSizeId,
        });
    return { id: nodeResourceId(worker), outs: nodeOutputs(inputs, worker) };
  },
  async read(id, props: NodeOutputs) {
    const workers = await ctx().client.listWorkers(props.clusterIdentifier);
    const worker = workers.find((w) =>
      isWorker({ identifier: props.identifier, id: props.workerId, hostname: props.hostname }, w),
    );
    if (!worker) return { id: "", props: {} };
    return { id, props: nodeOutputs(props, worker) };
  },
  async delete(_id, props: NodeOutputs) {
    await ctx().client.deleteWorker(props.clusterIdentifier, {
      identifier: props.identifier,
      id: props.workerId,
      hostname: props.hostname,
    });
  },
};

/** What the state's provider text fetches (resources.ts). */
export const providers = { nodeGroup: nodeGroupProvider, node: nodeProvider };
