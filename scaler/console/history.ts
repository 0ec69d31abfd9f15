/**
 * What an update's message says, read back for the console: the keys it added and removed, the cost
 * change, who approved it and which commit it carried out. The apply layer writes these messages
 * (scaler/apply/applier.ts); a person's own `pulumi up` message simply has none of them.
 */
export interface UpdateSummary {
  kind?: string;
  added: string[];
  removed: string[];
  /** How many more keys the message left out ("… 90 more"). */
  more: number;
  /** "+$0.0667/h", and the group's "$0.2000/h" after it. */
  cost?: { delta: string; group: string };
  approvedBy?: string;
  commit?: string;
}

const HEAD = /^(scale-up|scale-down|scale|adopt|settings|recovery)\b/;
const KEYS = /^[a-z-]+ \S+ \d+ → \d+ \(([^)]*)\)/;
const COST = /\(([+-]?-?\$[\d.]+)\/h, group (\$[\d.]+)\/h\)/;
const APPROVED = /\(approved by ([^)]+)\)/;
const COMMIT = /\(commit ([0-9a-f]{7,40})\)$/;

export function summarizeUpdate(message: string): UpdateSummary {
  const keys = KEYS.exec(message)?.[1]?.split(" ") ?? [];
  const more = /… (\d+) more/.exec(keys.join(" "));
  const cost = COST.exec(message);
  return {
    kind: HEAD.exec(message)?.[1],
    added: keys.filter((k) => k.startsWith("+")).map((k) => k.slice(1)),
    removed: keys.filter((k) => k.startsWith("-")).map((k) => k.slice(1)),
    more: more ? Number(more[1]) : 0,
    ...(cost && { cost: { delta: cost[1] ?? "", group: cost[2] ?? "" } }),
    ...(APPROVED.exec(message) && { approvedBy: APPROVED.exec(message)?.[1] }),
    ...(COMMIT.exec(message) && { commit: COMMIT.exec(message)?.[1] }),
  };
}
