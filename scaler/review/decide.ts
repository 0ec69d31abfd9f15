/**
 * A person's decision on a pending action, from the CLI or the console: the record says who and when.
 * The leader applies an approved one at its next loop; a rejected one is never applied. Only a pending,
 * unexpired action can be decided, so nothing is approved twice or after it was dropped.
 */
import { ReviewNotFoundError, type ReviewStore } from "./store.js";
import type { ReviewRecord } from "./records.js";

export class ReviewDecisionError extends Error {
  override name = "ReviewDecisionError";
}

export async function decide(
  store: ReviewStore,
  id: string,
  decision: "approve" | "reject",
  by: string,
  now: Date,
  note?: string,
): Promise<ReviewRecord> {
  const who = by.trim();
  if (!who) throw new ReviewDecisionError("say who decides: a name or an email address");
  const record = await store.get(id);
  if (!record) throw new ReviewNotFoundError(`no review ${id} in ${store.description}`);
  if (record.status !== "pending")
    throw new ReviewDecisionError(
      `review ${id} is ${record.status}${record.decidedBy ? ` (by ${record.decidedBy})` : ""}: only a pending one can be decided`,
    );
  if (record.expiresAt && Date.parse(record.expiresAt) <= now.getTime())
    throw new ReviewDecisionError(`review ${id} expired at ${record.expiresAt}: the scaler plans it again`);
  const decided: ReviewRecord = {
    ...record,
    status: decision === "approve" ? "approved" : "rejected",
    decidedBy: who,
    decidedAt: now.toISOString(),
    ...(decision === "reject" && { outcome: `rejected by ${who}${note ? `: ${note}` : ""}` }),
  };
  await store.put(decided);
  return decided;
}
