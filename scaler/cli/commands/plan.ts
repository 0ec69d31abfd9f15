import { readFile } from "node:fs/promises";
import { Command, InvalidArgumentError } from "commander";
import { z } from "zod";
import { parseGroupsFile, GroupsFileError } from "../../decision/groupsFile.js";
import { snapshotFromList, SnapshotError } from "../../decision/fromKubernetes.js";
import { EXPANDERS, type ExpanderName, emptyTimers, type TimersState } from "../../decision/options.js";
import { plan, type Plan } from "../../decision/plan.js";
import { seededRandom } from "../../decision/random.js";
import { formatTable, type OutputFormat, outputOption } from "../output.js";
import { describeCostChange, formatCost } from "../../decision/cost.js";
import { helpText } from "../help.js";
import { UsageError } from "../usageError.js";

function parseExpanders(value: string): ExpanderName[] {
  const names = value.split(",").map((s) => s.trim());
  for (const name of names) {
    if (!(EXPANDERS as readonly string[]).includes(name)) {
      throw new InvalidArgumentError(
        `unknown expander "${name}": use ${EXPANDERS.join(", ")}, or several joined by commas`,
      );
    }
  }
  return names as ExpanderName[];
}

function parseInstant(value: string): number {
  const at = Date.parse(value);
  if (Number.isNaN(at))
    throw new InvalidArgumentError(`"${value}" is not a time: use ISO 8601, e.g. 2026-11-24T10:00:00Z`);
  return at;
}

const instant = z.string().transform((value, ctx) => {
  const at = Date.parse(value);
  if (Number.isNaN(at)) ctx.addIssue({ code: "custom", message: `"${value}" is not an ISO 8601 time` });
  return at;
});

const TimersFile = z
  .object({
    unneededSince: z.record(z.string(), instant).default({}),
    lastScaleUp: instant.optional(),
    lastScaleDown: instant.optional(),
    lastScaleDownFailure: instant.optional(),
    backoff: z
      .record(
        z.string(),
        z
          .object({
            until: instant,
            failures: z.number().int().min(1),
            lastFailure: instant,
            reason: z.string(),
          })
          .strict(),
      )
      .default({}),
  })
  .strict();

async function readInput(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    throw new UsageError(
      `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${what} is not JSON: ${(err as Error).message}`);
  }
}

function timersToJson(timers: TimersState) {
  const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
  return {
    unneededSince: Object.fromEntries(Object.entries(timers.unneededSince).map(([k, v]) => [k, iso(v)])),
    lastScaleUp: iso(timers.lastScaleUp),
    lastScaleDown: iso(timers.lastScaleDown),
    lastScaleDownFailure: iso(timers.lastScaleDownFailure),
    backoff: Object.fromEntries(
      Object.entries(timers.backoff).map(([k, v]) => [
        k,
        { ...v, until: iso(v.until), lastFailure: iso(v.lastFailure) },
      ]),
    ),
  };
}

function printTable(result: Plan): void {
  const out: string[] = [];
  const section = (title: string, header: string[], rows: string[][], empty: string) => {
    out.push(`${title}\n`);
    out.push(rows.length ? formatTable(header, rows) : `  ${empty}\n`);
  };
  if (result.halted) out.push(`HALTED: ${result.halted}\n\n`);
  section(
    "SCALE-UP",
    ["GROUP", "FROM", "TO", "PODS", "COST", "WHY"],
    result.scaleUp.map((s) => [
      s.group,
      String(s.from),
      String(s.to),
      String(s.pods.length),
      s.cost ? describeCostChange(s.cost) : "unknown",
      s.reason,
    ]),
    "none",
  );
  if (result.scaleUp.length > 0)
    section(
      "\nSCALE-UP OPTIONS (what the expanders chose from)",
      ["FOR", "GROUP", "NEW NODES", "PODS", "ADDS"],
      result.scaleUp.flatMap((s) =>
        s.options.map((o) => [
          s.group,
          `${o.group}${o.group === s.group ? " (chosen)" : ""}`,
          String(o.newNodes),
          String(o.pods),
          o.costPerHour === undefined ? "unknown" : `${formatCost(o.costPerHour)}/h`,
        ]),
      ),
      "none",
    );
  section(
    "\nSCALE-DOWN",
    ["GROUP", "NODE", "WHY"],
    result.scaleDown.map((s) => [s.group, s.node, s.reason]),
    result.scaleDownPaused ? `none: ${result.scaleDownPaused}` : "none",
  );
  section(
    "\nPENDING PODS NO GROUP CAN HOST",
    ["POD", "GROUP", "WHY NOT"],
    result.noScaleUp.flatMap((n) => Object.entries(n.reasons).map(([group, why]) => [n.pod, group, why])),
    "none",
  );
  const pct = (v: number) => `${Math.round(v * 100)}%`;
  section(
    "\nNODES",
    ["NODE", "GROUP", "CPU", "MEMORY", "REMOVABLE", "WHY"],
    result.nodes.map((n) => [
      n.node,
      n.group ?? "-",
      pct(n.utilization.cpu),
      pct(n.utilization.memory),
      n.removable ? "yes" : "no",
      n.reason,
    ]),
    "no nodes",
  );
  process.stdout.write(`${out.join("")}`);
}

export function planCommand(): Command {
  return new Command("plan")
    .description(
      "decide scale-ups and scale-downs for a cluster snapshot, with the reason for every pending pod and every node; changes nothing",
    )
    .requiredOption("--snapshot <file>", "what `kubectl get nodes,pods,pdb -A -o json` prints")
    .requiredOption(
      "--groups <file>",
      "YAML with a top-level nodeGroups: list (name, minNodes, maxNodes, capacity, labels, taints, priority, pricePerHour)",
    )
    .option(
      "--expander <names>",
      `how to choose among groups: ${EXPANDERS.join(", ")}; several joined by commas`,
      parseExpanders,
      ["least-waste"] as ExpanderName[],
    )
    .addOption(outputOption())
    .option(
      "--respect-timers <state>",
      "JSON timers state (unneededSince, lastScaleUp, backoff …); without it, waiting times count as elapsed",
    )
    .option("--now <time>", "plan as of this time (ISO 8601; default: now)", parseInstant)
    .option("--seed <n>", "seed for the random expander and tie-breaks", (v) => Number.parseInt(v, 10))
    .addHelpText(
      "after",
      helpText({
        examples: [
          "kubectl get nodes,pods,pdb -A -o json > snapshot.json",
          "vpsie-autoscaler plan --snapshot snapshot.json --groups groups.yaml",
          "vpsie-autoscaler plan --snapshot snapshot.json --groups groups.yaml --expander priority,least-waste --output json",
          "vpsie-autoscaler plan --snapshot snapshot.json --groups groups.yaml --respect-timers timers.json --now 2026-12-01T10:00:00Z",
        ],
        environment: ["none: plan reads only its files"],
      }),
    )
    .action(
      async (opts: {
        snapshot: string;
        groups: string;
        expander: ExpanderName[];
        output: OutputFormat;
        respectTimers?: string;
        now?: number;
        seed?: number;
      }) => {
        let snapshot;
        let groupsFile;
        let timers = emptyTimers();
        try {
          snapshot = snapshotFromList(
            parseJson(await readInput(opts.snapshot, "--snapshot"), `--snapshot ${opts.snapshot}`),
          );
          groupsFile = parseGroupsFile(await readInput(opts.groups, "--groups"), opts.groups);
          if (opts.respectTimers) {
            const parsed = TimersFile.safeParse(
              parseJson(
                await readInput(opts.respectTimers, "--respect-timers"),
                `--respect-timers ${opts.respectTimers}`,
              ),
            );
            if (!parsed.success) {
              const issue = parsed.error.issues[0];
              throw new UsageError(
                `${opts.respectTimers}: ${issue?.path.join(".") || "(top level)"}: ${issue?.message}`,
              );
            }
            timers = parsed.data;
          }
        } catch (err) {
          if (err instanceof SnapshotError)
            throw new UsageError(`--snapshot ${opts.snapshot}: ${err.message}`);
          if (err instanceof GroupsFileError) throw new UsageError(err.message);
          throw err;
        }
        const result = plan({
          snapshot,
          groups: groupsFile.groups,
          timers,
          now: opts.now ?? Date.now(),
          options: { expanders: opts.expander, limits: groupsFile.limits },
          respectTimers: opts.respectTimers !== undefined,
          random: opts.seed === undefined ? Math.random : seededRandom(opts.seed),
        });
        if (opts.output === "json") {
          process.stdout.write(
            `${JSON.stringify({ ...result, timers: timersToJson(result.timers) }, null, 2)}\n`,
          );
        } else {
          printTable(result);
        }
      },
    );
}
