/**
 * Reviews of scale actions, as data: what shadow mode would have done, and what waits for a person's
 * approval. Each record carries the action's reason, its preview (the diff people review), its cost
 * and, for an approval, the saved update plan the approved update is held to. Parsed once where a
 * record is read (a file, a ConfigMap key), so a hand-edited or truncated one is refused by name.
 */
import { randomBytes } from "node:crypto";
import { z } from "zod";

export const REVIEW_KINDS = ["scale-up", "scale-down", "adopt", "settings", "remove-unregistered"] as const;
export type ReviewKind = (typeof REVIEW_KINDS)[number];

export const REVIEW_STATUSES = [
  /** Shadow mode's record of what it would have done. */
  "shadow",
  "pending",
  "approved",
  "rejected",
  "applied",
  "failed",
  /** Not decided in time: dropped, and the action is planned again. */
  "expired",
  /** The group or the cluster changed after the preview: dropped, and planned again. */
  "stale",
] as const;
export type ReviewStatus = (typeof REVIEW_STATUSES)[number];

const Cost = z.object({ deltaPerHour: z.number(), groupPerHour: z.number() });

/** What an id looks like; anything else (a path, markup) is no id. */
export const REVIEW_ID = /^[a-z0-9-]{1,64}$/;

export const ReviewRecord = z.object({
  id: z.string().regex(REVIEW_ID),
  status: z.enum(REVIEW_STATUSES),
  kind: z.enum(REVIEW_KINDS),
  group: z.string().min(1),
  /** Nodes added, and member keys removed (with their node names). */
  add: z.number().int().min(0),
  remove: z.array(z.object({ key: z.string(), node: z.string() })),
  /** Pending pods a scale-up is for; pods a scale-down evicts. */
  pods: z.array(z.string()),
  reason: z.string(),
  /** Why it waits for review (the policy's rule), when it does. */
  rule: z.string().optional(),
  /** The update's message, diff and resource changes, from the engine's preview. */
  message: z.string(),
  diff: z.string(),
  changes: z.record(z.string(), z.number()),
  cost: Cost.optional(),
  /** The new member keys and the members the preview started from. */
  keys: z.array(z.string()),
  members: z.array(z.string()),
  /** The saved update plan (`pulumi preview --save-plan`), JSON text. */
  plan: z.string().optional(),
  createdAt: z.iso.datetime(),
  /** Shadow mode: the last loop that decided the same again, and how many did. */
  lastSeenAt: z.iso.datetime(),
  seen: z.number().int().min(1),
  expiresAt: z.iso.datetime().optional(),
  decidedBy: z.string().optional(),
  decidedAt: z.iso.datetime().optional(),
  /** What became of it: the update's message, or why it was dropped or failed. */
  outcome: z.string().optional(),
});
export type ReviewRecord = z.output<typeof ReviewRecord>;

export class ReviewRecordError extends Error {
  override name = "ReviewRecordError";
}

export function parseReviewRecord(text: string, source: string): ReviewRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ReviewRecordError(`${source} is not JSON: ${(err as Error).message}`);
  }
  const result = ReviewRecord.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ReviewRecordError(`${source}: ${issue?.path.join(".") || "(top level)"}: ${issue?.message}`);
  }
  return result.data;
}

/** Sortable by time, short enough to type: `20261201-111500-3f9a`. */
export function newReviewId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15).toLowerCase();
  return `${stamp}-${randomBytes(2).toString("hex")}`;
}

/** Whether two actions of a group are the same decision (shadow mode counts it again instead of recording it twice). */
export function sameAction(
  a: Pick<ReviewRecord, "group" | "kind" | "add" | "remove">,
  b: Pick<ReviewRecord, "group" | "kind" | "add" | "remove">,
): boolean {
  const nodes = (r: typeof a) =>
    r.remove
      .map((x) => x.node)
      .sort()
      .join(",");
  return a.group === b.group && a.kind === b.kind && a.add === b.add && nodes(a) === nodes(b);
}
