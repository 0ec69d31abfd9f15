/**
 * The stack program: one NodeGroup per configured group, and one Node per member key, so previews and
 * history name nodes by key and a scale-down removes exactly the drained node.
 *
 * A scale action registers only what it changes (its new nodes, and the group itself when the group is
 * new) and targets those URNs and the removed ones: the engine keeps every other node as it is, so an
 * action costs the same at 10 nodes as at 1,000. Without a scope (a person's `pulumi up`, recovery,
 * previews) every member is declared and diffed.
 */
import * as pulumi from "@pulumi/pulumi";
import { Node, NodeGroup } from "../provider/pulumi/resources.js";
import type { WorkerRef } from "../provider/vpsie/workers.js";
import { CONFIG_KEY, NodeGroupsConfigError, type NodeGroupConfig, parseNodeGroups } from "./contract.js";

export interface ProgramScope {
  /** Declare only these member keys; every member when absent. */
  only?: readonly string[];
  /** Keys that take an existing worker (reconciliation) instead of a new one. */
  adopt?: Readonly<Record<string, WorkerRef>>;
}

function configuredGroups(): NodeGroupConfig[] {
  try {
    return parseNodeGroups(new pulumi.Config().getObject(CONFIG_KEY));
  } catch (err) {
    if (err instanceof NodeGroupsConfigError)
      throw new pulumi.RunError(`invalid stack config: ${err.message}`);
    throw err;
  }
}

/** Declares the stack's resources from its config; returns the stack outputs. */
export function declareNodeGroups(scope: ProgramScope = {}) {
  const only = scope.only && new Set(scope.only);
  const groups = configuredGroups().map((config) => {
    const group = new NodeGroup(config.name, {
      clusterIdentifier: config.cluster,
      name: config.name,
      kubeSizeId: config.kubeSizeId,
    });
    for (const key of config.nodes) {
      if (only && !only.has(key)) continue;
      new Node(
        key,
        {
          clusterIdentifier: config.cluster,
          groupId: group.groupId,
          groupName: config.name,
          key,
          ...(scope.adopt?.[key] && { adopt: scope.adopt[key] }),
        },
        { parent: group },
      );
    }
    // Small outputs: the stack's outputs are rewritten with every update's checkpoint.
    return [config.name, { groupId: group.groupId }] as const;
  });
  return { groups: Object.fromEntries(groups) };
}
