/**
 * The commands a checkout adds to `vpsie-autoscaler` for development: the local control plane, the
 * VPSie emulator, building tools from Go modules, and the demo. The image's CLI has none of them.
 */
import type { Command } from "commander";
import { clusterCommand } from "./cluster.js";
import { demoCommand } from "./demo.js";
import { toolsCommand } from "./tools.js";
import { vpsieSimCommand } from "./vpsieSim.js";

export function devCommands(): Command[] {
  return [toolsCommand(), demoCommand(), vpsieSimCommand(), clusterCommand()];
}
