/**
 * A real Kubernetes control plane on loopback for tests and the demo: etcd, kube-apiserver,
 * kube-scheduler, kube-controller-manager, and kwok to play the kubelets. Everything lives in one
 * directory (data, keys, kubeconfig, logs, and cluster.json, which records what runs), so several
 * clusters can run side by side and `down` needs nothing but the directory.
 */
import { execFile, spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { closeSync, openSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { stringify as toYaml } from "yaml";
import { processAlive } from "../../scaler/system/processes.js";
import type { ControlPlaneTools } from "../toolchain/kube.js";

export const KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node";

export interface ComponentRecord {
  name: string;
  pid: number;
  log: string;
  /** Where its health answers; absent for components that serve none we check. */
  healthUrl?: string;
}

export interface ClusterRecord {
  dir: string;
  server: string;
  kubeconfig: string;
  kubernetesVersion: string;
  startedAt: string;
  /** Seconds from the first process to a ready API server and running controllers. */
  startupSeconds: number;
  ports: Record<string, number>;
  components: ComponentRecord[];
}

export type Progress = (message: string) => void;

const RECORD = "cluster.json";
const execFileAsync = promisify(execFile);

/** A port nothing listens on at 127.0.0.1 now: the one way dev code picks ports. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolvePort(address.port) : reject(new Error("no port")),
      );
    });
  });
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.once("error", () => resolveFree(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolveFree(true)));
  });
}

/** GET a URL on loopback; the API server's certificate is its own self-signed one, so it is not verified here. */
function probe(url: string, token?: string): Promise<number> {
  return new Promise((resolveStatus) => {
    const request = url.startsWith("https:") ? httpsRequest : httpRequest;
    const req = request(
      url,
      {
        rejectUnauthorized: false,
        timeout: 2_000,
        headers: token ? { Authorization: `Bearer ${token}` } : {},
      },
      (res) => {
        res.resume();
        resolveStatus(res.statusCode ?? 0);
      },
    );
    req.on("error", () => resolveStatus(0));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

/** Only processes whose command line names this cluster's directory are ours to stop (pids get reused). */
async function ownedBy(pid: number, dir: string): Promise<boolean> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, "utf8")).includes(dir);
  } catch {
    return processAlive(pid);
  }
}

async function tail(path: string, lines = 15): Promise<string> {
  const text = await readFile(path, "utf8").catch(() => "");
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  options: { timeoutMs: number; progress: Progress; component?: ComponentRecord },
): Promise<void> {
  const started = Date.now();
  let reported = started;
  for (;;) {
    if (await check()) return;
    const { component } = options;
    if (component && !processAlive(component.pid)) {
      throw new Error(
        `${component.name} exited while waiting for ${what}; the end of ${component.log}:\n${await tail(component.log)}`,
      );
    }
    if (Date.now() - started > options.timeoutMs) {
      const logs = component ? `; the end of ${component.log}:\n${await tail(component.log)}` : "";
      throw new Error(`gave up waiting for ${what} after ${options.timeoutMs / 1000}s${logs}`);
    }
    if (Date.now() - reported >= 10_000) {
      reported = Date.now();
      options.progress(`still waiting for ${what}: ${Math.round((Date.now() - started) / 1000)}s so far`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

function startComponent(
  dir: string,
  name: string,
  command: string[],
  args: string[],
  healthUrl?: string,
): ComponentRecord {
  const log = join(dir, "logs", `${name}.log`);
  const fd = openSync(log, "a");
  const [file, ...prefix] = command;
  // Detached into its own process group, so `down` from another process can stop it and its children.
  const child = spawn(file ?? "", [...prefix, ...args], {
    detached: true,
    stdio: ["ignore", fd, fd],
    cwd: dir,
  });
  closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${name} (${file})`);
  return { name, pid: child.pid, log, healthUrl };
}

export async function readRecord(dir: string): Promise<ClusterRecord | undefined> {
  const text = await readFile(join(resolve(dir), RECORD), "utf8").catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as ClusterRecord);
}

/** Starts a control plane in `dir` and returns once the API server is ready and the controllers run. */
/**
 * Ports are picked free and bound by the components a moment later; another process on the machine
 * may take one in between. Such a start is stopped and made again with other ports.
 */
export async function clusterUp(
  dirArg: string,
  tools: ControlPlaneTools,
  progress: Progress,
  options: { timeoutMs?: number } = {},
): Promise<ClusterRecord> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startCluster(dirArg, tools, progress, options);
    } catch (err) {
      if (attempt >= 3 || !/address already in use/.test((err as Error).message)) throw err;
      progress(`a port was taken while the cluster started; starting it again with other ports`);
      await clusterDown(dirArg, () => undefined);
    }
  }
}

async function startCluster(
  dirArg: string,
  tools: ControlPlaneTools,
  progress: Progress,
  options: { timeoutMs?: number },
): Promise<ClusterRecord> {
  const dir = resolve(dirArg);
  const existing = await readRecord(dir);
  if (existing && existing.components.some((c) => processAlive(c.pid))) {
    throw new Error(
      `a cluster already runs in ${dir}: stop it with \`vpsie-autoscaler cluster down --dir ${dirArg}\``,
    );
  }
  const timeoutMs = options.timeoutMs ?? 120_000;
  const started = Date.now();
  await mkdir(join(dir, "logs"), { recursive: true });
  await mkdir(join(dir, "pki"), { recursive: true });

  const ports = {
    etcdClient: await freePort(),
    etcdPeer: await freePort(),
    apiserver: await freePort(),
    scheduler: await freePort(),
    controllerManager: await freePort(),
    kwok: await freePort(),
  };
  const token = randomBytes(24).toString("hex");
  const pki = join(dir, "pki");
  await writeFile(join(pki, "tokens.csv"), `${token},admin,admin,"system:masters"\n`, { mode: 0o600 });
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  await writeFile(join(pki, "sa.pub"), publicKey.export({ type: "spki", format: "pem" }));
  await writeFile(join(pki, "sa.key"), privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  // Every request, without bodies: enough to show which calls a ServiceAccount made and whether RBAC let it.
  await writeFile(
    join(dir, "audit-policy.yaml"),
    "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n  - level: Metadata\n",
  );

  const components: ComponentRecord[] = [];
  const record = (): ClusterRecord => ({
    dir,
    server: `https://127.0.0.1:${ports.apiserver}`,
    kubeconfig: join(dir, "kubeconfig"),
    kubernetesVersion: tools.kubernetesVersion,
    startedAt: new Date(started).toISOString(),
    startupSeconds: Math.round((Date.now() - started) / 100) / 10,
    ports,
    components,
  });
  const save = () => writeFile(join(dir, RECORD), `${JSON.stringify(record(), null, 2)}\n`);

  try {
    progress(`starting etcd ${tools.etcdVersion}`);
    const etcdUrl = `http://127.0.0.1:${ports.etcdClient}`;
    const etcd = startComponent(
      dir,
      "etcd",
      tools.etcd,
      [
        "--name=default",
        `--data-dir=${join(dir, "etcd")}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
        `--initial-cluster=default=http://127.0.0.1:${ports.etcdPeer}`,
        "--unsafe-no-fsync",
        "--log-level=warn",
      ],
      `${etcdUrl}/health`,
    );
    components.push(etcd);
    await save();
    await waitFor("etcd", async () => (await probe(`${etcdUrl}/health`)) === 200, {
      timeoutMs,
      progress,
      component: etcd,
    });

    progress(`starting kube-apiserver v${tools.kubernetesVersion}`);
    const server = `https://127.0.0.1:${ports.apiserver}`;
    const apiserver = startComponent(
      dir,
      "kube-apiserver",
      tools.apiserver,
      [
        `--etcd-servers=${etcdUrl}`,
        `--cert-dir=${pki}`,
        `--secure-port=${ports.apiserver}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        "--service-cluster-ip-range=10.0.0.0/24",
        "--allow-privileged=true",
        "--authorization-mode=RBAC",
        `--token-auth-file=${join(pki, "tokens.csv")}`,
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        `--service-account-key-file=${join(pki, "sa.pub")}`,
        `--service-account-signing-key-file=${join(pki, "sa.key")}`,
        // Pods here run on kwok, not a kubelet: nothing would mount their service-account tokens.
        "--disable-admission-plugins=ServiceAccount",
        `--audit-policy-file=${join(dir, "audit-policy.yaml")}`,
        `--audit-log-path=${join(dir, "logs", "audit.log")}`,
        "--audit-log-format=json",
        "--audit-log-maxsize=100",
      ],
      `${server}/readyz`,
    );
    components.push(apiserver);
    await save();
    await waitFor(
      "the API server to be ready",
      async () => (await probe(`${server}/readyz`, token)) === 200,
      {
        timeoutMs,
        progress,
        component: apiserver,
      },
    );

    const ca = await readFile(join(pki, "apiserver.crt"));
    await writeFile(
      join(dir, "kubeconfig"),
      toYaml({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
          { name: "local", cluster: { server, "certificate-authority-data": ca.toString("base64") } },
        ],
        users: [{ name: "admin", user: { token } }],
        contexts: [{ name: "local", context: { cluster: "local", user: "admin" } }],
        "current-context": "local",
      }),
      { mode: 0o600 },
    );
    const kubeconfig = join(dir, "kubeconfig");

    progress("starting kube-scheduler, kube-controller-manager and kwok");
    const [kwokFile, ...kwokPrefix] = tools.kwok;
    const { stdout: stages } = await execFileAsync(kwokFile ?? "kwok", [...kwokPrefix, "stages"]);
    await writeFile(join(dir, "kwok-stages.yaml"), stages);
    components.push(
      startComponent(
        dir,
        "kube-scheduler",
        tools.scheduler,
        [
          `--kubeconfig=${kubeconfig}`,
          "--leader-elect=false",
          `--secure-port=${ports.scheduler}`,
          "--bind-address=127.0.0.1",
        ],
        `https://127.0.0.1:${ports.scheduler}/healthz`,
      ),
      startComponent(
        dir,
        "kube-controller-manager",
        tools.controllerManager,
        [
          `--kubeconfig=${kubeconfig}`,
          "--leader-elect=false",
          `--secure-port=${ports.controllerManager}`,
          "--bind-address=127.0.0.1",
          "--controllers=*",
          `--service-account-private-key-file=${join(pki, "sa.key")}`,
          `--root-ca-file=${join(pki, "apiserver.crt")}`,
          "--use-service-account-credentials=false",
        ],
        `https://127.0.0.1:${ports.controllerManager}/healthz`,
      ),
      startComponent(
        dir,
        "kwok",
        tools.kwok,
        [
          `--kubeconfig=${kubeconfig}`,
          "--manage-all-nodes=false",
          `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
          `--config=${join(dir, "kwok-stages.yaml")}`,
          `--server-address=127.0.0.1:${ports.kwok}`,
          "--cidr=10.244.0.0/16",
        ],
        `http://127.0.0.1:${ports.kwok}/healthz`,
      ),
    );
    await save();
    for (const component of components.slice(2)) {
      await waitFor(
        `${component.name} to be healthy`,
        async () => (await probe(component.healthUrl ?? "")) === 200,
        {
          timeoutMs,
          progress,
          component,
        },
      );
    }
    await save();
    const up = record();
    progress(`cluster ready in ${up.startupSeconds}s: export KUBECONFIG=${kubeconfig}`);
    return up;
  } catch (err) {
    await clusterDown(dir, () => undefined);
    throw err;
  }
}

/** Stops every process of the cluster in `dir` (TERM, then KILL) and waits until its ports are free. */
export async function clusterDown(
  dirArg: string,
  progress: Progress,
  graceMs = 5_000,
): Promise<ClusterRecord | undefined> {
  const dir = resolve(dirArg);
  const record = await readRecord(dir);
  if (!record) return undefined;
  const ours = [];
  for (const component of [...record.components].reverse()) {
    if (processAlive(component.pid) && (await ownedBy(component.pid, dir))) ours.push(component);
  }
  // Controllers first, then the API server, then etcd: the API server stops fast only while etcd
  // still answers, and only once the controllers' watches are gone.
  const signal = (pid: number, name: NodeJS.Signals) => {
    try {
      process.kill(-pid, name);
    } catch {
      process.kill(pid, name);
    }
  };
  const stop = async (group: ComponentRecord[]) => {
    for (const component of group) {
      progress(`stopping ${component.name} (pid ${component.pid})`);
      signal(component.pid, "SIGTERM");
    }
    const deadline = Date.now() + graceMs;
    while (group.some((c) => processAlive(c.pid)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    for (const component of group.filter((c) => processAlive(c.pid))) {
      progress(
        `killing ${component.name} (pid ${component.pid}), which did not stop within ${graceMs / 1000}s`,
      );
      signal(component.pid, "SIGKILL");
    }
  };
  const storage = ["kube-apiserver", "etcd"];
  await stop(ours.filter((c) => !storage.includes(c.name)));
  for (const name of storage) await stop(ours.filter((c) => c.name === name));
  for (const port of Object.values(record.ports)) {
    const until = Date.now() + 10_000;
    while (!(await portIsFree(port)) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  }
  await rm(join(dir, RECORD), { force: true });
  return record;
}

export interface ComponentStatus {
  name: string;
  pid: number;
  running: boolean;
  healthy: boolean;
  log: string;
}

/** What runs in `dir`, and whether each part answers its health check. */
export async function clusterStatus(
  dirArg: string,
): Promise<{ record?: ClusterRecord; components: ComponentStatus[] }> {
  const record = await readRecord(dirArg);
  if (!record) return { components: [] };
  const token = /^([^,]+),/.exec(
    await readFile(join(record.dir, "pki", "tokens.csv"), "utf8").catch(() => ""),
  )?.[1];
  const components = await Promise.all(
    record.components.map(async (c) => ({
      name: c.name,
      pid: c.pid,
      running: processAlive(c.pid),
      healthy: c.healthUrl
        ? (await probe(c.healthUrl, c.name === "kube-apiserver" ? token : undefined)) === 200
        : processAlive(c.pid),
      log: c.log,
    })),
  );
  return { record, components };
}

/**
 * Restarts one component of a running control plane (the chaos campaign's API server restart): stops
 * it (TERM, then KILL), starts it again with the same command line in the same directory, and waits
 * for its health. The record is updated in place and on disk.
 */
export async function restartComponent(
  record: ClusterRecord,
  name: string,
  timeoutMs = 60_000,
): Promise<void> {
  const component = record.components.find((c) => c.name === name);
  if (!component) throw new Error(`the control plane has no component ${name}`);
  const argv = (await readFile(`/proc/${component.pid}/cmdline`, "utf8")).split("\0").filter(Boolean);
  process.kill(component.pid, "SIGTERM");
  const deadline = Date.now() + 10_000;
  while (processAlive(component.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (processAlive(component.pid)) process.kill(component.pid, "SIGKILL");
  const [file, ...args] = argv;
  const started = startComponent(record.dir, name, [file ?? ""], args, component.healthUrl);
  component.pid = started.pid;
  await writeFile(join(record.dir, RECORD), `${JSON.stringify(record, null, 2)}\n`);
  if (!component.healthUrl) return;
  const token = (await readFile(join(record.dir, "pki", "tokens.csv"), "utf8")).split(",")[0];
  const url = component.healthUrl;
  await waitFor(`${name} to be healthy again`, async () => (await probe(url, token)) === 200, {
    timeoutMs,
    progress: () => undefined,
    component: started,
  });
}

/** Stops a component's process (SIGSTOP) for `ms`, as a stalled disk or a long GC pause would. */
export async function pauseComponent(record: ClusterRecord, name: string, ms: number): Promise<void> {
  const component = record.components.find((c) => c.name === name);
  if (!component) throw new Error(`the control plane has no component ${name}`);
  process.kill(component.pid, "SIGSTOP");
  try {
    await new Promise((r) => setTimeout(r, ms));
  } finally {
    process.kill(component.pid, "SIGCONT");
  }
}
