/**
 * The stack contract: what the program, the apply layer, recovery, the stack stores and the CLI agree
 * on about a node group's stack. One stack per node group, named after it, whose config file is
 * `stacks/Pulumi.<group>.yaml`; the config schema (`vpsie-autoscaler:nodeGroups`); the resource types
 * and URNs; and a typed reader of the Node resources in its state.
 */
import { z } from "zod";
import { dnsLabel } from "../provider/names.js";
import { RESOURCE_TYPES } from "../provider/pulumi/types.js";
import { NodeLabels, NodeTaints } from "./nodeSettings.js";

export const PROJECT = "vpsie-autoscaler";
export const CONFIG_KEY = "nodeGroups";
/** The key as it appears in a stack config file: `<project>:<key>`. */
export const FULL_CONFIG_KEY = `${PROJECT}:${CONFIG_KEY}`;
/** stacks/Pulumi.example.yaml documents the format; it is no node group of the scaler's. */
export const EXAMPLE_STACK = "example";
export const STACKS_DIR = "stacks";

export { RESOURCE_TYPES };

const STACK_FILE = /^Pulumi\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.yaml$/;

export function stackFileName(stack: string): string {
  return `Pulumi.${stack}.yaml`;
}

/** The node group a file name declares, or undefined for the example and anything that is no stack file. */
export function groupOfStackFile(fileName: string): string | undefined {
  const stack = STACK_FILE.exec(fileName)?.[1];
  return stack === EXAMPLE_STACK ? undefined : stack;
}

/** The node groups among these file names, sorted. */
export function groupStacks(fileNames: Iterable<string>): string[] {
  return [...fileNames].flatMap((name) => groupOfStackFile(name) ?? []).sort();
}

export function nodeGroupUrn(stack: string, group: string): string {
  return `urn:pulumi:${stack}::${PROJECT}::${RESOURCE_TYPES.nodeGroup}::${group}`;
}

/** Nodes are children of their group, so the group's type is part of their URN. */
export function nodeUrn(stack: string, key: string): string {
  return `urn:pulumi:${stack}::${PROJECT}::${RESOURCE_TYPES.nodeGroup}$${RESOURCE_TYPES.node}::${key}`;
}

/** The member key a Node URN names. */
export function keyOfUrn(urn: string): string {
  return urn.split("::").at(-1) ?? urn;
}

export const NodeGroupConfig = z
  .object({
    name: dnsLabel,
    /** The VPSie cluster identifier (uuid). */
    cluster: z.string().min(1, "is required: the VPSie cluster identifier"),
    /** The VPSie Kubernetes size id ("offer"). */
    kubeSizeId: z.number().int().positive(),
    minNodes: z.number().int().min(0),
    maxNodes: z.number().int().min(0),
    labels: NodeLabels,
    taints: NodeTaints,
    /** Member node keys: one Node resource each, so a scale-down removes exactly the drained node. */
    nodes: z.array(dnsLabel).default([]),
  })
  .strict();
export type NodeGroupConfig = z.output<typeof NodeGroupConfig>;

export class NodeGroupsConfigError extends Error {
  override name = "NodeGroupsConfigError";
}

/** Parses and checks the list; the message names the field, e.g. `nodeGroups[0].maxNodes`. */
export function parseNodeGroups(raw: unknown): NodeGroupConfig[] {
  const result = z.array(NodeGroupConfig).safeParse(raw ?? []);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = (issue?.path ?? [])
      .map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`))
      .join("");
    throw new NodeGroupsConfigError(`${CONFIG_KEY}${path}: ${issue?.message}`);
  }
  const names = new Set<string>();
  const keys = new Set<string>();
  result.data.forEach((group, i) => {
    if (group.minNodes > group.maxNodes) {
      throw new NodeGroupsConfigError(
        `${CONFIG_KEY}[${i}] (${group.name}): minNodes ${group.minNodes} is greater than maxNodes ${group.maxNodes}`,
      );
    }
    if (names.has(group.name))
      throw new NodeGroupsConfigError(`${CONFIG_KEY}[${i}]: node group ${group.name} is declared twice`);
    names.add(group.name);
    for (const key of group.nodes) {
      if (keys.has(key) || names.has(key)) {
        throw new NodeGroupsConfigError(
          `${CONFIG_KEY}[${i}] (${group.name}).nodes: the key ${key} is used twice; keys name resources and must be unique`,
        );
      }
      keys.add(key);
    }
  });
  return result.data;
}

/** A Node resource as the state holds it. */
export interface NodeInState {
  key: string;
  urn: string;
  /** The provider's id of the worker (see provider/pulumi/providers.ts). */
  id?: string;
  hostname?: string;
  /** The operation the engine had under way on it when the state was written (`creating`, `deleting`, …). */
  pending?: string;
}

const ResourceState = z.looseObject({
  urn: z.string(),
  type: z.string(),
  id: z.string().optional(),
  outputs: z.looseObject({ hostname: z.string().optional() }).optional(),
});
const DeploymentState = z.looseObject({
  resources: z.array(ResourceState).nullish(),
  pending_operations: z.array(z.looseObject({ resource: ResourceState, type: z.string() })).nullish(),
});

/** The Node resources of an exported deployment (`pulumi stack export`), and those with an operation pending. */
export function nodesInState(deployment: unknown): { nodes: NodeInState[]; pending: NodeInState[] } {
  const parsed = DeploymentState.safeParse(deployment ?? {});
  if (!parsed.success) return { nodes: [], pending: [] };
  const toNode = (r: z.output<typeof ResourceState>, pending?: string): NodeInState => ({
    key: keyOfUrn(r.urn),
    urn: r.urn,
    id: r.id || undefined,
    hostname: r.outputs?.hostname,
    pending,
  });
  return {
    nodes: (parsed.data.resources ?? []).filter((r) => r.type === RESOURCE_TYPES.node).map((r) => toNode(r)),
    pending: (parsed.data.pending_operations ?? [])
      .filter((op) => op.resource.type === RESOURCE_TYPES.node)
      .map((op) => toNode(op.resource, op.type)),
  };
}
