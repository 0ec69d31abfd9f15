/**
 * `npm run bench` (second part): the memory of one scale action, which the Deployment's 512Mi limit must
 * hold. Runs `vpsie-autoscaler scale` (the apply layer: the CLI process, the pulumi engine, the language
 * host, the program and the dynamic provider) against the VPSie emulator on a file:// backend, with the
 * image's NODE_OPTIONS, samples the process tree every 50 ms and prints each action's peak as PSS
 * (shared pages split among the processes that map them, as a cgroup charges them once) and as summed
 * RSS, with what each process had at the peak. Writes bench-results/update.json.
 */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultEmulatorConfig, parseEmulatorConfig } from "../emulator/config.js";
import { startEmulator } from "../emulator/server.js";
import { prepareProjectDir, writeGroupStackConfig } from "../../scaler/apply/projectDir.js";
import { repoRoot } from "../../scaler/tools/paths.js";

const CLUSTER = "6f1c9e52-3b0e-4d8a-9a55-1f2d3c4b5a69";
const LIMIT_MIB = 512;

/** The processes of an update, by what their command line says they are. */
const ROLES: Array<[role: string, pattern: RegExp]> = [
  ["scaler (CLI)", /vpsie-autoscaler\.js/],
  ["language host", /pulumi-language-nodejs/],
  ["dynamic provider", /pulumi-resource-pulumi-nodejs/],
  ["program", /@pulumi\/pulumi\/cmd\/run/],
  ["pulumi engine", /\/pulumi\s/],
];

interface Sample {
  pss: number;
  rss: number;
  byRole: Record<string, number>;
}

async function sampleTree(root: number): Promise<Sample> {
  const children = new Map<number, number[]>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const status = await readFile(`/proc/${entry}/status`, "utf8").catch(() => "");
    const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const sample: Sample = { pss: 0, rss: 0, byRole: {} };
  const visit = async (pid: number) => {
    const rollup = await readFile(`/proc/${pid}/smaps_rollup`, "utf8").catch(() => "");
    const command = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).replaceAll("\0", " ");
    const pss = Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
    sample.pss += pss;
    sample.rss += Number(/^Rss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
    const role = ROLES.find(([, pattern]) => pattern.test(command))?.[0] ?? "other";
    sample.byRole[role] = (sample.byRole[role] ?? 0) + pss;
    for (const child of children.get(pid) ?? []) await visit(child);
  };
  await visit(root);
  return sample;
}

const mib = (kib: number) => Math.round(kib / 1024);

async function peakOf(args: string[], env: NodeJS.ProcessEnv) {
  const started = Date.now();
  const child = spawn(process.execPath, [join(repoRoot, "bin", "vpsie-autoscaler.js"), ...args], {
    env,
    stdio: ["ignore", "ignore", "inherit"],
  });
  let peak: Sample = { pss: 0, rss: 0, byRole: {} };
  let peakRss = 0;
  const timer = setInterval(() => {
    if (child.pid)
      void sampleTree(child.pid).then((now) => {
        if (now.pss > peak.pss) peak = now;
        peakRss = Math.max(peakRss, now.rss);
      });
  }, 50);
  const code = await new Promise<number>((resolve) => child.on("exit", (c) => resolve(c ?? 1)));
  clearInterval(timer);
  if (code !== 0) throw new Error(`vpsie-autoscaler ${args.join(" ")} exited with ${code}`);
  return {
    peakPssMiB: mib(peak.pss),
    peakRssMiB: mib(peakRss),
    atPeakMiB: Object.fromEntries(Object.entries(peak.byRole).map(([role, kib]) => [role, mib(kib)])),
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
}

/** The image sets NODE_OPTIONS for every Node.js process in it (see the Dockerfile); measure with it. */
const dockerfile = await readFile(join(repoRoot, "Dockerfile"), "utf8");
const nodeOptions = /NODE_OPTIONS=("[^"]*"|\S+)/.exec(dockerfile)?.[1]?.replaceAll('"', "") ?? "";

const root = await mkdtemp(join(tmpdir(), "vpsie-autoscaler-bench-"));
const { emulator, url } = await startEmulator(
  parseEmulatorConfig(defaultEmulatorConfig, "the default world"),
);
try {
  const project = join(root, "project");
  await prepareProjectDir(project);
  await writeGroupStackConfig(project, {
    name: "general",
    cluster: CLUSTER,
    kubeSizeId: 2,
    minNodes: 0,
    maxNodes: 5,
    nodes: [],
  });
  const env = {
    ...process.env,
    NODE_OPTIONS: nodeOptions,
    VPSIE_API_URL: url,
    VPSIE_TOKEN: "demo-token",
    PULUMI_CONFIG_PASSPHRASE: "bench",
  };
  const common = ["--group", "general", "--project-dir", project, "--work-dir", join(root, "work")];
  const actions: Array<[string, string[]]> = [
    ["scale-up 0 → 1 (creates the group)", ["--add", "1"]],
    ["scale-up 1 → 3", ["--add", "2"]],
  ];
  const results = [];
  for (const [label, change] of actions) {
    process.stderr.write(`${label} …\n`);
    results.push({
      action: label,
      ...(await peakOf(["scale", ...common, ...change, "--reason", "bench"], env)),
    });
  }
  process.stdout.write(`NODE_OPTIONS=${nodeOptions}\n`);
  for (const r of results) {
    process.stdout.write(
      `${r.action.padEnd(36)}  peak PSS ${r.peakPssMiB} MiB (summed RSS ${r.peakRssMiB} MiB)  ${r.seconds} s\n`,
    );
    process.stdout.write(
      `  at the peak: ${Object.entries(r.atPeakMiB)
        .map(([role, m]) => `${role} ${m}`)
        .join(", ")} (MiB PSS)\n`,
    );
  }
  const peak = Math.max(...results.map((r) => r.peakPssMiB));
  const met = peak <= LIMIT_MIB;
  process.stdout.write(
    `\none update's process tree: peak PSS ${peak} MiB of the ${LIMIT_MIB} MiB limit (${LIMIT_MIB - peak} MiB left for what the running scaler holds beyond the CLI: its informers' caches): ${met ? "met" : "NOT MET"}\n`,
  );
  mkdirSync("bench-results", { recursive: true });
  writeFileSync(
    "bench-results/update.json",
    `${JSON.stringify({ nodeOptions, results, limitMiB: LIMIT_MIB, met }, null, 2)}\n`,
  );
  if (!met) process.exitCode = 1;
} finally {
  await emulator.close();
  await rm(root, { recursive: true, force: true });
}
