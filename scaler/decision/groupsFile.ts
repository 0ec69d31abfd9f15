/**
 * The node groups file of `vpsie-autoscaler plan` (YAML): a top-level `nodeGroups:` list, and optional
 * cluster-wide `limits:`. Errors name the field and the value.
 */
import { parse as parseYaml } from "yaml";
import { dnsLabel } from "../../provider/names.js";
import { z } from "zod";
import type { PlannerOptions } from "./options.js";
import { NodeLabels, NodeTaints } from "../../stacks/nodeSettings.js";
import { parseCpu, parseQuantity } from "../units/quantity.js";
import type { NodeGroup } from "./types.js";

export class GroupsFileError extends Error {
  override name = "GroupsFileError";
}

const quantity = (parse: (v: string | number) => number) =>
  z.union([z.string(), z.number()]).transform((value, ctx) => {
    try {
      return parse(value);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
      return z.NEVER;
    }
  });

const Group = z
  .object({
    name: dnsLabel,
    minNodes: z.number().int().min(0),
    maxNodes: z.number().int().min(0),
    capacity: z
      .object({
        cpu: quantity(parseCpu),
        memory: quantity(parseQuantity),
        pods: quantity(parseQuantity),
        "ephemeral-storage": quantity(parseQuantity).optional(),
      })
      .strict(),
    labels: NodeLabels,
    taints: NodeTaints,
    priority: z.number().int().default(0),
    pricePerHour: z.number().min(0).optional(),
  })
  .strict();

const GroupsFile = z
  .object({
    nodeGroups: z.array(Group).min(1, "lists no node groups"),
    limits: z
      .object({
        maxNodesTotal: z.number().int().min(0).optional(),
        maxCores: z.number().min(0).optional(),
        maxMemory: quantity(parseQuantity).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export function parseGroupsFile(
  text: string,
  source: string,
): { groups: NodeGroup[]; limits: PlannerOptions["limits"] } {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new GroupsFileError(`${source} is not valid YAML: ${(err as Error).message}`);
  }
  const result = GroupsFile.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = (issue?.path ?? [])
      .map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`))
      .join("")
      .replace(/^\./, "");
    throw new GroupsFileError(`${source}: ${path || "(top level)"}: ${issue?.message}`);
  }
  const names = new Set<string>();
  const groups = result.data.nodeGroups.map((g, i) => {
    if (g.minNodes > g.maxNodes) {
      throw new GroupsFileError(
        `${source}: nodeGroups[${i}] (${g.name}): minNodes ${g.minNodes} is greater than maxNodes ${g.maxNodes}`,
      );
    }
    if (names.has(g.name))
      throw new GroupsFileError(`${source}: nodeGroups[${i}]: the name ${g.name} is used twice`);
    names.add(g.name);
    if (g.capacity.cpu <= 0 || g.capacity.memory <= 0 || g.capacity.pods <= 0) {
      throw new GroupsFileError(
        `${source}: nodeGroups[${i}] (${g.name}): capacity cpu, memory and pods must be positive`,
      );
    }
    return {
      name: g.name,
      minNodes: g.minNodes,
      maxNodes: g.maxNodes,
      capacity: {
        cpu: g.capacity.cpu,
        memory: g.capacity.memory,
        pods: g.capacity.pods,
        // A node always has some scratch space; without a figure, do not let it limit the simulation.
        ephemeralStorage: g.capacity["ephemeral-storage"] ?? Number.MAX_SAFE_INTEGER,
      },
      labels: g.labels,
      taints: g.taints,
      priority: g.priority,
      pricePerHour: g.pricePerHour,
      upcoming: [],
    };
  });
  const limits = result.data.limits ?? {};
  return {
    groups,
    limits: {
      maxNodesTotal: limits.maxNodesTotal,
      maxCores: limits.maxCores,
      maxMemoryBytes: limits.maxMemory,
    },
  };
}
