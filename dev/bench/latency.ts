/**
 * `npm run bench:latency`: how long `vpsie-autoscaler run` takes from a pod turning Unschedulable to its
 * add-worker request reaching VPSie, measured as cluster-autoscaler defines its decision SLO. A real
 * control plane with kwok nodes, a group already at 100 nodes (each filled by one pod), and the `run`
 * command with its defaults. Each sample creates one pod that fits no node, notes when the watch sees its
 * PodScheduled=False/Unschedulable condition, and finds the first add-worker request after it in the
 * emulator's request log; then waits for the pod to run on its new node. Also samples the PSS of the
 * `run` process tree (the scaler and any update in flight). Writes bench-results/latency.json.
 *
 *   node dist/dev/bench/latency.js [--nodes N] [--samples N]
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { AppsV1Api, CoreV1Api, Watch, type V1Pod } from "@kubernetes/client-node";
import { attachJoinHook } from "../emulator/joinHook.js";
import { Applier } from "../../scaler/apply/applier.js";
import { eventually, startCluster } from "../testing/cluster.js";
import { spawnCliToLog } from "../testing/cli.js";
import { DEMO_TOKEN, GENERAL_GROUP, testEmulator } from "../testing/emulator.js";
import { testProject } from "../testing/project.js";
import { imageNodeOptions, printTable, quantile, round1, samplePss, writeResults } from "./report.js";

const TARGETS = { p50Seconds: 5, p95Seconds: 10 };

const { values: flags } = parseArgs({
  options: { nodes: { type: "string", default: "100" }, samples: { type: "string", default: "20" } },
});
const nodes = Number(flags.nodes);
const samples = Number(flags.samples);
const progress = (line: string) => process.stderr.write(`${line}\n`);
/** Three quarters of a size-2 node (4 CPU): one such pod per node, so each new one needs a new node. */
const POD_CPU = "3";

const cluster = await startCluster("bench-latency");
const sim = await testEmulator((c) => {
  for (const account of c.accounts) account.workerLimit = 10_000;
  c.behaviour = { provisionDelayMs: 0 };
});
attachJoinHook(sim.emulator.world, cluster.record.kubeconfig, (line) => {
  if (line.includes("giving up")) progress(line);
});
process.env.VPSIE_API_URL = sim.url;
process.env.VPSIE_TOKEN = DEMO_TOKEN;
process.env.VPSIE_API_RATE_LIMIT = "600";
const project = await testProject("bench-latency");
const core = cluster.kubeconfig.makeApiClient(CoreV1Api);
let run: ReturnType<typeof spawn> | undefined;
let stopWatch: (() => void) | undefined;

const pod = (name: string, labels: Record<string, string>) => ({
  metadata: { name, labels },
  spec: {
    containers: [{ name: "app", image: "app", resources: { requests: { cpu: POD_CPU, memory: "1Gi" } } }],
  },
});

try {
  await project.writeGroup({ ...GENERAL_GROUP, maxNodes: nodes + samples + 10 });
  progress(`growing the group to ${nodes} nodes …`);
  await new Applier({ ...project.engine, client: sim.client() }).apply({
    group: "general",
    add: nodes,
    remove: [],
    reason: "the bench's cluster",
  });
  await eventually(
    `${nodes} nodes to join`,
    async () => {
      const joined = (await core.listNode()).items.length;
      if (joined >= nodes) return true;
      progress(`  ${joined} of ${nodes} joined`);
      await new Promise((r) => setTimeout(r, 5_000));
      return undefined;
    },
    180_000,
  );
  progress(`filling the ${nodes} nodes …`);
  await cluster.kubeconfig.makeApiClient(AppsV1Api).createNamespacedDeployment({
    namespace: "default",
    body: {
      metadata: { name: "filler" },
      spec: {
        replicas: nodes,
        selector: { matchLabels: { app: "filler" } },
        template: pod("filler", { app: "filler" }),
      },
    },
  });
  await eventually(
    `${nodes} filler pods to run`,
    async () => {
      const pods = (await core.listNamespacedPod({ namespace: "default", labelSelector: "app=filler" }))
        .items;
      return pods.filter((p) => p.status?.phase === "Running").length === nodes ? true : undefined;
    },
    180_000,
  );

  const log = join(project.workDir, "run.log");
  progress(`starting vpsie-autoscaler run (log: ${log}) …`);
  run = spawnCliToLog(
    ["run", "--kubeconfig", cluster.record.kubeconfig, ...project.flags, "--metrics-address", "127.0.0.1:0"],
    log,
    {
      ...process.env,
      NODE_OPTIONS: await imageNodeOptions(),
      PULUMI_CONFIG_PASSPHRASE: project.engine.passphrase,
    },
  );
  const memory = samplePss(run.pid ?? 0, 200);
  await eventually(
    "run to lead",
    async () => ((await readFile(log, "utf8")).includes("became the leader") ? true : undefined),
    60_000,
  );

  const unschedulableAt = new Map<string, number>();
  const scheduledAt = new Map<string, number>();
  const request = await new Watch(cluster.kubeconfig).watch(
    "/api/v1/namespaces/default/pods",
    { labelSelector: "bench=latency" },
    (_type: string, p: V1Pod) => {
      const name = p.metadata?.name ?? "";
      const condition = p.status?.conditions?.find((c) => c.type === "PodScheduled");
      if (condition?.status === "False" && condition.reason === "Unschedulable" && !unschedulableAt.has(name))
        unschedulableAt.set(name, Date.now());
      if (condition?.status === "True" && !scheduledAt.has(name)) scheduledAt.set(name, Date.now());
    },
    () => undefined,
  );
  stopWatch = () => request.abort();

  const rows = [];
  for (let i = 1; i <= samples; i++) {
    const name = `probe-${i}`;
    await core.createNamespacedPod({ namespace: "default", body: pod(name, { bench: "latency" }) });
    const pending = await eventually(
      `${name} to be Unschedulable`,
      async () => unschedulableAt.get(name),
      30_000,
    );
    const added = await eventually(
      `the add-worker request for ${name}`,
      async () => {
        const adds = await sim.requests(/add\/slave/);
        const first = adds.find((r) => Date.parse(r.time) >= pending - 5);
        return first ? Date.parse(first.time) : undefined;
      },
      60_000,
    );
    const scheduled = await eventually(`${name} to be scheduled`, async () => scheduledAt.get(name), 120_000);
    const row = {
      pod: name,
      decisionSeconds: round1((added - pending) / 1000),
      scheduledSeconds: round1((scheduled - pending) / 1000),
    };
    rows.push(row);
    progress(
      `  ${i}/${samples}: add-worker request ${row.decisionSeconds} s, pod scheduled ${row.scheduledSeconds} s after Unschedulable`,
    );
  }
  memory.stop();
  const decisions = rows.map((r) => r.decisionSeconds);
  const p50 = quantile(decisions, 0.5);
  const p95 = quantile(decisions, 0.95);
  const scheduledP50 = quantile(
    rows.map((r) => r.scheduledSeconds),
    0.5,
  );
  const runPss = memory.peak();
  const checks = [
    {
      target: `Unschedulable → add-worker p50 ≤ ${TARGETS.p50Seconds} s`,
      measured: `${p50} s`,
      met: p50 <= TARGETS.p50Seconds,
    },
    {
      target: `Unschedulable → add-worker p95 ≤ ${TARGETS.p95Seconds} s`,
      measured: `${p95} s`,
      met: p95 <= TARGETS.p95Seconds,
    },
  ];
  process.stdout.write(
    `\n${samples} scale-ups by \`run\` with ${nodes}+ nodes in the cluster; Unschedulable → scheduled on the new node p50 ${scheduledP50} s; peak PSS of the run process tree ${runPss.pssMiB} MiB (${Object.entries(
      runPss.byCommandMiB,
    )
      .map(([c, m]) => `${c} ${m}`)
      .join(", ")})\n`,
  );
  printTable(
    ["TARGET", "MEASURED", "MET"],
    checks.map((c) => [c.target, c.measured, c.met ? "yes" : "NO"]),
  );
  writeResults("latency", { nodes, samples: rows, p50, p95, scheduledP50, runPeakPss: runPss, checks });
  if (checks.some((c) => !c.met)) process.exitCode = 1;
} finally {
  stopWatch?.();
  run?.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 1_000));
  if (run && run.exitCode === null) run.kill("SIGKILL");
  await sim.stop();
  await cluster.stop();
  await project.remove();
}
