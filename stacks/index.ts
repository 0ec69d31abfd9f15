import * as pulumi from "@pulumi/pulumi";
import { Node, NodeGroup } from "../provider/pulumi/resources.js";
import { CONFIG_KEY, NodeGroupsConfigError, parseNodeGroups } from "./nodeGroupsConfig.js";

/**
 * The stack program: one NodeGroup per configured group, and one Node per member key, so previews and
 * history name nodes by key and a scale-down removes exactly the drained node.
 */
function nodeGroups() {
  try {
    return parseNodeGroups(new pulumi.Config().getObject(CONFIG_KEY));
  } catch (err) {
    if (err instanceof NodeGroupsConfigError)
      throw new pulumi.RunError(`invalid stack config: ${err.message}`);
    throw err;
  }
}

export const groups = Object.fromEntries(
  nodeGroups().map((config) => {
    const group = new NodeGroup(config.name, {
      clusterIdentifier: config.cluster,
      name: config.name,
      kubeSizeId: config.kubeSizeId,
    });
    const nodes = config.nodes.map(
      (key) =>
        new Node(
          key,
          { clusterIdentifier: config.cluster, groupId: group.groupId, groupName: config.name, key },
          { parent: group },
        ),
    );
    return [
      config.name,
      {
        groupId: group.groupId,
        nodes: Object.fromEntries(config.nodes.map((key, i) => [key, nodes[i]?.hostname])),
      },
    ];
  }),
);
