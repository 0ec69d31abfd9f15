/**
 * The stack config that declares node groups and their members (`vpsie-autoscaler:nodeGroups`), read
 * by the stack program and edited by the scaler. A person edits the same list with `pulumi config`.
 */
import { z } from "zod";
import { NodeLabels, NodeTaints } from "../scaler/decision/nodeSettings.js";

const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be lower-case letters, digits and '-' (a DNS label)");

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

export const CONFIG_KEY = "nodeGroups";

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
