/**
 * `npm run bench`: how long one plan takes and how much memory the process needs, for generated
 * clusters from 10 to 1,000 nodes × 30 pods with up to 1,000 pending pods. Each size runs in a fresh
 * process so its peak RSS is its own. Prints a table and writes bench-results/plan.json.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { emptyTimers } from "../../scaler/decision/options.js";
import { plan } from "../../scaler/decision/plan.js";
import { benchGroups, benchNow, benchSnapshot } from "./generate.js";
import { median, printTable, round1, writeResults } from "./report.js";

/** Each size twice: with pending pods (the scale-up path), and settled (scale-down simulates its candidates). */
const SIZES: Array<[nodes: number, pending: number]> = [
  [10, 10],
  [10, 0],
  [100, 100],
  [100, 0],
  [300, 300],
  [300, 0],
  [1000, 1000],
  [1000, 0],
];
const PODS_PER_NODE = 30;
const RUNS = 5;
/** The targets for 1,000 nodes × 30 pods + 1,000 pending on a 2-core machine. */
const TARGET_MS = 1000;
const TARGET_RSS_MIB = 256;

interface Result {
  nodes: number;
  pods: number;
  pending: number;
  medianMs: number;
  maxMs: number;
  peakRssMiB: number;
  scaleUps: number;
  scaleDowns: number;
}

function measure(nodes: number, pending: number): Result {
  const snapshot = benchSnapshot(nodes, PODS_PER_NODE, pending);
  const groups = benchGroups();
  const times: number[] = [];
  let last;
  for (let i = 0; i < RUNS + 1; i++) {
    const started = performance.now();
    last = plan({ snapshot, groups, timers: emptyTimers(), now: benchNow, respectTimers: false });
    if (i > 0) times.push(performance.now() - started); // the first run warms the JIT
  }
  return {
    nodes,
    pods: snapshot.pods.length,
    pending,
    medianMs: round1(median(times)),
    maxMs: round1(Math.max(...times)),
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    scaleUps: last?.scaleUp.reduce((n, s) => n + s.to - s.from, 0) ?? 0,
    scaleDowns: last?.scaleDown.length ?? 0,
  };
}

if (process.argv[2] === "--one") {
  process.stdout.write(JSON.stringify(measure(Number(process.argv[3]), Number(process.argv[4]))));
} else {
  const self = fileURLToPath(import.meta.url);
  const results: Result[] = SIZES.map(([nodes, pending]) => {
    process.stderr.write(`planning ${nodes} nodes × ${PODS_PER_NODE} pods + ${pending} pending …\n`);
    return JSON.parse(
      execFileSync(process.execPath, [self, "--one", String(nodes), String(pending)], { encoding: "utf8" }),
    ) as Result;
  });
  printTable(
    ["NODES", "PODS", "PENDING", "MEDIAN_MS", "MAX_MS", "PEAK_RSS_MIB", "NEW_NODES", "REMOVALS"],
    results.map((r) => [
      r.nodes,
      r.pods,
      r.pending,
      r.medianMs,
      r.maxMs,
      r.peakRssMiB,
      r.scaleUps,
      r.scaleDowns,
    ]),
  );
  const largest = results.filter((r) => r.nodes === 1000);
  const maxMs = Math.max(...largest.map((r) => r.maxMs));
  const peak = Math.max(...largest.map((r) => r.peakRssMiB));
  const met = maxMs <= TARGET_MS && peak <= TARGET_RSS_MIB;
  process.stdout.write(
    `\n1,000 nodes × ${PODS_PER_NODE} pods: max ${maxMs} ms (target ≤ ${TARGET_MS}), peak RSS ${peak} MiB (target ≤ ${TARGET_RSS_MIB}): ${met ? "met" : "NOT MET"}\n`,
  );
  writeResults("plan", { runs: RUNS, podsPerNode: PODS_PER_NODE, results, met });
  if (!met) process.exitCode = 1;
}
