/** What every benchmark shares: medians, a table for people, bench-results/<name>.json for scripts. */
import { mkdirSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { repoRoot } from "../../scaler/tools/paths.js";
import { processTree } from "../testing/processTree.js";

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** The value at quantile q (0..1) by nearest rank. */
export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

export const round1 = (n: number) => Math.round(n * 10) / 10;
export const mib = (kib: number) => Math.round(kib / 1024);

export function printTable(header: string[], rows: Array<Array<string | number>>): void {
  const cells = rows.map((row) => row.map(String));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => (row[i] ?? "").length)));
  for (const row of [header, ...cells])
    process.stdout.write(`${row.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ")}\n`);
}

export function writeResults(name: string, data: unknown): void {
  mkdirSync("bench-results", { recursive: true });
  writeFileSync(`bench-results/${name}.json`, `${JSON.stringify(data, null, 2)}\n`);
  process.stdout.write(`wrote bench-results/${name}.json\n`);
}

/**
 * PSS of a process and all its descendants, in KiB: shared pages split among the processes that map
 * them, as a cgroup charges them once. Summed RSS would count the Node.js binary once per process.
 */
export async function treePss(root: number): Promise<{ pssKiB: number; byCommand: Record<string, number> }> {
  let pssKiB = 0;
  const byCommand: Record<string, number> = {};
  for (const pid of await processTree(root)) {
    const rollup = await readFile(`/proc/${pid}/smaps_rollup`, "utf8").catch(() => "");
    const pss = Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
    const argv = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).split("\0");
    const command = /vpsie-autoscaler\.js$/.test(argv[1] ?? "")
      ? "scaler"
      : (argv[0] ?? "").split("/").pop() || "?";
    pssKiB += pss;
    byCommand[command] = (byCommand[command] ?? 0) + pss;
  }
  return { pssKiB, byCommand };
}

/** Samples a process tree's PSS every `everyMs` until stopped; `peak()` is the largest sample. */
export function samplePss(pid: number, everyMs = 50) {
  let peak = { pssKiB: 0, byCommand: {} as Record<string, number> };
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void treePss(pid)
      .then((now) => {
        if (now.pssKiB > peak.pssKiB) peak = now;
      })
      .finally(() => {
        busy = false;
      });
  }, everyMs);
  return {
    stop: () => clearInterval(timer),
    peak: () => ({
      pssMiB: mib(peak.pssKiB),
      byCommandMiB: Object.fromEntries(Object.entries(peak.byCommand).map(([c, kib]) => [c, mib(kib)])),
    }),
  };
}

/** The NODE_OPTIONS the image sets, so measured processes run as they do in the pod. */
export async function imageNodeOptions(): Promise<string> {
  const dockerfile = await readFile(join(repoRoot, "Dockerfile"), "utf8");
  return /NODE_OPTIONS=("[^"]*"|\S+)/.exec(dockerfile)?.[1]?.replaceAll('"', "") ?? "";
}
