/**
 * `npm run bench:peer`: vpsie-autoscaler beside Karpenter (its kwok provider, built from the Go module
 * proxy by `npm run tools`), each alone on a fresh local control plane, with the same catalogue (the
 * emulator's VPSie Kubernetes sizes and hourly prices: Karpenter's instance types, our node groups one
 * per size), the same node registration delay, the same consolidation delay, and the same workload:
 * Karpenter's basic performance workload (half the pods at 900m/3100Mi, half at 3500m/28Gi), then a
 * scale-in to 70 % of the replicas. Records time to all pods Running, nodes and sizes, $/h, reservation,
 * time for the scale-in to settle, and each controller's peak PSS and CPU seconds (ours with every
 * Pulumi process it starts). Writes bench-results/peer.json.
 *
 *   node dist/dev/bench/peer.js [--pods 1000] [--registration-delay 5] [--consolidate-after 30]
 *                               [--quiet 120] [--max-minutes 30] [--scale-in-minutes M] [--only ours|karpenter]
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { openSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type V1Node, type V1Pod } from "@kubernetes/client-node";
import { NODE_GROUP_LABEL } from "../../scaler/decision/types.js";
import { parseQuantity } from "../../scaler/units/quantity.js";
import { defaultEmulatorConfig } from "../emulator/config.js";
import { attachJoinHook } from "../emulator/joinHook.js";
import { spawnCliToLog } from "../testing/cli.js";
import { startCluster, type TestCluster } from "../testing/cluster.js";
import { DEMO_CLUSTER, DEMO_DC, DEMO_TOKEN, testEmulator } from "../testing/emulator.js";
import { processTree } from "../testing/processTree.js";
import { testProject } from "../testing/project.js";
import { tempDir } from "../testing/tempDir.js";
import { resolveControlPlane } from "../toolchain/kube.js";
import { KARPENTER, resolveGoTool } from "../toolchain/goTools.js";
import { imageNodeOptions, printTable, round1, samplePss, writeResults } from "./report.js";
import { freePort } from "../localcluster/controlPlane.js";

const run = promisify(execFile);

/**
 * The emulator's sizes, and two more on the same price line (VPSie prices its Kubernetes sizes per vCPU
 * with 2 GB each): without them no node holds a 28Gi pod. VPSie's real offers endpoint is not reachable
 * from here.
 */
export const PEER_SIZES = [
  ...(defaultEmulatorConfig.offers[DEMO_DC] ?? []),
  { id: 4, name: "k8s-16c-32g", cpu: 16, ramMb: 32768, diskGb: 640, priceMonthly: 192, priceHourly: 0.2667 },
  { id: 5, name: "k8s-32c-64g", cpu: 32, ramMb: 65536, diskGb: 1280, priceMonthly: 384, priceHourly: 0.5333 },
];
const PODS_PER_NODE = 110;

/** Karpenter's basic performance test (test/suites/performance, v1.13.0): two shapes, half each. */
const SHAPES = [
  { name: "small", cpu: "900m", memory: "3100Mi" },
  { name: "large", cpu: "3500m", memory: "28Gi" },
];

const { values: flags } = parseArgs({
  options: {
    pods: { type: "string", default: "1000" },
    "registration-delay": { type: "string", default: "5" },
    "consolidate-after": { type: "string", default: "30" },
    quiet: { type: "string", default: "120" },
    "max-minutes": { type: "string", default: "30" },
    /** How long the scale-in may take to settle (default: --max-minutes). */
    "scale-in-minutes": { type: "string" },
    only: { type: "string" },
  },
});
const totalPods = Number(flags.pods);
const registrationDelay = Number(flags["registration-delay"]);
const consolidateAfter = Number(flags["consolidate-after"]);
const quietSeconds = Number(flags.quiet);
const maxMs = Number(flags["max-minutes"]) * 60_000;
const scaleInMs = Number(flags["scale-in-minutes"] ?? flags["max-minutes"]) * 60_000;
const started = Date.now();
const progress = (line: string) =>
  process.stderr.write(`[${String(Math.round((Date.now() - started) / 1000)).padStart(5)} s] ${line}\n`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds of a process tree: every live process's, and what its reaped children used. */
async function treeCpuSeconds(root: number): Promise<number> {
  let ticks = 0;
  for (const pid of await processTree(root)) {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime, stime, cutime, cstime: fields 14–17 of /proc/PID/stat.
    ticks +=
      Number(fields[11] ?? 0) + Number(fields[12] ?? 0) + Number(fields[13] ?? 0) + Number(fields[14] ?? 0);
  }
  return ticks / 100;
}

interface Snapshot {
  nodes: V1Node[];
  pods: V1Pod[];
}

async function observe(core: CoreV1Api): Promise<Snapshot> {
  const [nodes, pods] = await Promise.all([
    core.listNode(),
    core.listNamespacedPod({ namespace: "default", labelSelector: "bench=peer" }),
  ]);
  return { nodes: nodes.items, pods: pods.items };
}

const running = (s: Snapshot) =>
  s.pods.filter((p) => p.status?.phase === "Running" && !p.metadata?.deletionTimestamp).length;

/** What the nodes cost and how full their requests make them. */
function account(s: Snapshot, sizeOf: (node: V1Node) => string | undefined) {
  const bySize: Record<string, number> = {};
  let dollars = 0;
  let cpu = 0;
  let memory = 0;
  for (const node of s.nodes) {
    const name = sizeOf(node) ?? "?";
    bySize[name] = (bySize[name] ?? 0) + 1;
    dollars += PEER_SIZES.find((z) => z.name === name)?.priceHourly ?? 0;
    cpu += parseQuantity(node.status?.allocatable?.cpu ?? "0");
    memory += parseQuantity(node.status?.allocatable?.memory ?? "0");
  }
  let cpuRequested = 0;
  let memoryRequested = 0;
  for (const pod of s.pods.filter((p) => p.spec?.nodeName && p.status?.phase === "Running")) {
    for (const c of pod.spec?.containers ?? []) {
      cpuRequested += parseQuantity(c.resources?.requests?.cpu ?? "0");
      memoryRequested += parseQuantity(c.resources?.requests?.memory ?? "0");
    }
  }
  return {
    nodes: s.nodes.length,
    bySize,
    dollarsPerHour: Math.round(dollars * 1000) / 1000,
    cpuReservation: cpu ? round1((100 * cpuRequested) / cpu) : 0,
    memoryReservation: memory ? round1((100 * memoryRequested) / memory) : 0,
  };
}

async function deployWorkload(apps: AppsV1Api, replicas: (shape: string) => number) {
  for (const shape of SHAPES) {
    await apps.createNamespacedDeployment({
      namespace: "default",
      body: {
        metadata: { name: shape.name },
        spec: {
          replicas: replicas(shape.name),
          selector: { matchLabels: { app: shape.name } },
          template: {
            metadata: { labels: { app: shape.name, bench: "peer" } },
            spec: {
              terminationGracePeriodSeconds: 0,
              containers: [
                {
                  name: "app",
                  image: "registry.example.com/pause:3.10",
                  resources: { requests: { cpu: shape.cpu, memory: shape.memory } },
                },
              ],
            },
          },
        },
      },
    });
  }
}

interface Autoscaler {
  name: "ours" | "karpenter";
  sizeOf: (node: V1Node) => string | undefined;
  start: (cluster: TestCluster, dir: string) => Promise<{ child: ChildProcess; stop: () => Promise<void> }>;
}

/** One autoscaler alone on a fresh control plane, through the whole workload. */
async function measure(autoscaler: Autoscaler) {
  const dir = await tempDir(`peer-${autoscaler.name}`);
  const cluster = await startCluster(`peer-${autoscaler.name}`);
  const core = cluster.kubeconfig.makeApiClient(CoreV1Api);
  const apps = cluster.kubeconfig.makeApiClient(AppsV1Api);
  let controller: Awaited<ReturnType<Autoscaler["start"]>> | undefined;
  try {
    controller = await autoscaler.start(cluster, dir.path);
    const pid = controller.child.pid ?? 0;
    const pss = samplePss(pid, 500);
    const half = Math.floor(totalPods / 2);
    const replicas = { small: totalPods - half, large: half };
    progress(
      `${autoscaler.name}: creating ${totalPods} pods (${replicas.small} small, ${replicas.large} large)`,
    );
    const createdAt = Date.now();
    await deployWorkload(apps, (shape) => replicas[shape as keyof typeof replicas]);
    let snapshot = await observe(core);
    let lastReport = 0;
    while (running(snapshot) < totalPods) {
      if (Date.now() - createdAt > maxMs)
        throw new Error(`${autoscaler.name}: pods not all running after ${maxMs / 60_000} min`);
      if (Date.now() - lastReport > 10_000) {
        progress(
          `${autoscaler.name}: ${running(snapshot)} of ${totalPods} running, ${snapshot.nodes.length} nodes`,
        );
        lastReport = Date.now();
      }
      await sleep(1_000);
      snapshot = await observe(core);
    }
    const healthySeconds = round1((Date.now() - createdAt) / 1000);
    const scaleOut = account(snapshot, autoscaler.sizeOf);
    progress(
      `${autoscaler.name}: all ${totalPods} running after ${healthySeconds} s on ${scaleOut.nodes} nodes`,
    );

    const kept = { small: Math.round(replicas.small * 0.7), large: Math.round(replicas.large * 0.7) };
    const scaleInAt = Date.now();
    for (const shape of SHAPES)
      await apps.patchNamespacedDeploymentScale({
        name: shape.name,
        namespace: "default",
        body: [{ op: "replace", path: "/spec/replicas", value: kept[shape.name as keyof typeof kept] }],
      });
    const target = kept.small + kept.large;
    let nodeNames = snapshot.nodes
      .map((n) => n.metadata?.name)
      .sort()
      .join(",");
    let lastChange = Date.now();
    for (;;) {
      await sleep(2_000);
      snapshot = await observe(core);
      const names = snapshot.nodes
        .map((n) => n.metadata?.name)
        .sort()
        .join(",");
      if (names !== nodeNames) {
        nodeNames = names;
        lastChange = Date.now();
        progress(
          `${autoscaler.name}: ${snapshot.nodes.length} nodes, ${running(snapshot)} of ${target} running`,
        );
      }
      const settled =
        Date.now() - lastChange >= quietSeconds * 1000 && running(snapshot) === snapshot.pods.length;
      if (settled) break;
      if (Date.now() - scaleInAt > scaleInMs) {
        progress(`${autoscaler.name}: the scale-in did not settle in ${scaleInMs / 60_000} min`);
        break;
      }
    }
    const settleSeconds = round1((lastChange - scaleInAt) / 1000);
    const scaleIn = account(snapshot, autoscaler.sizeOf);
    const cpuSeconds = round1(await treeCpuSeconds(pid));
    pss.stop();
    return {
      autoscaler: autoscaler.name,
      pods: totalPods,
      healthySeconds,
      scaleOut,
      scaleInPods: target,
      settleSeconds,
      scaleIn,
      controller: { peakPssMiB: pss.peak().pssMiB, byCommandMiB: pss.peak().byCommandMiB, cpuSeconds },
    };
  } finally {
    await controller?.stop();
    await cluster.stop();
    await dir.remove();
  }
}

/** vpsie-autoscaler: the emulator with the catalogue, one node group per size, `run` with its defaults. */
const ours: Autoscaler = {
  name: "ours",
  // The size a worker was made with: a node that just registered has no group label until the loop
  // labels it, and its capacity is its size's (each size has its own vCPU count).
  sizeOf: (node) =>
    PEER_SIZES.find((s) => String(s.cpu) === node.status?.capacity?.cpu)?.name ??
    node.metadata?.labels?.[NODE_GROUP_LABEL],
  async start(cluster, dir) {
    const sim = await testEmulator((c) => {
      c.offers = { [DEMO_DC]: PEER_SIZES };
      c.behaviour = { provisionDelayMs: registrationDelay * 1000 };
      for (const account of c.accounts) account.workerLimit = 100_000;
    });
    attachJoinHook(sim.emulator.world, cluster.record.kubeconfig, () => undefined);
    const project = await testProject("peer");
    // Each group exists at VPSie with no workers, as cluster-autoscaler's node groups exist at size 0:
    // the scaler reads a group's node size from VPSie's group.
    const client = sim.client();
    for (const size of PEER_SIZES)
      await client.createNodeGroup({ clusterIdentifier: DEMO_CLUSTER, name: size.name, kubeSizeId: size.id });
    for (const size of PEER_SIZES)
      await project.writeGroup({
        name: size.name,
        cluster: DEMO_CLUSTER,
        kubeSizeId: size.id,
        minNodes: 0,
        maxNodes: 1000,
        nodes: [],
      });
    const config = join(dir, "scaler.yaml");
    // Defaults, but for the consolidation delay both get: Karpenter's consolidateAfter, our unneeded
    // time and delay after a scale-up (cluster-autoscaler's 10 min each would outlast the run).
    await writeFile(
      config,
      `scaleDown: { unneededTime: ${consolidateAfter}s, delayAfterAdd: ${consolidateAfter}s }\nmetricsAddress: 127.0.0.1:${await freePort()}\n`,
    );
    const child = spawnCliToLog(
      ["run", "--kubeconfig", cluster.record.kubeconfig, ...project.flags, "--config", config],
      join(dir, "..", `peer-ours-${Date.now()}.log`),
      {
        ...process.env,
        NODE_OPTIONS: await imageNodeOptions(),
        VPSIE_API_URL: sim.url,
        VPSIE_TOKEN: DEMO_TOKEN,
        PULUMI_CONFIG_PASSPHRASE: project.engine.passphrase,
      },
    );
    return {
      child,
      stop: async () => {
        child.kill("SIGTERM");
        await new Promise((r) => child.once("exit", r));
        await sim.stop();
        await project.remove();
      },
    };
  },
};

/** Karpenter's kwok provider with its CRDs, a NodePool and a KWOKNodeClass, on the same catalogue. */
const karpenter: Autoscaler = {
  name: "karpenter",
  sizeOf: (node) => node.metadata?.labels?.["node.kubernetes.io/instance-type"],
  async start(cluster, dir) {
    const tool = await resolveGoTool(KARPENTER);
    const [kubectl = "kubectl", ...pre] = (await resolveControlPlane()).kubectl;
    const kubeconfig = cluster.record.kubeconfig;
    await run(kubectl, [
      ...pre,
      "--kubeconfig",
      kubeconfig,
      "apply",
      "--server-side",
      "-f",
      join(tool.home, "crds"),
    ]);
    await run(kubectl, [
      ...pre,
      "--kubeconfig",
      kubeconfig,
      "wait",
      "--for=condition=Established",
      "crd",
      "--all",
      "--timeout=60s",
    ]);
    const instanceTypes = join(dir, "instance-types.json");
    await writeFile(
      instanceTypes,
      JSON.stringify(
        PEER_SIZES.map((s) => ({
          name: s.name,
          // The provider's own file format (kwok/cloudprovider/instance_types.json): one zone, on-demand.
          offerings: [
            {
              Price: s.priceHourly,
              Available: true,
              Requirements: [
                { key: "karpenter.sh/capacity-type", operator: "In", values: ["on-demand"] },
                { key: "topology.kubernetes.io/zone", operator: "In", values: ["hel1-a"] },
              ],
            },
          ],
          architecture: "amd64",
          operatingSystems: ["linux"],
          resources: {
            cpu: String(s.cpu),
            memory: `${s.ramMb}Mi`,
            "ephemeral-storage": `${s.diskGb}Gi`,
            pods: String(PODS_PER_NODE),
          },
        })),
        null,
        2,
      ),
    );
    const custom = cluster.kubeconfig.makeApiClient(CustomObjectsApi);
    await custom.createClusterCustomObject({
      group: "karpenter.kwok.sh",
      version: "v1alpha1",
      plural: "kwoknodeclasses",
      body: {
        apiVersion: "karpenter.kwok.sh/v1alpha1",
        kind: "KWOKNodeClass",
        metadata: { name: "default" },
        spec: { nodeRegistrationDelay: `${registrationDelay}s` },
      },
    });
    await custom.createClusterCustomObject({
      group: "karpenter.sh",
      version: "v1",
      plural: "nodepools",
      body: {
        apiVersion: "karpenter.sh/v1",
        kind: "NodePool",
        metadata: { name: "default" },
        spec: {
          template: {
            spec: {
              requirements: [{ key: "karpenter.sh/capacity-type", operator: "In", values: ["on-demand"] }],
              nodeClassRef: { group: "karpenter.kwok.sh", kind: "KWOKNodeClass", name: "default" },
              expireAfter: "Never",
            },
          },
          disruption: {
            consolidationPolicy: "WhenEmptyOrUnderutilized",
            consolidateAfter: `${consolidateAfter}s`,
          },
        },
      },
    });
    const log = join(dir, "..", `peer-karpenter-${Date.now()}.log`);
    const fd = openSync(log, "a");
    const child = spawn(tool.command[0] ?? "karpenter-kwok", tool.command.slice(1), {
      stdio: ["ignore", fd, fd],
      env: {
        ...process.env,
        KUBECONFIG: kubeconfig,
        DISABLE_LEADER_ELECTION: "true",
        SYSTEM_NAMESPACE: "kube-system",
        INSTANCE_TYPES_FILE_PATH: instanceTypes,
        METRICS_PORT: String(await freePort()),
        HEALTH_PROBE_PORT: String(await freePort()),
        LOG_LEVEL: "info",
      },
    });
    return {
      child,
      stop: async () => {
        child.kill("SIGTERM");
        await new Promise((r) => child.once("exit", r));
      },
    };
  },
};

const results: Array<Awaited<ReturnType<typeof measure>>> = [];
for (const autoscaler of [ours, karpenter].filter((a) => !flags.only || a.name === flags.only)) {
  progress(`${autoscaler.name}: starting on a fresh control plane`);
  results.push(await measure(autoscaler));
}
const [a, b] = results;
const ratio = (x: number, y: number) => (y ? `${Math.round((x / y) * 100) / 100}×` : "–");
const rows: Array<[string, (r: (typeof results)[number]) => number | string, boolean]> = [
  ["time to all pods Running (s)", (r) => r.healthySeconds, true],
  ["nodes after scale-out", (r) => r.scaleOut.nodes, true],
  [
    "sizes after scale-out",
    (r) =>
      Object.entries(r.scaleOut.bySize)
        .map(([s, n]) => `${n}×${s}`)
        .join(" "),
    false,
  ],
  ["$/h after scale-out", (r) => r.scaleOut.dollarsPerHour, true],
  ["CPU reservation after scale-out (%)", (r) => r.scaleOut.cpuReservation, true],
  ["memory reservation after scale-out (%)", (r) => r.scaleOut.memoryReservation, true],
  ["scale-in settled after (s)", (r) => r.settleSeconds, true],
  ["nodes after scale-in", (r) => r.scaleIn.nodes, true],
  ["$/h after scale-in", (r) => r.scaleIn.dollarsPerHour, true],
  ["CPU reservation after scale-in (%)", (r) => r.scaleIn.cpuReservation, true],
  ["memory reservation after scale-in (%)", (r) => r.scaleIn.memoryReservation, true],
  ["controller peak PSS (MiB)", (r) => r.controller.peakPssMiB, true],
  ["controller CPU (s)", (r) => r.controller.cpuSeconds, true],
];
printTable(
  ["", ...results.map((r) => r.autoscaler), ...(b ? ["ours / karpenter"] : [])],
  rows.map(([label, value, numeric]) => [
    label,
    ...results.map((r) => value(r)),
    ...(a && b ? [numeric ? ratio(Number(value(a)), Number(value(b))) : ""] : []),
  ]),
);
writeResults("peer", {
  pods: totalPods,
  registrationDelaySeconds: registrationDelay,
  consolidateAfterSeconds: consolidateAfter,
  quietSeconds,
  sizes: PEER_SIZES,
  results,
});
