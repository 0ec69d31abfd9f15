/**
 * The VPSie Pulumi resources: NodeGroup (a managed-Kubernetes node group of one size in a cluster)
 * and Node (one worker of a group, named by its member key).
 *
 * They are dynamic resources: the state stores, with each resource, the code of its provider, and the
 * dynamic-provider plugin evaluates it. That code is a few lines written here, not a serialized closure:
 * it takes the providers that the process hosting them registered (the scaler and the plugin do), else
 * loads them from the dist/ of the project the program belongs to (the SDK's own plugin). So the
 * state never names a path of the machine that wrote it, and no closure serializer (which loads the
 * TypeScript compiler) runs in the program.
 */
import * as pulumi from "@pulumi/pulumi";
import { HOSTED_PROVIDERS, RESOURCE_TYPES } from "./types.js";

/** The project holding the program: the nearest directory above the program's with a Pulumi.yaml. */
function providerText(which: "nodeGroup" | "node"): string {
  return [
    "exports.handler = function () {",
    `  var hosted = globalThis[Symbol.for(${JSON.stringify(Symbol.keyFor(HOSTED_PROVIDERS))})];`,
    "  if (hosted) return hosted." + which + ";",
    "  var fs = require('fs'), path = require('path'), dir = process.cwd();",
    "  while (!fs.existsSync(path.join(dir, 'Pulumi.yaml')) && path.dirname(dir) !== dir) dir = path.dirname(dir);",
    "  return require(path.join(dir, 'dist', 'provider', 'pulumi', 'providers.js')).providers." + which + ";",
    "};",
  ].join("\n");
}

const NODE_GROUP_PROVIDER = providerText("nodeGroup");
const NODE_PROVIDER = providerText("node");

export interface NodeGroupArgs {
  clusterIdentifier: pulumi.Input<string>;
  name: pulumi.Input<string>;
  kubeSizeId: pulumi.Input<number>;
}

export class NodeGroup extends pulumi.CustomResource {
  declare readonly groupId: pulumi.Output<number>;
  declare readonly groupIdentifier: pulumi.Output<string>;

  constructor(name: string, args: NodeGroupArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      RESOURCE_TYPES.nodeGroup,
      name,
      { ...args, groupId: undefined, groupIdentifier: undefined, __provider: NODE_GROUP_PROVIDER },
      opts,
    );
  }
}

export interface NodeArgs {
  clusterIdentifier: pulumi.Input<string>;
  groupId: pulumi.Input<number>;
  groupName: pulumi.Input<string>;
  key: pulumi.Input<string>;
}

export class Node extends pulumi.CustomResource {
  declare readonly identifier: pulumi.Output<string | undefined>;
  declare readonly hostname: pulumi.Output<string>;

  constructor(name: string, args: NodeArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      RESOURCE_TYPES.node,
      name,
      { ...args, identifier: undefined, hostname: undefined, __provider: NODE_PROVIDER },
      opts,
    );
  }
}
