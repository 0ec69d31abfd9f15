/**
 * The VPSie Pulumi resources: NodeGroup (a managed-Kubernetes node group of one size in a cluster)
 * and Node (one worker of a group, named by its member key).
 *
 * They are dynamic resources: the state stores, with each resource, the code of its provider, and the
 * dynamic-provider plugin evaluates it. That code is a few lines written here, not a serialized closure:
 * it takes the providers that the process hosting them registered (the scaler and the plugin do), else
 * those the environment names. So the state never names a path of the machine that wrote it, and no
 * closure serializer (which loads the TypeScript compiler) runs in the program.
 */
import * as pulumi from "@pulumi/pulumi";
import { HOSTED_PROVIDERS, PROVIDERS_ENV, RESOURCE_TYPES } from "./types.js";

/**
 * Stored twice per resource (inputs and outputs) and rewritten at every checkpoint, so kept short: the
 * providers registered by the process hosting them (the scaler, or this project's plugin), else those
 * $VPSIE_AUTOSCALER_PROVIDERS names (the engine's environment sets it, for the SDK's own plugin).
 */
function providerText(which: "nodeGroup" | "node"): string {
  const key = JSON.stringify(Symbol.keyFor(HOSTED_PROVIDERS));
  return `exports.handler=function(){return(globalThis[Symbol.for(${key})]||require(process.env.${PROVIDERS_ENV})).${which}}`;
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
  /** An existing worker to take instead of adding one (see providers.ts). */
  adopt?: { identifier?: string; id?: number; hostname?: string };
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
