/**
 * `npm run bench:actions`: what one scale action costs as a group's stack grows. Grows one group through
 * 10 and 100 nodes (and 1,000 with --full), and at each size times the whole `vpsie-autoscaler scale`
 * command for a one-node scale-up and the scale-down of that node, several runs each, sampling the PSS of
 * the command's whole process tree (the CLI and the pulumi engine it starts). Then one update that adds
 * 100 nodes to an empty group (and 1,000 with --full). File:// backend, the VPSie emulator with zero
 * provisioning delay, the image's NODE_OPTIONS. Writes bench-results/actions.json.
 *
 *   node dist/dev/bench/actions.js [--full] [--runs N] [--rate-limit PER_MINUTE] [--sizes 10,100] [--bursts 100]
 */
import { spawn } from "node:child_process";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { defaultEmulatorConfig, parseEmulatorConfig } from "../emulator/config.js";
import { startEmulator } from "../emulator/server.js";
import { tempDir } from "../testing/tempDir.js";
import { DEMO_CLUSTER, DEMO_TOKEN } from "../testing/emulator.js";
import { prepareProjectDir, writeGroupStackConfig } from "../../scaler/apply/projectDir.js";
import { repoRoot } from "../../scaler/tools/paths.js";
import { imageNodeOptions, median, printTable, round1, samplePss, writeResults } from "./report.js";

const TARGETS = {
  actionSecondsAt100: 5,
  actionSecondsAt1000: 8,
  ratio1000To10: 1.3,
  pssMiBAt100: 300,
  pssMiBAt1000: 400,
  burst100Seconds: 20,
  burst1000Seconds: 180,
};

const { values: flags } = parseArgs({
  options: {
    full: { type: "boolean", default: false },
    runs: { type: "string", default: "5" },
    "rate-limit": { type: "string", default: "600" },
    sizes: { type: "string" },
    bursts: { type: "string" },
  },
});
const list = (text: string | undefined, otherwise: number[]) =>
  text === undefined ? otherwise : text.split(",").filter(Boolean).map(Number);
const runs = Number(flags.runs);
const sizes = list(flags.sizes, flags.full ? [10, 100, 1000] : [10, 100]);
const bursts = list(flags.bursts, flags.full ? [100, 1000] : [100]);

interface Measured {
  seconds: number;
  pssMiB: number;
  byCommandMiB: Record<string, number>;
  created: string[];
}

const raw = structuredClone(defaultEmulatorConfig);
for (const account of raw.accounts) account.workerLimit = 10_000;
raw.behaviour = { provisionDelayMs: 0 };
const { emulator, url } = await startEmulator(parseEmulatorConfig(raw, "the bench world"));
const dir = await tempDir("bench-actions");
const env = {
  ...process.env,
  NODE_OPTIONS: await imageNodeOptions(),
  VPSIE_API_URL: url,
  VPSIE_TOKEN: DEMO_TOKEN,
  VPSIE_API_RATE_LIMIT: flags["rate-limit"],
  PULUMI_CONFIG_PASSPHRASE: "bench",
};

async function project(name: string): Promise<string> {
  const path = join(dir.path, name);
  await prepareProjectDir(path);
  await writeGroupStackConfig(path, {
    name: "general",
    cluster: DEMO_CLUSTER,
    kubeSizeId: 2,
    minNodes: 0,
    maxNodes: 10_000,
    nodes: [],
  });
  return path;
}

/** One `scale` command, timed from spawn to exit, with its process tree's peak PSS. */
async function scale(projectDir: string, change: string[]): Promise<Measured> {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, "bin", "vpsie-autoscaler.js"),
      "scale",
      "--group",
      "general",
      ...change,
      "--reason",
      "bench",
      "--project-dir",
      projectDir,
      "--work-dir",
      join(projectDir, ".work"),
      "--output",
      "json",
    ],
    { env, stdio: ["ignore", "pipe", "pipe"] },
  );
  const sampler = samplePss(child.pid ?? 0);
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const code = await new Promise<number>((resolve) => child.on("exit", (c) => resolve(c ?? 1)));
  sampler.stop();
  if (code !== 0) throw new Error(`scale ${change.join(" ")} exited with ${code}:\n${err}`);
  const result = JSON.parse(out) as { created: Array<{ key: string }> };
  return {
    seconds: (performance.now() - started) / 1000,
    ...sampler.peak(),
    created: result.created.map((c) => c.key),
  };
}

interface SizeResult {
  nodes: number;
  upSeconds: number[];
  downSeconds: number[];
  medianUpSeconds: number;
  medianDownSeconds: number;
  peakPssMiB: number;
  atPeakMiB: Record<string, number>;
}

const progress = (line: string) => process.stderr.write(`${line}\n`);

try {
  const growing = await project("growing");
  const results: SizeResult[] = [];
  let nodes = 0;
  for (const size of sizes) {
    progress(`growing the group ${nodes} → ${size} nodes …`);
    const grow = await scale(growing, ["--add", String(size - nodes)]);
    progress(`  grown in ${round1(grow.seconds)} s`);
    nodes = size;
    const up: number[] = [];
    const down: number[] = [];
    let peak: Measured | undefined;
    for (let run = 1; run <= runs; run++) {
      const add = await scale(growing, ["--add", "1"]);
      const remove = await scale(growing, ["--remove", ...add.created]);
      up.push(add.seconds);
      down.push(remove.seconds);
      for (const m of [add, remove]) if (!peak || m.pssMiB > peak.pssMiB) peak = m;
      progress(
        `  ${size} nodes, run ${run}/${runs}: +1 ${round1(add.seconds)} s, -1 ${round1(remove.seconds)} s, peak PSS ${Math.max(add.pssMiB, remove.pssMiB)} MiB`,
      );
    }
    results.push({
      nodes: size,
      upSeconds: up.map(round1),
      downSeconds: down.map(round1),
      medianUpSeconds: round1(median(up)),
      medianDownSeconds: round1(median(down)),
      peakPssMiB: peak?.pssMiB ?? 0,
      atPeakMiB: peak?.byCommandMiB ?? {},
    });
  }
  const burstResults = [];
  for (const count of bursts) {
    const fresh = await project(`burst-${count}`);
    progress(`one update adding ${count} nodes to an empty group …`);
    const before = emulator.requests.length;
    const burst = await scale(fresh, ["--add", String(count)]);
    const requests: Record<string, number> = {};
    for (const r of emulator.requests.slice(before)) {
      const route = `${r.method} ${r.path.replace(/[0-9a-f-]{36}/g, ":id").replace(/\/\d+/g, "/:n")}`;
      requests[route] = (requests[route] ?? 0) + 1;
    }
    progress(`  ${round1(burst.seconds)} s, peak PSS ${burst.pssMiB} MiB`);
    burstResults.push({
      nodes: count,
      seconds: round1(burst.seconds),
      peakPssMiB: burst.pssMiB,
      atPeakMiB: burst.byCommandMiB,
      requests,
    });
    progress(
      `  VPSie requests: ${Object.entries(requests)
        .map(([route, n]) => `${route} ×${n}`)
        .join(", ")}`,
    );
    await rm(fresh, { recursive: true, force: true });
  }

  const at = (n: number) => results.find((r) => r.nodes === n);
  const slower = (r: SizeResult | undefined) => Math.max(r?.medianUpSeconds ?? 0, r?.medianDownSeconds ?? 0);
  const checks: Array<{ target: string; measured: string; met: boolean }> = [];
  const check = (target: string, measured: string, met: boolean) => checks.push({ target, measured, met });
  if (at(100)) {
    check(
      `one-node action at 100 nodes ≤ ${TARGETS.actionSecondsAt100} s`,
      `${slower(at(100))} s`,
      slower(at(100)) <= TARGETS.actionSecondsAt100,
    );
    check(
      `peak PSS at 100 nodes ≤ ${TARGETS.pssMiBAt100} MiB`,
      `${at(100)?.peakPssMiB} MiB`,
      (at(100)?.peakPssMiB ?? 0) <= TARGETS.pssMiBAt100,
    );
  }
  if (at(1000)) {
    const ratio = Math.round((slower(at(1000)) / slower(at(10))) * 100) / 100;
    check(
      `one-node action at 1,000 nodes ≤ ${TARGETS.actionSecondsAt1000} s`,
      `${slower(at(1000))} s`,
      slower(at(1000)) <= TARGETS.actionSecondsAt1000,
    );
    check(`1,000 nodes ÷ 10 nodes ≤ ${TARGETS.ratio1000To10}×`, `${ratio}×`, ratio <= TARGETS.ratio1000To10);
    check(
      `peak PSS at 1,000 nodes ≤ ${TARGETS.pssMiBAt1000} MiB`,
      `${at(1000)?.peakPssMiB} MiB`,
      (at(1000)?.peakPssMiB ?? 0) <= TARGETS.pssMiBAt1000,
    );
  }
  for (const b of burstResults) {
    const limit = b.nodes >= 1000 ? TARGETS.burst1000Seconds : TARGETS.burst100Seconds;
    check(`one update adding ${b.nodes} nodes ≤ ${limit} s`, `${b.seconds} s`, b.seconds <= limit);
  }

  process.stdout.write(
    `\nscale actions (whole command, median of ${runs} runs; VPSIE_API_RATE_LIMIT=${flags["rate-limit"]}/min)\n`,
  );
  printTable(
    ["NODES", "SCALE_UP_S", "SCALE_DOWN_S", "PEAK_PSS_MIB", "AT_PEAK"],
    results.map((r) => [
      r.nodes,
      r.medianUpSeconds,
      r.medianDownSeconds,
      r.peakPssMiB,
      Object.entries(r.atPeakMiB)
        .map(([c, m]) => `${c} ${m}`)
        .join(", "),
    ]),
  );
  process.stdout.write("\nbursts\n");
  printTable(
    ["NODES_ADDED", "SECONDS", "PEAK_PSS_MIB", "AT_PEAK"],
    burstResults.map((b) => [
      b.nodes,
      b.seconds,
      b.peakPssMiB,
      Object.entries(b.atPeakMiB)
        .map(([c, m]) => `${c} ${m}`)
        .join(", "),
    ]),
  );
  process.stdout.write("\n");
  printTable(
    ["TARGET", "MEASURED", "MET"],
    checks.map((c) => [c.target, c.measured, c.met ? "yes" : "NO"]),
  );
  writeResults("actions", {
    runs,
    rateLimitPerMinute: Number(flags["rate-limit"]),
    nodeOptions: env.NODE_OPTIONS,
    sizes: results,
    bursts: burstResults,
    checks,
  });
  if (checks.some((c) => !c.met)) process.exitCode = 1;
} finally {
  await emulator.close();
  await dir.remove();
}
