/**
 * What the replicas' logs prove about a campaign, read the way an auditor would: every process's
 * leadership (from `became the leader` to `stopped leading` or its death) and every action it started
 * (an update of a stack from `updating stack` or `recovering stack` to its end, a drain). Two invariants:
 * never two updates of one stack at once, and never an action by a process that does not lead alone.
 */

export interface LogLine {
  time: number;
  level: number;
  msg: string;
  stack?: string;
  group?: string;
}

/** One process's log: its lines, and when it was killed (its open intervals end there). */
export interface ProcessLog {
  name: string;
  lines: LogLine[];
  diedAt?: number;
}

interface Interval {
  process: string;
  from: number;
  to: number;
  what: string;
}

/** Parses a pino log (one JSON object a line); lines that are not JSON are skipped. */
export function parseLog(text: string): LogLine[] {
  return text.split("\n").flatMap((line) => {
    if (!line.startsWith("{")) return [];
    try {
      const o = JSON.parse(line) as Partial<LogLine>;
      return typeof o.time === "number" && typeof o.msg === "string"
        ? [{ time: o.time, level: o.level ?? 30, msg: o.msg, stack: o.stack, group: o.group }]
        : [];
    } catch {
      return [];
    }
  });
}

function leadership(log: ProcessLog, end: number): Interval[] {
  const intervals: Interval[] = [];
  let since: number | undefined;
  for (const line of log.lines) {
    if (line.msg.startsWith("became the leader")) since ??= line.time;
    if (line.msg.startsWith("stopped leading") && since !== undefined) {
      intervals.push({ process: log.name, from: since, to: line.time, what: "leading" });
      since = undefined;
    }
  }
  if (since !== undefined)
    intervals.push({ process: log.name, from: since, to: log.diedAt ?? end, what: "leading" });
  return intervals;
}

const UPDATE_START = /^(updating stack|recovering stack) /;
const ACTION_START = /^(updating stack|recovering stack|scale-down of \S+: (draining|removing empty)) /;

/** A stack's updates by one process: from their start to `done:`, a failure of the group's, or death. */
function updates(log: ProcessLog, end: number): Interval[] {
  const intervals: Interval[] = [];
  const open = new Map<string, { from: number; what: string }>();
  for (const line of log.lines) {
    const stack = line.stack ?? line.group;
    if (!stack) continue;
    if (UPDATE_START.test(line.msg) && !open.has(stack)) open.set(stack, { from: line.time, what: line.msg });
    const ended =
      line.msg.startsWith("done: ") ||
      line.msg.startsWith(`recovered ${stack}`) ||
      (line.level >= 50 && open.has(stack));
    const started = open.get(stack);
    if (ended && started) {
      intervals.push({
        process: log.name,
        from: started.from,
        to: line.time,
        what: `${stack}: ${started.what}`,
      });
      open.delete(stack);
    }
  }
  for (const [stack, started] of open)
    intervals.push({
      process: log.name,
      from: started.from,
      to: log.diedAt ?? end,
      what: `${stack}: ${started.what}`,
    });
  return intervals;
}

const overlap = (a: Interval, b: Interval) => a.from < b.to && b.from < a.to;

/** What the logs show against the two invariants, in words; [] when none is broken. */
export function auditLogs(logs: ProcessLog[], end = Date.now()): string[] {
  const violations: string[] = [];
  const all = logs.flatMap((log) => updates(log, end));
  for (const [i, a] of all.entries())
    for (const b of all.slice(i + 1)) {
      const stack = (x: Interval) => x.what.split(":")[0];
      if (a.process !== b.process && stack(a) === stack(b) && overlap(a, b))
        violations.push(
          `two updates of stack ${stack(a)} at once: ${a.process} (${a.what}) and ${b.process} (${b.what})`,
        );
    }
  const leading = logs.flatMap((log) => leadership(log, end));
  for (const log of logs)
    for (const line of log.lines) {
      if (!ACTION_START.test(line.msg)) continue;
      const leaders = leading.filter((l) => l.from <= line.time && line.time <= l.to);
      if (!leaders.some((l) => l.process === log.name))
        violations.push(
          `${log.name} acted without leading at ${new Date(line.time).toISOString()}: ${line.msg}`,
        );
      const others = leaders.filter((l) => l.process !== log.name);
      if (others.length > 0)
        violations.push(
          `${log.name} acted at ${new Date(line.time).toISOString()} while ${others.map((o) => o.process).join(", ")} also led: ${line.msg}`,
        );
    }
  return violations;
}
