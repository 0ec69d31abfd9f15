/**
 * The scaler's configuration file (`run --config FILE`, YAML): everything `run`'s flags set, and the
 * planner's settings. Flags given on the command line win over the file; defaults are cluster-autoscaler's.
 * Durations are Go-style ("10m", "90s"), as in cluster-autoscaler's flags.
 */
import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { EXPANDERS, type PlannerOptions } from "../decision/options.js";
import { LOG_LEVELS } from "../log/logger.js";
import { ApprovalPolicy } from "../review/policy.js";
import { duration } from "../units/durations.js";
import { parseQuantity } from "../units/quantity.js";

export const RunConfig = z
  .object({
    kubeconfig: z.string().optional(),
    projectDir: z.string().optional(),
    workDir: z.string().optional(),
    backend: z.string().optional(),
    scanInterval: z.number().int().min(1).max(59).optional(),
    metricsAddress: z.string().optional(),
    logLevel: z.enum(LOG_LEVELS).optional(),
    stackConfigMap: z.string().optional(),
    intentConfigMap: z.string().optional(),
    /** live: apply actions (those the approval policy names after approval); shadow: record, never apply. */
    mode: z.enum(["live", "shadow"]).optional(),
    /** Which actions wait for a person's approval (docs/review.md). */
    approvals: ApprovalPolicy.optional(),
    /** Where shadow decisions and approvals are kept in a cluster (else the work dir). */
    reviewConfigMap: z.string().optional(),
    /** Serve the audit console from `run` too (off by default; a token is required off loopback). */
    consoleAddress: z.string().optional(),
    /** The stack config files in a Git repository (docs/gitops.md); credentials come from the environment. */
    git: z
      .object({
        repo: z.string().optional(),
        branch: z.string().min(1).optional(),
        path: z.string().optional(),
        author: z
          .object({ name: z.string().min(1).optional(), email: z.string().min(3).optional() })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    lease: z
      .object({
        namespace: z.string().optional(),
        name: z.string().optional(),
        durationSeconds: z.number().int().min(1).max(59).optional(),
      })
      .strict()
      .optional(),
    expanders: z.array(z.enum(EXPANDERS)).min(1).optional(),
    scaleUp: z
      .object({
        newPodDelay: duration.optional(),
        maxNodeProvisionTime: duration.optional(),
        maxNodesPerScaleUp: z.number().int().min(1).optional(),
        /** cluster-autoscaler's --initial-node-group-backoff-duration and --max-node-group-backoff-duration. */
        initialBackoff: duration.optional(),
        maxBackoff: duration.optional(),
        /** How long an add whose answer was lost looks for its worker before it gives up (default 3m). */
        lostAnswerWait: duration.optional(),
      })
      .strict()
      .optional(),
    scaleDown: z
      .object({
        utilizationThreshold: z.number().gt(0).max(1).optional(),
        unneededTime: duration.optional(),
        unreadyTime: duration.optional(),
        delayAfterAdd: duration.optional(),
        delayAfterDelete: duration.optional(),
        delayAfterFailure: duration.optional(),
        maxEmptyBulkDelete: z.number().int().min(1).optional(),
      })
      .strict()
      .optional(),
    limits: z
      .object({
        maxNodesTotal: z.number().int().min(0).optional(),
        maxCores: z.number().min(0).optional(),
        /** Dollars an hour for all node groups together, at VPSie's prices. */
        maxCostPerHour: z.number().min(0).optional(),
        maxMemory: z
          .union([z.string(), z.number()])
          .transform((v, ctx) => {
            try {
              return parseQuantity(v);
            } catch (err) {
              ctx.addIssue({ code: "custom", message: (err as Error).message });
              return z.NEVER;
            }
          })
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type RunConfig = z.output<typeof RunConfig>;

export class RunConfigError extends Error {
  override name = "RunConfigError";
}

export function parseRunConfig(text: string, source: string): RunConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    throw new RunConfigError(`${source} is not valid YAML: ${(err as Error).message}`);
  }
  const result = RunConfig.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new RunConfigError(`${source}: ${issue?.path.join(".") || "(top level)"}: ${issue?.message}`);
  }
  return result.data;
}

export async function loadRunConfig(path: string): Promise<RunConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new RunConfigError(
      `cannot read --config ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  return parseRunConfig(text, path);
}

/** The planner settings the file sets; the rest keep their defaults. */
export function plannerOptions(config: RunConfig): Partial<PlannerOptions> {
  const o: Partial<PlannerOptions> = {};
  if (config.expanders) o.expanders = config.expanders;
  if (config.scaleUp?.newPodDelay !== undefined) o.newPodScaleUpDelayMs = config.scaleUp.newPodDelay;
  if (config.scaleUp?.maxNodesPerScaleUp !== undefined)
    o.maxNodesPerScaleUp = config.scaleUp.maxNodesPerScaleUp;
  if (config.scaleUp?.maxNodeProvisionTime !== undefined)
    o.maxNodeProvisionTimeMs = config.scaleUp.maxNodeProvisionTime;
  if (config.scaleUp?.initialBackoff !== undefined) o.initialBackoffMs = config.scaleUp.initialBackoff;
  if (config.scaleUp?.maxBackoff !== undefined) o.maxBackoffMs = config.scaleUp.maxBackoff;
  const d = config.scaleDown;
  if (d?.utilizationThreshold !== undefined) o.scaleDownUtilizationThreshold = d.utilizationThreshold;
  if (d?.unneededTime !== undefined) o.scaleDownUnneededTimeMs = d.unneededTime;
  if (d?.unreadyTime !== undefined) o.scaleDownUnreadyTimeMs = d.unreadyTime;
  if (d?.delayAfterAdd !== undefined) o.scaleDownDelayAfterAddMs = d.delayAfterAdd;
  if (d?.delayAfterDelete !== undefined) o.scaleDownDelayAfterDeleteMs = d.delayAfterDelete;
  if (d?.delayAfterFailure !== undefined) o.scaleDownDelayAfterFailureMs = d.delayAfterFailure;
  if (d?.maxEmptyBulkDelete !== undefined) o.maxEmptyBulkDelete = d.maxEmptyBulkDelete;
  if (config.limits)
    o.limits = {
      maxNodesTotal: config.limits.maxNodesTotal,
      maxCores: config.limits.maxCores,
      maxMemoryBytes: config.limits.maxMemory,
      maxCostPerHour: config.limits.maxCostPerHour,
    };
  return o;
}
