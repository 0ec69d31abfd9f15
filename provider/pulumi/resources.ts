/**
 * The VPSie Pulumi resources: NodeGroup (a managed-Kubernetes node group of one size in a cluster)
 * and Node (one worker of a group, named by its member key).
 *
 * Pulumi stores a dynamic provider's code in the state and runs it in its dynamic-provider process.
 * These providers are shims that load runtime.js there and call it: from the path in
 * VPSIE_AUTOSCALER_PROVIDER_RUNTIME when set (an installation that moves its files sets it), else from
 * where the program that last updated the resource found it.
 */
import { fileURLToPath } from "node:url";
import * as pulumi from "@pulumi/pulumi";
import type * as Runtime from "./runtime.js";

const RUNTIME = fileURLToPath(new URL("./runtime.js", import.meta.url));

/** Runs in the dynamic-provider process: `require` is that CommonJS process's own. */
function runtime(): typeof Runtime {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- evaluated in the provider process, see above
  return require(process.env.VPSIE_AUTOSCALER_PROVIDER_RUNTIME || RUNTIME) as typeof Runtime;
}

const nodeGroupProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news: Partial<Runtime.NodeGroupInputs>) {
    return { inputs: news, failures: runtime().checkNodeGroup(news) };
  },
  async diff(_id, olds, news) {
    return runtime().diffNodeGroup(olds as Runtime.NodeGroupOutputs, news as Runtime.NodeGroupInputs);
  },
  async create(inputs) {
    return runtime().createNodeGroup(inputs as Runtime.NodeGroupInputs);
  },
  async read(id, props) {
    return runtime().readNodeGroup(id, props as Runtime.NodeGroupOutputs);
  },
  async delete(id) {
    await runtime().deleteNodeGroup(id);
  },
};

const nodeProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news: Partial<Runtime.NodeInputs>) {
    return { inputs: news, failures: runtime().checkNode(news) };
  },
  async diff(_id, olds, news) {
    return runtime().diffNode(olds as Runtime.NodeOutputs, news as Runtime.NodeInputs);
  },
  async create(inputs) {
    return runtime().createNode(inputs as Runtime.NodeInputs);
  },
  async read(id, props) {
    return runtime().readNode(id, props as Runtime.NodeOutputs);
  },
  async delete(id, props) {
    await runtime().deleteNode(id, props as Runtime.NodeOutputs);
  },
};

export interface NodeGroupArgs {
  clusterIdentifier: pulumi.Input<string>;
  name: pulumi.Input<string>;
  kubeSizeId: pulumi.Input<number>;
}

export class NodeGroup extends pulumi.dynamic.Resource {
  declare readonly groupId: pulumi.Output<number>;
  declare readonly groupIdentifier: pulumi.Output<string>;

  constructor(name: string, args: NodeGroupArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      nodeGroupProvider,
      name,
      { ...args, groupId: undefined, groupIdentifier: undefined },
      opts,
      "vpsie",
      "NodeGroup",
    );
  }
}

export interface NodeArgs {
  clusterIdentifier: pulumi.Input<string>;
  groupId: pulumi.Input<number>;
  groupName: pulumi.Input<string>;
  key: pulumi.Input<string>;
}

export class Node extends pulumi.dynamic.Resource {
  declare readonly identifier: pulumi.Output<string>;
  declare readonly hostname: pulumi.Output<string>;

  constructor(name: string, args: NodeArgs, opts?: pulumi.CustomResourceOptions) {
    super(nodeProvider, name, { ...args, identifier: undefined, hostname: undefined }, opts, "vpsie", "Node");
  }
}
