/**
 * Which scale actions wait for a person: the approval policy of the run config, and the rule an action
 * meets. Pure. Scale-ups and scale-downs are reviewed; corrections are not (taking in a worker VPSie
 * bills already, removing a node that never registered, applying a person's own commit), since holding
 * them back only prolongs what they correct.
 */
import { z } from "zod";
import type { CostChange } from "../decision/cost.js";
import { formatCost } from "../decision/cost.js";
import { duration } from "../units/durations.js";
import type { ReviewKind } from "./records.js";

export const ApprovalPolicy = z
  .object({
    /** Every scale-up and scale-down. */
    all: z.boolean().optional(),
    /** Scale-ups that add more than this many nodes. */
    scaleUpNodesOver: z.number().int().min(0).optional(),
    /** Scale-ups that add more than this many dollars an hour. */
    scaleUpCostPerHourOver: z.number().min(0).optional(),
    /** Scale-downs of a node that still runs pods (they are evicted only after approval). */
    nonEmptyScaleDown: z.boolean().optional(),
    /** Any scale action on these node groups. */
    groups: z.array(z.string().min(1)).optional(),
    /** How long an action waits before it is dropped and planned again (default 1h). */
    expireAfter: duration.optional(),
  })
  .strict();
export type ApprovalPolicy = z.output<typeof ApprovalPolicy>;

export const DEFAULT_APPROVAL_EXPIRY_MS = 60 * 60_000;

export interface ProposedAction {
  kind: ReviewKind;
  group: string;
  add: number;
  remove: Array<{ key: string; node: string }>;
  pods: string[];
  cost?: CostChange;
}

/** The rule of the policy that sends the action to review, in words; undefined: it runs now. */
export function approvalRule(action: ProposedAction, policy: ApprovalPolicy | undefined): string | undefined {
  if (!policy || (action.kind !== "scale-up" && action.kind !== "scale-down")) return undefined;
  if (policy.all) return "approvals.all: every scale action is reviewed";
  if (policy.groups?.includes(action.group))
    return `approvals.groups: every action on node group ${action.group} is reviewed`;
  if (action.kind === "scale-up") {
    if (policy.scaleUpNodesOver !== undefined && action.add > policy.scaleUpNodesOver)
      return `approvals.scaleUpNodesOver: adds ${action.add} nodes, more than ${policy.scaleUpNodesOver}`;
    const delta = action.cost?.deltaPerHour;
    if (policy.scaleUpCostPerHourOver !== undefined && delta === undefined)
      return `approvals.scaleUpCostPerHourOver: the price of node group ${action.group} is unknown`;
    if (
      policy.scaleUpCostPerHourOver !== undefined &&
      delta !== undefined &&
      delta > policy.scaleUpCostPerHourOver
    )
      return `approvals.scaleUpCostPerHourOver: adds ${formatCost(delta)}/h, more than ${formatCost(policy.scaleUpCostPerHourOver)}/h`;
  }
  if (action.kind === "scale-down" && policy.nonEmptyScaleDown && action.pods.length > 0)
    return `approvals.nonEmptyScaleDown: ${action.pods.length} pod(s) would be evicted`;
  return undefined;
}
