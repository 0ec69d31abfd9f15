/**
 * The entry points that states written by vpsie-autoscaler 0.1 call: their serialized providers load
 * this file by path ($VPSIE_AUTOSCALER_PROVIDER_RUNTIME, which the engine's environment sets) and call
 * these functions. New states store providers.ts's text instead (resources.ts).
 */
import { checkNode, checkNodeGroup, diffNode, diffNodeGroup, providers } from "./providers.js";
import type { NodeGroupInputs, NodeGroupOutputs, NodeInputs, NodeOutputs } from "./providers.js";

export { checkNode, checkNodeGroup, diffNode, diffNodeGroup };

export const createNodeGroup = (inputs: NodeGroupInputs) => providers.nodeGroup.create(inputs);
export const readNodeGroup = (id: string, props: NodeGroupOutputs) => providers.nodeGroup.read!(id, props);
// 0.1 passed the id only.
export const deleteNodeGroup = (id: string, props?: NodeGroupOutputs) =>
  providers.nodeGroup.delete!(id, props ?? ({} as NodeGroupOutputs));
export const createNode = (inputs: NodeInputs) => providers.node.create(inputs);
export const readNode = (id: string, props: NodeOutputs) => providers.node.read!(id, props);
export const deleteNode = (id: string, props: NodeOutputs) => providers.node.delete!(id, props);
