/**
 * `npm run bench:scale`: the running scaler's own cost in a large cluster — what its informers hold
 * and what a loop of planning takes — with no scale action under way. A real control plane, N kwok
 * nodes of no managed group (so nothing is added or removed) and N × P small running pods (created
 * bound to their nodes), and
 * `vpsie-autoscaler run` with its defaults and the image's NODE_OPTIONS. Once it has planned, samples
 * for --seconds its RSS and its CPU (from /proc), and reads the loop's duration from its own metrics.
 * Writes bench-results/scale.json.
 *
 *   node dist/dev/bench/scale.js [--nodes 1000] [--pods-per-node 30] [--seconds 60] [--compare-with OTHER/bin/vpsie-autoscaler.js]
 */
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CoreV1Api } from "@kubernetes/client-node";
import { KWOK_ANNOTATION } from "../emulator/joinHook.js";
import { repoRoot } from "../../scaler/tools/paths.js";
import { eventually, startCluster } from "../testing/cluster.js";
import { spawnCliToLog } from "../testing/cli.js";
import { DEMO_TOKEN, GENERAL_GROUP, testEmulator } from "../testing/emulator.js";
import { testProject } from "../testing/project.js";
import { imageNodeOptions, median, mib, printTable, writeResults } from "./report.js";
import { freePort } from "../localcluster/controlPlane.js";

const TARGETS = { rssMiB: 150, idleMillicores: 20 };

const { values: flags } = parseArgs({
  options: {
    nodes: { type: "string", default: "1000" },
    "pods-per-node": { type: "string", default: "30" },
    seconds: { type: "string", default: "60" },
    /** Another build's bin/vpsie-autoscaler.js, measured on the same cluster after this one. */
    "compare-with": { type: "string", multiple: true },
  },
});
const nodes = Number(flags.nodes);
const podsPerNode = Number(flags["pods-per-node"]);
const seconds = Number(flags.seconds);
const pods = nodes * podsPerNode;
const progress = (line: string) => process.stderr.write(`${line}\n`);
const started = Date.now();
const elapsed = () => `${Math.round((Date.now() - started) / 1000)} s`;

/** In batches, so the API server is busy but not flooded. */
async function inBatches<T>(items: T[], size: number, each: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(each));
}

async function procStat(pid: number): Promise<{ rssKiB: number; cpuTicks: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return {
    rssKiB: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0),
    // utime and stime, fields 14 and 15 of /proc/PID/stat (11 and 12 after the command).
    cpuTicks: Number(fields[11]) + Number(fields[12]),
  };
}

/** Runs `run` from this CLI until it has planned twice, then samples it; stops it. */
async function measure(cli: string) {
  await mkdir(project.workDir, { recursive: true });
  const log = join(project.workDir, `run-${Date.now()}.log`);
  const metricsPort = await freePort();
  progress(`starting ${cli} run (log: ${log}) (${elapsed()}) …`);
  const run = spawnCliToLog(
    [
      "run",
      "--kubeconfig",
      cluster.record.kubeconfig,
      ...project.flags,
      "--metrics-address",
      `127.0.0.1:${metricsPort}`,
    ],
    log,
    {
      ...process.env,
      NODE_OPTIONS: await imageNodeOptions(),
      VPSIE_API_URL: sim.url,
      VPSIE_TOKEN: DEMO_TOKEN,
      PULUMI_CONFIG_PASSPHRASE: project.engine.passphrase,
    },
    cli,
  );
  try {
    const pid = run.pid ?? 0;
    const metrics = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const read = (text: string, what: "sum" | "count") =>
      Number(
        new RegExp(
          `cluster_autoscaler_function_duration_seconds_${what}\\{function="main"\\} ([\\d.e+-]+)`,
        ).exec(text)?.[1] ?? 0,
      );
    await eventually(
      "run to plan twice",
      async () =>
        (await metrics()
          .then((t) => read(t, "count"))
          .catch(() => 0)) >= 2
          ? true
          : undefined,
      300_000,
    );
    progress(`sampling for ${seconds} s …`);
    const first = await procStat(pid);
    const rss: number[] = [];
    const until = Date.now() + seconds * 1000;
    while (Date.now() < until) {
      rss.push((await procStat(pid)).rssKiB);
      await new Promise((r) => setTimeout(r, 500));
    }
    const last = await procStat(pid);
    const text = await metrics();
    return {
      cli,
      medianRssMiB: mib(median(rss)),
      peakRssMiB: mib(Math.max(...rss)),
      millicores: Math.round((((last.cpuTicks - first.cpuTicks) / 100) * 1000) / seconds),
      loops: read(text, "count"),
      meanLoopSeconds: Math.round((read(text, "sum") / read(text, "count")) * 100) / 100,
    };
  } finally {
    run.kill("SIGTERM");
    await new Promise((r) => run.once("exit", r));
  }
}

const cluster = await startCluster("bench-scale");
const sim = await testEmulator();
const project = await testProject("bench-scale");
const core = cluster.kubeconfig.makeApiClient(CoreV1Api);

try {
  await project.writeGroup({ ...GENERAL_GROUP, minNodes: 0, maxNodes: 10 });
  progress(`creating ${nodes} kwok nodes …`);
  const capacity = { cpu: "32", memory: "128Gi", pods: "110" };
  await inBatches(
    Array.from({ length: nodes }, (_, i) => `bench-node-${i}`),
    25,
    (name) =>
      core.createNode({
        body: {
          metadata: {
            name,
            annotations: { [KWOK_ANNOTATION]: "fake" },
            labels: { "kubernetes.io/hostname": name },
          },
          status: { capacity, allocatable: capacity },
        },
      }),
  );
  // Created bound to their nodes: the controller manager's and the scheduler's client rate limits
  // (20 and 50 requests a second) would take half an hour to place 30,000, and the scaler caches a pod
  // the same way whoever placed it. Each looks like a Deployment's, with the fields real pods carry.
  progress(`creating ${pods} pods (${elapsed()}) …`);
  await inBatches(
    Array.from({ length: pods }, (_, i) => i),
    100,
    (i) =>
      core.createNamespacedPod({
        namespace: "default",
        body: {
          metadata: {
            name: `app-${Math.floor(i / 300)}-${i}`,
            labels: { app: `app-${Math.floor(i / 300)}`, "pod-template-hash": "5d9f8c7b6" },
          },
          spec: {
            nodeName: `bench-node-${i % nodes}`,
            containers: [
              {
                name: "app",
                image: "registry.example.com/app:1",
                command: ["/app", "--serve"],
                env: [{ name: "MODE", value: "bench" }],
                ports: [{ containerPort: 8080 }],
                readinessProbe: { httpGet: { path: "/healthz", port: 8080 } },
                resources: { requests: { cpu: "10m", memory: "16Mi" } },
              },
            ],
          },
        },
      }),
  );
  await eventually(
    `${pods} pods to run`,
    async () => {
      let running = 0;
      let _continue: string | undefined;
      do {
        const page = await core.listNamespacedPod({ namespace: "default", limit: 5000, _continue });
        running += page.items.filter((p) => p.status?.phase === "Running").length;
        _continue = page.metadata?._continue;
      } while (_continue);
      if (running >= pods) return true;
      progress(`  ${running} of ${pods} running (${elapsed()})`);
      await new Promise((r) => setTimeout(r, 10_000));
      return undefined;
    },
    30 * 60_000,
  );

  const measured = [];
  for (const cli of [join(repoRoot, "bin", "vpsie-autoscaler.js"), ...(flags["compare-with"] ?? [])]) {
    const result = await measure(cli);
    measured.push(result);
    printTable(
      ["CLI", "NODES", "PODS", "MEDIAN_RSS_MIB", "PEAK_RSS_MIB", "CPU_MILLICORES", "LOOPS", "MEAN_LOOP_S"],
      [
        [
          cli,
          nodes,
          pods,
          result.medianRssMiB,
          result.peakRssMiB,
          result.millicores,
          result.loops,
          result.meanLoopSeconds,
        ],
      ],
    );
  }
  const ours = measured[0]!;
  const checks = [
    {
      target: `RSS ≤ ${TARGETS.rssMiB} MiB`,
      measured: `${ours.peakRssMiB} MiB`,
      met: ours.peakRssMiB <= TARGETS.rssMiB,
    },
    {
      target: `CPU ≤ ${TARGETS.idleMillicores} millicores, planning every scan interval`,
      measured: `${ours.millicores} m`,
      met: ours.millicores <= TARGETS.idleMillicores,
    },
  ];
  printTable(
    ["TARGET", "MEASURED", "MET"],
    checks.map((c) => [c.target, c.measured, c.met ? "yes" : "NO"]),
  );
  writeResults("scale", { nodes, pods, seconds, nodeOptions: await imageNodeOptions(), measured, checks });
  if (checks.some((c) => !c.met)) process.exitCode = 1;
} finally {
  await sim.stop();
  await cluster.stop();
  await project.remove();
}
