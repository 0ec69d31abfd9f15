/**
 * The local demo: a real control plane, the VPSie emulator with its join hook, a file:// state and the
 * scaler; a workload that needs more nodes, then none; and the stack history at the end. No VPSie
 * account, no network: everything runs on 127.0.0.1 and is removed afterwards.
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AppsV1Api, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { defaultEmulatorConfig, parseEmulatorConfig } from "../emulator/config.js";
import { attachJoinHook } from "../emulator/joinHook.js";
import { startEmulator } from "../emulator/server.js";
import { Credentials } from "../../provider/vpsie/credentials.js";
import { VpsieClient } from "../../provider/vpsie/client.js";
import { Applier, applierDirs } from "../../scaler/apply/applier.js";
import { prepareProjectDir, writeGroupStackConfig } from "../../scaler/apply/projectDir.js";
import { Scaler } from "../../scaler/controller/compose.js";
import { NODE_GROUP_LABEL } from "../../scaler/decision/types.js";
import { clusterDown, clusterUp } from "../localcluster/controlPlane.js";
import { selectProjectStack } from "../../scaler/pulumi/workspace.js";
import { resolveControlPlane } from "../toolchain/kube.js";
import { resolvePulumi } from "../../scaler/tools/pulumi.js";

const GROUP = "general";
const REPLICAS = 4;

export interface DemoResult {
  history: Array<{ time: string; kind: string; result: string; message: string }>;
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  progress: (m: string) => void,
  timeoutMs = 240_000,
): Promise<T> {
  const started = Date.now();
  let last = "";
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    const elapsed = Math.round((Date.now() - started) / 1000);
    if (Date.now() - started > timeoutMs) throw new Error(`gave up waiting for ${what} after ${elapsed}s`);
    if (what !== last || elapsed % 10 === 0) progress(`waiting for ${what} (${elapsed}s so far)`);
    last = what;
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

export async function runDemo(progress: (m: string) => void, keep: boolean): Promise<DemoResult> {
  const pulumi = await resolvePulumi();
  const kube = await resolveControlPlane();
  const root = await mkdtemp(join(tmpdir(), "vpsie-autoscaler-demo-"));
  const stops: Array<() => Promise<unknown>> = [];
  try {
    progress(`starting a local Kubernetes ${kube.kubernetesVersion} control plane in ${root}/cluster`);
    const cluster = await clusterUp(join(root, "cluster"), kube, progress);
    stops.push(() => clusterDown(join(root, "cluster"), () => undefined));

    const config = parseEmulatorConfig(
      { ...defaultEmulatorConfig, behaviour: { provisionDelayMs: 3_000 } },
      "the demo configuration",
    );
    const { emulator, url } = await startEmulator(config, { stateFile: join(root, "vpsie-sim.json") });
    stops.push(() => emulator.close());
    attachJoinHook(emulator.world, cluster.kubeconfig, () => undefined);
    const clusterId = config.clusters[0]?.identifier ?? "";
    progress(
      `VPSie emulator on ${url}: cluster ${clusterId}; running workers join the local cluster as Nodes`,
    );

    // The scaler and the Pulumi CLI it runs read these; the token is the emulator's demo account's.
    process.env.VPSIE_API_URL = url;
    process.env.VPSIE_TOKEN = "demo-token";
    const client = new VpsieClient({ credentials: Credentials.token("demo-token"), apiUrl: url });
    const projectDir = join(root, "project");
    await prepareProjectDir(projectDir);
    await writeGroupStackConfig(projectDir, {
      name: GROUP,
      cluster: clusterId,
      kubeSizeId: 2,
      minNodes: 1,
      maxNodes: 4,
      labels: { tier: "demo" },
      nodes: [],
    });
    await mkdir(join(root, "state"));
    const engine = {
      projectDir,
      backendUrl: `file://${join(root, "state")}`,
      ...applierDirs(join(root, "work")),
      passphrase: randomBytes(24).toString("base64url"),
      tools: pulumi,
    };
    const applier = new Applier({ ...engine, client, progress });
    progress(
      `node group ${GROUP} (4 CPU, 8 GiB nodes, 1 to 4 of them): creating its first node through Pulumi`,
    );
    await applier.apply({ group: GROUP, add: 1, remove: [], reason: "the demo group's minimum of one node" });

    const kubeconfig = new KubeConfig();
    kubeconfig.loadFromFile(cluster.kubeconfig);
    const scaler = new Scaler({
      kubeconfig,
      apply: applier,
      client,
      projectDir,
      scanIntervalSeconds: 2,
      // Demo timers: minutes become seconds so the scale-down shows within the demo.
      planner: { scaleDownUnneededTimeMs: 15_000, scaleDownDelayAfterAddMs: 15_000 },
      drain: { evictionTimeoutMs: 30_000, terminationTimeoutMs: 60_000 },
      log: (_level, message) => progress(`scaler: ${message}`),
    });
    await scaler.start();
    stops.unshift(() => scaler.stop());

    const core = kubeconfig.makeApiClient(CoreV1Api);
    const apps = kubeconfig.makeApiClient(AppsV1Api);
    // Every node of this cluster is the group's (new ones get the label a moment after they join).
    const groupNodes = async () => (await core.listNode()).items;
    await waitFor(
      "the first node to join and be labelled",
      async () =>
        (await groupNodes()).some((n) => n.metadata?.labels?.[NODE_GROUP_LABEL] === GROUP) ? true : undefined,
      progress,
    );

    progress(`deploying demo-web: ${REPLICAS} replicas of 1.5 CPU and 1 GiB; one node holds two`);
    await apps.createNamespacedDeployment({
      namespace: "default",
      body: {
        metadata: { name: "demo-web" },
        spec: {
          replicas: REPLICAS,
          selector: { matchLabels: { app: "demo-web" } },
          template: {
            metadata: { labels: { app: "demo-web" } },
            spec: {
              containers: [
                { name: "web", image: "nginx", resources: { requests: { cpu: "1500m", memory: "1Gi" } } },
              ],
            },
          },
        },
      },
    });
    await waitFor(
      `all ${REPLICAS} demo-web pods Running`,
      async () => {
        const pods = (await core.listNamespacedPod({ namespace: "default", labelSelector: "app=demo-web" }))
          .items;
        const running = pods.filter((p) => p.status?.phase === "Running").length;
        progress(
          `demo-web: ${running}/${REPLICAS} Running, ${pods.length - running} Pending; nodes in ${GROUP}: ${(await groupNodes()).length}`,
        );
        return running === REPLICAS ? true : undefined;
      },
      progress,
    );
    progress(`scale-up done: ${(await groupNodes()).length} nodes in ${GROUP}`);

    progress("removing demo-web: the extra node becomes unneeded and is drained and removed after 15 s");
    await apps.deleteNamespacedDeployment({ name: "demo-web", namespace: "default" });
    await waitFor(
      `${GROUP} to shrink back to its minimum of 1 node`,
      async () => ((await groupNodes()).length === 1 ? true : undefined),
      progress,
    );
    await scaler.stop(); // lets the scale-down's update finish
    progress("scale-down done");

    const stack = await selectProjectStack({ ...engine, stackName: GROUP });
    const history = (await stack.history()).map((h) => ({
      time: new Date(h.startTime).toISOString(),
      kind: h.kind,
      result: h.result,
      message: h.message,
    }));
    return { history };
  } finally {
    progress(keep ? `kept everything in ${root}` : "stopping the scaler, the emulator and the control plane");
    for (const stop of stops) await stop().catch(() => undefined);
    if (!keep) await rm(root, { recursive: true, force: true });
  }
}
