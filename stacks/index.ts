import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";

/**
 * The stack program: node groups and their member nodes, from stack config. Until the VPSie provider
 * exists it only reads and checks the configuration, and declares nothing.
 */
const NodeGroupConfig = z.object({
  name: z.string().min(1),
  minNodes: z.number().int().min(0),
  maxNodes: z.number().int().min(0),
});

const config = new pulumi.Config();
const nodeGroups = z.array(NodeGroupConfig).parse(config.getObject("nodeGroups") ?? []);

export const nodeGroupNames = nodeGroups.map((group) => group.name);
