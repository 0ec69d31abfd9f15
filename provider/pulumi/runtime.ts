/**
 * What the NodeGroup and Node dynamic resources do, run inside Pulumi's dynamic-provider process.
 *
 * The resources' serialized providers only load this module and call it (see resources.ts), so the
 * code stored in the state stays a few lines, upgrades take effect without touching the state, and
 * all resources of an update share one client and one lock per cluster. Credentials are read from the
 * environment here, at run time: they never enter the state.
 */
import { VpsieClient } from "../vpsie/client.js";
import type { ClusterNode } from "../vpsie/model.js";
import { VpsieError } from "../vpsie/errors.js";

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
}

export interface NodeOutputs extends NodeInputs {
  identifier: string;
  hostname: string;
  defaultIp?: string;
  privateIp?: string;
}

export interface CheckFailure {
  property: string;
  reason: string;
}

let client: VpsieClient | undefined;

function vpsie(): VpsieClient {
  client ??= VpsieClient.fromEnv();
  return client;
}

/** One add-and-discover at a time per cluster, so a node that VPSie announces with bare `true` is found unambiguously. */
const clusterLocks = new Map<string, Promise<unknown>>();

async function withClusterLock<T>(cluster: string, work: () => Promise<T>): Promise<T> {
  const previous = clusterLocks.get(cluster) ?? Promise.resolve();
  const current = previous.catch(() => undefined).then(work);
  clusterLocks.set(cluster, current);
  try {
    return await current;
  } finally {
    if (clusterLocks.get(cluster) === current) clusterLocks.delete(cluster);
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function checkNodeGroup(news: Partial<NodeGroupInputs>): CheckFailure[] {
  const failures: CheckFailure[] = [];
  if (typeof news.clusterIdentifier !== "string" || news.clusterIdentifier === "") {
    failures.push({
      property: "clusterIdentifier",
      reason: "the VPSie cluster identifier (uuid) is required: see `vpsie-autoscaler vpsie clusters`",
    });
  }
  if (typeof news.name !== "string" || !DNS_LABEL.test(news.name)) {
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
  if (typeof news.key !== "string" || !DNS_LABEL.test(news.key)) {
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

export async function createNodeGroup(
  inputs: NodeGroupInputs,
): Promise<{ id: string; outs: NodeGroupOutputs }> {
  const existing = (await vpsie().listNodeGroups(inputs.clusterIdentifier)).find(
    (g) => g.name === inputs.name,
  );
  // After a crash between VPSie's answer and the state write, the group exists already: adopt it.
  const group = existing ?? (await vpsie().createNodeGroup(inputs));
  return {
    id: group.identifier,
    outs: {
      ...inputs,
      groupId: group.id,
      groupIdentifier: group.identifier,
      cpu: group.cpu,
      ramMb: group.ramMb,
    },
  };
}

export async function readNodeGroup(
  id: string,
  props: NodeGroupOutputs,
): Promise<{ id: string; props: NodeGroupOutputs | Record<string, never> }> {
  const group = (await vpsie().listNodeGroups(props.clusterIdentifier)).find((g) => g.identifier === id);
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
}

export async function deleteNodeGroup(id: string): Promise<void> {
  await vpsie().deleteNodeGroup(id, "removed from the vpsie-autoscaler stack");
}

function workers(nodes: ClusterNode[]): ClusterNode[] {
  return nodes.filter((n) => n.nodeType !== "master" && n.identifier);
}

async function workersOf(cluster: string): Promise<ClusterNode[]> {
  const detail = await vpsie().getCluster(cluster);
  if (!detail) throw new VpsieError(`VPSie knows no cluster ${cluster}`, false);
  return workers(detail.nodes);
}

/**
 * Adds one worker. When VPSie answers without the node, it is the worker that was not in the cluster
 * before the call: under the cluster lock exactly one appears per call, so concurrent creates in one
 * update each find their own.
 */
export async function createNode(
  inputs: NodeInputs,
  discoveryTimeoutMs = 120_000,
): Promise<{ id: string; outs: NodeOutputs }> {
  return withClusterLock(inputs.clusterIdentifier, async () => {
    const before = new Set((await workersOf(inputs.clusterIdentifier)).map((n) => n.identifier));
    const added = await vpsie().addWorker(inputs.clusterIdentifier, inputs.groupId);
    const deadline = Date.now() + discoveryTimeoutMs;
    for (;;) {
      const now = await workersOf(inputs.clusterIdentifier);
      const found = added?.identifier
        ? now.find((n) => n.identifier === added.identifier)
        : now.find((n) => !before.has(n.identifier));
      if (found?.identifier) {
        return {
          id: found.identifier,
          outs: {
            ...inputs,
            identifier: found.identifier,
            hostname: found.hostname,
            defaultIp: found.defaultIp,
            privateIp: found.privateIp,
          },
        };
      }
      if (Date.now() > deadline) {
        throw new VpsieError(
          `VPSie accepted a new worker for ${inputs.groupName} but it did not appear in the cluster within ${discoveryTimeoutMs / 1000}s`,
          false,
        );
      }
      await new Promise((r) => setTimeout(r, 1_000));
    }
  });
}

export async function readNode(
  id: string,
  props: NodeOutputs,
): Promise<{ id: string; props: NodeOutputs | Record<string, never> }> {
  const node = (await workersOf(props.clusterIdentifier)).find((n) => n.identifier === id);
  if (!node) return { id: "", props: {} };
  return {
    id,
    props: { ...props, hostname: node.hostname, defaultIp: node.defaultIp, privateIp: node.privateIp },
  };
}

export async function deleteNode(id: string, props: NodeOutputs): Promise<void> {
  await vpsie().deleteWorker(props.clusterIdentifier, id);
}
