/**
 * Go-style durations ("10m", "90s", "1h30m", "250ms"), as cluster-autoscaler's flags and Karpenter's
 * annotations write them: the one parser for configuration, annotations and flags.
 */
import { z } from "zod";

const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
const PART = /^(\d+(?:\.\d+)?)(ms|h|m|s)/;

/** Milliseconds, or undefined when the text is not a duration. */
export function parseDuration(text: string | undefined): number | undefined {
  let rest = text?.trim() ?? "";
  if (!rest) return undefined;
  let total = 0;
  while (rest) {
    const match = PART.exec(rest);
    if (!match) return undefined;
    total += Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
    rest = rest.slice(match[0].length);
  }
  return total;
}

export const DURATION_EXAMPLES = "e.g. 10m, 90s, 1h30m";

/** A zod schema: a duration string in, milliseconds out; the issue names the value and the form. */
export const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: "custom", message: `"${text}" is not a duration (${DURATION_EXAMPLES})` });
    return z.NEVER;
  }
  return ms;
});

/** For people: "90s", "10m", "1.5m". */
export function formatDuration(ms: number): string {
  const m = ms / 60_000;
  return m >= 1 ? `${Math.round(m * 10) / 10}m` : `${Math.round(ms / 1000)}s`;
}
