/**
 * The chaos campaign's world: a real control plane, the VPSie emulator whose workers join as kwok
 * nodes, one node group whose stack file lives in a ConfigMap (as installed in a cluster), update
 * intents in another, a file:// state backend, and two `vpsie-autoscaler run` replicas with leader
 * election — each a process tree of its own, killed and restarted as a Deployment's pods would be.
 */
import type { ChildProcess } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AppsV1Api, CoreV1Api, PolicyV1Api } from "@kubernetes/client-node";
import { parse, stringify } from "yaml";
import { attachJoinHook } from "../emulator/joinHook.js";
import { spawnCliToLog } from "../testing/cli.js";
import { startCluster, type TestCluster } from "../testing/cluster.js";
import { GENERAL_GROUP, type TestEmulator, testEmulator } from "../testing/emulator.js";
import { killTree } from "../testing/processTree.js";
import { testProject, type TestProject } from "../testing/project.js";
import { Applier } from "../../scaler/apply/applier.js";
import { prepareProjectDir } from "../../scaler/apply/projectDir.js";
import { StackConfigMap } from "../../scaler/kubernetes/stackConfigMap.js";
import { parseLog, type ProcessLog } from "./logAudit.js";
import { clusterDown } from "../localcluster/controlPlane.js";

export const NAMESPACE = "kube-system";
export const STACKS = "vpsie-autoscaler-stacks";
export const INTENTS = "vpsie-autoscaler-intents";
export const GROUP = { ...GENERAL_GROUP, minNodes: 1, maxNodes: 5 };
/** Each web pod asks 1500m: two fit a node of the group's size (4 CPUs). */
export const POD_CPU = "1500m";
export const PODS_PER_NODE = 2;
export const PASSPHRASE = "chaos-passphrase";

export interface Replica {
  name: string;
  incarnation: number;
  child: ChildProcess;
  log: string;
  /** Each incarnation's log file and when it was killed. */
  history: Array<{ log: string; diedAt?: number }>;
}

export interface ChaosWorld {
  dir: string;
  cluster: TestCluster;
  sim: TestEmulator;
  project: TestProject;
  replicas: Replica[];
  core: CoreV1Api;
  /** Kills a replica's whole process tree (kill -9) and starts it again, as its pod would restart. */
  killAndRestart: (replica: Replica) => Promise<void>;
  /** The replica that leads now (its last leadership line says so), if any. */
  leader: () => Promise<Replica | undefined>;
  setWorkload: (replicas: number, pdb: boolean) => Promise<void>;
  /** Every process's log so far, for the audit. */
  logs: () => Promise<ProcessLog[]>;
  /** Stops every process and keeps the directories (a violation's world, for inspection). */
  stopProcesses: () => Promise<void>;
  /** Stops everything and removes the directories. */
  stop: () => Promise<void>;
}

export async function startChaosWorld(): Promise<ChaosWorld> {
  const cluster = await startCluster("chaos");
  const sim = await testEmulator((c) => {
    c.behaviour = { provisionDelayMs: 500 };
  });
  attachJoinHook(sim.emulator.world, cluster.record.kubeconfig, () => undefined);
  const project = await testProject("chaos");
  const dir = join(project.dir, "..");
  const core = cluster.kubeconfig.makeApiClient(CoreV1Api);
  const file = stringify({ config: { "vpsie-autoscaler:nodeGroups": [GROUP] } });
  await core.createNamespacedConfigMap({
    namespace: NAMESPACE,
    body: { metadata: { name: STACKS }, data: { "Pulumi.general.yaml": file } },
  });
  await core.createNamespacedConfigMap({
    namespace: NAMESPACE,
    body: { metadata: { name: INTENTS }, data: {} },
  });

  // A person gives the group its first node through the apply layer, as the install guide does.
  const person = join(dir, "person");
  await prepareProjectDir(person);
  const personStacks = new StackConfigMap(cluster.kubeconfig, NAMESPACE, STACKS, person);
  await personStacks.pull();
  await new Applier({
    projectDir: person,
    backendUrl: project.engine.backendUrl,
    pulumiHome: join(dir, "person-work", "pulumi-home"),
    stateDir: join(dir, "person-work", "scaler"),
    passphrase: PASSPHRASE,
    tools: project.engine.tools,
    client: sim.client(),
    publishStackConfig: (stack, after) => personStacks.publish(stack, after),
  }).apply({ group: "general", add: 1, remove: [], reason: "the group's first node" });

  const config = join(dir, "scaler.yaml");
  await writeFile(
    config,
    [
      `backend: ${project.engine.backendUrl}`,
      `stackConfigMap: ${NAMESPACE}/${STACKS}`,
      `intentConfigMap: ${NAMESPACE}/${INTENTS}`,
      "scanInterval: 2",
      "metricsAddress: 127.0.0.1:0",
      "lease: { durationSeconds: 6 }",
      // Shorter than cluster-autoscaler's 5 min backoff and the 3 min a lost add's answer is looked for,
      // as tests shorten timers, so a round's outage does not outlast its settle window.
      "scaleUp: { newPodDelay: 0s, initialBackoff: 20s, maxBackoff: 1m, lostAnswerWait: 30s }",
      "scaleDown: { unneededTime: 3s, delayAfterAdd: 3s, delayAfterFailure: 30s }",
      "",
    ].join("\n"),
  );
  const env = {
    ...process.env,
    VPSIE_API_URL: sim.url,
    VPSIE_TOKEN: "demo-token",
    PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
  };
  const spawnReplica = async (name: string, incarnation: number) => {
    const home = join(dir, name);
    await mkdir(home, { recursive: true });
    const log = join(home, `run-${incarnation}.log`);
    const child = spawnCliToLog(
      [
        "run",
        "--kubeconfig",
        cluster.record.kubeconfig,
        "--config",
        config,
        "--project-dir",
        join(home, "project"),
        "--work-dir",
        join(home, "work"),
      ],
      log,
      env,
    );
    return { child, log };
  };
  const replicas: Replica[] = [];
  for (const name of ["replica-a", "replica-b"]) {
    const { child, log } = await spawnReplica(name, 1);
    replicas.push({ name, incarnation: 1, child, log, history: [{ log }] });
  }

  const kill = async (replica: Replica) => {
    if (replica.child.exitCode !== null || replica.child.signalCode !== null) return;
    await killTree(replica.child.pid as number);
    const at = Date.now();
    const current = replica.history.at(-1);
    if (current) current.diedAt = at;
    await new Promise<void>((resolve) => {
      if (replica.child.exitCode !== null || replica.child.signalCode !== null) resolve();
      else replica.child.once("exit", () => resolve());
    });
  };

  const logs = async (): Promise<ProcessLog[]> =>
    Promise.all(
      replicas.flatMap((r) =>
        r.history.map(async (h, i) => ({
          name: `${r.name}#${i + 1}`,
          lines: parseLog(await readFile(h.log, "utf8").catch(() => "")),
          diedAt: h.diedAt,
        })),
      ),
    );

  const apps = cluster.kubeconfig.makeApiClient(AppsV1Api);
  const policy = cluster.kubeconfig.makeApiClient(PolicyV1Api);
  let deployed = false;
  let budget = false;

  return {
    dir,
    cluster,
    sim,
    project,
    replicas,
    core,
    killAndRestart: async (replica) => {
      await kill(replica);
      replica.incarnation += 1;
      const { child, log } = await spawnReplica(replica.name, replica.incarnation);
      replica.child = child;
      replica.log = log;
      replica.history.push({ log });
    },
    leader: async () => {
      for (const replica of replicas) {
        const lines = parseLog(await readFile(replica.log, "utf8").catch(() => "")).filter(
          (l) => l.msg.startsWith("became the leader") || l.msg.startsWith("stopped leading"),
        );
        if (lines.at(-1)?.msg.startsWith("became the leader")) return replica;
      }
      return undefined;
    },
    setWorkload: async (count, pdb) => {
      if (!deployed) {
        await apps.createNamespacedDeployment({
          namespace: "default",
          body: {
            metadata: { name: "web" },
            spec: {
              replicas: count,
              selector: { matchLabels: { app: "web" } },
              template: {
                metadata: { labels: { app: "web" } },
                spec: {
                  containers: [
                    { name: "web", image: "nginx", resources: { requests: { cpu: POD_CPU, memory: "1Gi" } } },
                  ],
                },
              },
            },
          },
        });
        deployed = true;
      } else {
        const scale = await apps.readNamespacedDeploymentScale({ name: "web", namespace: "default" });
        await apps.replaceNamespacedDeploymentScale({
          name: "web",
          namespace: "default",
          body: { ...scale, spec: { replicas: count } },
        });
      }
      if (pdb && !budget)
        await policy.createNamespacedPodDisruptionBudget({
          namespace: "default",
          body: {
            metadata: { name: "web" },
            spec: { maxUnavailable: 1, selector: { matchLabels: { app: "web" } } },
          },
        });
      if (!pdb && budget)
        await policy.deleteNamespacedPodDisruptionBudget({ name: "web", namespace: "default" });
      budget = pdb;
    },
    logs,
    stopProcesses: async () => {
      for (const replica of replicas) await kill(replica);
      await sim.stop();
      await clusterDown(cluster.record.dir, () => undefined);
    },
    stop: async () => {
      for (const replica of replicas) await kill(replica);
      await sim.stop();
      await cluster.stop();
      await project.remove();
    },
  };
}

/** The group's member keys as the stacks ConfigMap holds them (the truth people edit). */
export async function memberKeys(core: CoreV1Api): Promise<string[]> {
  const cm = await core.readNamespacedConfigMap({ name: STACKS, namespace: NAMESPACE });
  const parsed = parse(cm.data?.["Pulumi.general.yaml"] ?? "") as {
    config?: Record<string, Array<{ nodes?: string[] }>>;
  };
  return [...(parsed.config?.["vpsie-autoscaler:nodeGroups"]?.[0]?.nodes ?? [])].sort();
}
