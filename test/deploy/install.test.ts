import { execFile } from "node:child_process";
import { createReadStream } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import {
  ApiException,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
} from "@kubernetes/client-node";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attachJoinHook } from "../../dev/emulator/joinHook.js";
import { Applier, applierDirs } from "../../scaler/apply/applier.js";
import { prepareProjectDir } from "../../scaler/apply/projectDir.js";
import { StackConfigMap } from "../../scaler/kubernetes/stackConfigMap.js";
import { configMapReviews } from "../../scaler/kubernetes/reviewConfigMap.js";
import { selectProjectStack } from "../../scaler/pulumi/workspace.js";
import { repoRoot } from "../../scaler/tools/paths.js";
import { resolvePulumi } from "../../scaler/tools/pulumi.js";
import { deployWeb, webRunning } from "../../dev/testing/workload.js";
import { eventually } from "../../dev/testing/cluster.js";
import { GENERAL_GROUP, type TestEmulator, testEmulator } from "../../dev/testing/emulator.js";
import { docBlock } from "../../dev/testing/docBlock.js";
import { startCli } from "../../dev/testing/cli.js";
import { tempDir } from "../../dev/testing/tempDir.js";

const run = promisify(execFile);
const SA = "system:serviceaccount:kube-system:vpsie-autoscaler";
const DOC_DIR = "/tmp/vpsie-local";

interface AuditEvent {
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
}

/**
 * The install guide's blocks (docs/installing.md: Kustomize, then Helm), each run as written against a
 * fresh local control plane (a real API server), then the scaler run beside it with the installed
 * ServiceAccount's token — not admin credentials — through a scale-up and a scale-down. The API server's
 * audit log shows every call it made and that none was denied; direct calls with the same token show
 * what it may not do.
 */
describe.each([
  {
    install: "deploy/base with kubectl apply -k",
    block: "install-local",
    says: /deployment\.apps\/vpsie-autoscaler created/,
  },
  { install: "the Helm chart with helm install", block: "install-helm", says: /^STATUS: deployed$/m },
])("installing $install, and the scaler as its ServiceAccount", ({ block, says }) => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let clusterDir: string;
  let admin: KubeConfig;
  let asScaler: KubeConfig;
  let sim: TestEmulator;
  let scaler: Awaited<ReturnType<typeof startCli>> | undefined;
  const scalerLog: string[] = [];
  let project: string;
  let backendUrl: string;
  let passphraseFile: string;

  beforeAll(async () => {
    dir = await tempDir("install");
    clusterDir = join(dir.path, "vpsie-local");
    sim = await testEmulator((c) => {
      c.behaviour = { provisionDelayMs: 500 };
    });
    // The guide's block, with its directory moved into this test's own.
    const script = (await docBlock("docs/installing.md", block)).replaceAll(DOC_DIR, clusterDir);
    const { stdout } = await run("bash", ["-euo", "pipefail", "-c", script], {
      cwd: repoRoot,
      env: { ...process.env, PATH: `${join(repoRoot, "node_modules", ".bin")}:${process.env.PATH}` },
      timeout: 180_000,
    });
    expect(stdout).toMatch(says);
    expect(stdout).toMatch(/deployment\.apps\/vpsie-autoscaler/);
    admin = new KubeConfig();
    admin.loadFromFile(join(clusterDir, "kubeconfig"));
    attachJoinHook(sim.emulator.world, join(clusterDir, "kubeconfig"), () => undefined);
    // A person's updates by hand (the group's first node) reach VPSie with these, as the scaler's do.
    process.env.VPSIE_API_URL = sim.url;
    process.env.VPSIE_TOKEN = "demo-token";
  }, 240_000);

  afterAll(async () => {
    await scaler?.stop();
    await sim?.stop();
    if (clusterDir)
      await run(process.execPath, [
        join(repoRoot, "bin", "vpsie-autoscaler.js"),
        "cluster",
        "down",
        "--dir",
        clusterDir,
      ]).catch(() => undefined);
    await dir?.remove();
  });

  it("creates the objects of the install, with the Deployment as specified", async () => {
    const apps = admin.makeApiClient(AppsV1Api);
    const deployment = await apps.readNamespacedDeployment({
      name: "vpsie-autoscaler",
      namespace: "kube-system",
    });
    expect(deployment.spec?.replicas).toBe(2);
    const [container] = deployment.spec?.template.spec?.containers ?? [];
    expect(container?.resources).toEqual({
      requests: { cpu: "100m", memory: "256Mi" },
      limits: { cpu: "200m", memory: "1Gi" },
    });
    expect(container?.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    expect(deployment.spec?.template.spec?.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
    });
    expect(container?.livenessProbe?.httpGet?.path).toBe("/healthz");
    expect(container?.readinessProbe?.httpGet?.path).toBe("/readyz");
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    expect((await rbac.readClusterRoleBinding({ name: "vpsie-autoscaler" })).subjects).toEqual([
      { kind: "ServiceAccount", name: "vpsie-autoscaler", namespace: "kube-system" },
    ]);
    const core = admin.makeApiClient(CoreV1Api);
    const secret = await core.readNamespacedSecret({ name: "vpsie-autoscaler", namespace: "kube-system" });
    expect(Object.keys(secret.data ?? {}).sort()).toEqual([
      "PULUMI_BACKEND_URL",
      "PULUMI_CONFIG_PASSPHRASE",
      "VPSIE_API_URL",
      "VPSIE_TOKEN",
    ]);
  });

  it("runs the scaler with the ServiceAccount's token through a scale-up and a scale-down", async () => {
    const core = admin.makeApiClient(CoreV1Api);
    // kwok runs no containers: the Deployment's replicas stand in for the scaler, which runs here.
    await admin.makeApiClient(AppsV1Api).patchNamespacedDeploymentScale({
      name: "vpsie-autoscaler",
      namespace: "kube-system",
      body: [{ op: "replace", path: "/spec/replicas", value: 0 }],
    });
    const { status } = await core.createNamespacedServiceAccountToken({
      name: "vpsie-autoscaler",
      namespace: "kube-system",
      body: { spec: { expirationSeconds: 3600, audiences: [] } },
    });
    asScaler = new KubeConfig();
    asScaler.loadFromOptions({
      clusters: admin.clusters,
      users: [{ name: "vpsie-autoscaler", token: status?.token ?? "" }],
      contexts: [
        { name: "scaler", cluster: admin.getCurrentCluster()?.name ?? "", user: "vpsie-autoscaler" },
      ],
      currentContext: "scaler",
    });
    const kubeconfig = join(dir.path, "scaler.kubeconfig");
    await writeFile(kubeconfig, asScaler.exportConfig(), { mode: 0o600 });

    // A person declares a node group in the stacks ConfigMap, and gives it its first node by hand
    // through the apply layer, which writes the member list back to the ConfigMap.
    const stacks = await core.readNamespacedConfigMap({
      name: "vpsie-autoscaler-stacks",
      namespace: "kube-system",
    });
    await core.replaceNamespacedConfigMap({
      name: "vpsie-autoscaler-stacks",
      namespace: "kube-system",
      body: {
        ...stacks,
        data: {
          "Pulumi.general.yaml": `config:\n  vpsie-autoscaler:nodeGroups:\n    - ${JSON.stringify(GENERAL_GROUP)}\n`,
        },
      },
    });
    backendUrl = `file://${join(dir.path, "state")}`;
    await mkdir(join(dir.path, "state"), { recursive: true });
    const person = join(dir.path, "person");
    await prepareProjectDir(person);
    const personStacks = new StackConfigMap(admin, "kube-system", "vpsie-autoscaler-stacks", person);
    await personStacks.pull();
    await new Applier({
      projectDir: person,
      backendUrl,
      ...applierDirs(join(dir.path, "person-work")),
      passphrase: "install-test-passphrase",
      tools: await resolvePulumi(),
      client: sim.client(),
      publishStackConfig: (stack, after) => personStacks.publish(stack, after),
    }).apply({ group: "general", add: 1, remove: [], reason: "the group's first node" });

    project = join(dir.path, "scaler", "project");
    const workDir = join(dir.path, "scaler", "work");
    passphraseFile = join(dir.path, "passphrase");
    await writeFile(passphraseFile, "install-test-passphrase\n", { mode: 0o600 });
    const config = join(dir.path, "scaler.yaml");
    await writeFile(
      config,
      [
        `projectDir: ${project}`,
        `workDir: ${workDir}`,
        `backend: ${backendUrl}`,
        "stackConfigMap: kube-system/vpsie-autoscaler-stacks",
        "intentConfigMap: kube-system/vpsie-autoscaler-intents",
        "scanInterval: 2",
        "metricsAddress: 127.0.0.1:0",
        "scaleUp: { newPodDelay: 0s }",
        "scaleDown: { unneededTime: 4s, delayAfterAdd: 4s }",
        "",
      ].join("\n"),
    );
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      VPSIE_API_URL: sim.url,
      VPSIE_TOKEN: "demo-token",
      PULUMI_CONFIG_PASSPHRASE_FILE: passphraseFile,
    };
    delete env.PULUMI_CONFIG_PASSPHRASE;
    scaler = await startCli(
      ["run", "--kubeconfig", kubeconfig, "--config", config],
      /serving \/healthz/,
      env,
    );
    scaler.child.stdout?.on("data", (chunk: Buffer) => scalerLog.push(chunk.toString()));
    scaler.child.stderr?.on("data", (chunk: Buffer) => scalerLog.push(chunk.toString()));

    await deployWeb(admin);
    await webRunning(admin, 3, 120_000);
    const membersInConfigMap = async () => {
      const cm = await core.readNamespacedConfigMap({
        name: "vpsie-autoscaler-stacks",
        namespace: "kube-system",
      });
      const parsed = parse(cm.data?.["Pulumi.general.yaml"] ?? "") as {
        config: Record<string, Array<{ nodes: string[] }>>;
      };
      return parsed.config["vpsie-autoscaler:nodeGroups"]?.[0]?.nodes ?? [];
    };
    expect(await membersInConfigMap()).toHaveLength(2);

    await admin.makeApiClient(AppsV1Api).deleteNamespacedDeployment({ name: "web", namespace: "default" });
    await eventually(
      "the node no longer needed to be removed",
      async () => ((await core.listNode()).items.length === 1 ? true : undefined),
      120_000,
    );
    expect(await membersInConfigMap()).toHaveLength(1);
    const stack = await selectProjectStack({
      projectDir: project,
      backendUrl,
      pulumiHome: join(workDir, "pulumi-home"),
      passphrase: "install-test-passphrase",
      tools: await resolvePulumi(),
      stackName: "general",
    });
    const messages = (await stack.history()).map((h) => h.message);
    expect(messages.slice(0, 3)).toEqual([
      expect.stringMatching(/^scale-down general 2 → 1 /),
      expect.stringMatching(/^scale-up general 1 → 2 /),
      expect.stringMatching(/^scale-up general 0 → 1 .*the group's first node/),
    ]);
  }, 300_000);

  it("made only calls its roles allow: the audit log has no denial for it", async () => {
    const audit = async () => {
      const calls = new Map<string, number>();
      const denied: string[] = [];
      const lines = createInterface({ input: createReadStream(join(clusterDir, "logs", "audit.log")) });
      for await (const line of lines) {
        const event = JSON.parse(line) as AuditEvent;
        if (event.user.username !== SA) continue;
        const ref = event.objectRef ?? {};
        const call = `${event.verb} ${ref.resource ?? "?"}${ref.subresource ? `/${ref.subresource}` : ""}`;
        calls.set(call, (calls.get(call) ?? 0) + 1);
        if (event.responseStatus?.code === 403)
          denied.push(`${call} ${ref.namespace ?? ""}/${ref.name ?? ""}`);
      }
      return { calls, denied };
    };
    // The Node object goes last, after the update that removed its VPSie node has returned.
    const { calls, denied } = await eventually(
      "the scaler to delete the removed node's Node object",
      async () => {
        const seen = await audit();
        return seen.calls.has("delete nodes") ? seen : undefined;
      },
    );
    expect(denied).toEqual([]);
    for (const call of [
      "list nodes",
      "watch nodes",
      "list pods",
      "watch pods",
      "list poddisruptionbudgets",
      "watch poddisruptionbudgets",
      "update nodes",
      "delete nodes",
      "create events",
      "get leases",
      "update leases",
      "get configmaps",
      "update configmaps",
      "patch configmaps",
    ])
      expect(
        [...calls.keys()],
        `the scaler to have called ${call}; it called ${[...calls.keys()].join(", ")}`,
      ).toContain(call);
    expect(scalerLog.join("")).not.toMatch(/forbidden/i);
  });

  it("is denied Secrets, other namespaces' workloads, and reading or writing objects not its own; it may evict", async () => {
    const core = asScaler.makeApiClient(CoreV1Api);
    const apps = asScaler.makeApiClient(AppsV1Api);
    const leases = asScaler.makeApiClient(CoordinationV1Api);
    const status = async (call: () => Promise<unknown>) => {
      try {
        await call();
        return 200;
      } catch (err) {
        if (err instanceof ApiException) return err.code;
        throw err;
      }
    };
    const adminCore = admin.makeApiClient(CoreV1Api);
    await adminCore.createNamespacedPod({
      namespace: "default",
      body: { metadata: { name: "victim" }, spec: { containers: [{ name: "c", image: "nginx" }] } },
    });
    await adminCore.createNamespacedConfigMap({
      namespace: "kube-system",
      body: { metadata: { name: "someone-elses" } },
    });

    expect(
      await status(() => core.readNamespacedSecret({ name: "vpsie-autoscaler", namespace: "kube-system" })),
    ).toBe(403);
    expect(await status(() => core.listSecretForAllNamespaces())).toBe(403);
    expect(await status(() => core.listNamespacedSecret({ namespace: "default" }))).toBe(403);
    expect(await status(() => core.deleteNamespacedPod({ name: "victim", namespace: "default" }))).toBe(403);
    expect(
      await status(() =>
        core.createNamespacedPod({
          namespace: "default",
          body: { metadata: { name: "mine" }, spec: { containers: [{ name: "c", image: "x" }] } },
        }),
      ),
    ).toBe(403);
    expect(await status(() => apps.listNamespacedDeployment({ namespace: "kube-system" }))).toBe(403);
    expect(
      await status(() =>
        apps.patchNamespacedDeploymentScale({
          name: "vpsie-autoscaler",
          namespace: "kube-system",
          body: [{ op: "replace", path: "/spec/replicas", value: 5 }],
        }),
      ),
    ).toBe(403);
    expect(
      await status(() => core.readNamespacedConfigMap({ name: "someone-elses", namespace: "kube-system" })),
    ).toBe(403);
    expect(
      await status(() =>
        core.readNamespacedConfigMap({ name: "vpsie-autoscaler-stacks", namespace: "default" }),
      ),
    ).toBe(403);
    expect(
      await status(() => leases.readNamespacedLease({ name: "kube-scheduler", namespace: "kube-system" })),
    ).toBe(403);
    // Writes as well as reads: no new Lease or ConfigMap of any name, no change to another's.
    expect(
      await status(() =>
        leases.createNamespacedLease({ namespace: "kube-system", body: { metadata: { name: "not-mine" } } }),
      ),
    ).toBe(403);
    expect(
      await status(() =>
        core.createNamespacedConfigMap({
          namespace: "kube-system",
          body: { metadata: { name: "not-mine" } },
        }),
      ),
    ).toBe(403);
    expect(
      await status(() =>
        core.replaceNamespacedConfigMap({
          name: "someone-elses",
          namespace: "kube-system",
          body: { metadata: { name: "someone-elses" }, data: { taken: "yes" } },
        }),
      ),
    ).toBe(403);
    expect(
      await status(() =>
        core.patchNamespacedConfigMap({
          name: "someone-elses",
          namespace: "kube-system",
          body: [{ op: "add", path: "/data", value: { taken: "yes" } }],
        }),
      ),
    ).toBe(403);
    expect(
      await status(() =>
        leases.replaceNamespacedLease({
          name: "kube-scheduler",
          namespace: "kube-system",
          body: { metadata: { name: "kube-scheduler" }, spec: { holderIdentity: "vpsie-autoscaler" } },
        }),
      ),
    ).toBe(403);
    expect(
      await status(() =>
        core.deleteNamespacedConfigMap({ name: "vpsie-autoscaler-stacks", namespace: "kube-system" }),
      ),
    ).toBe(403);
    expect(
      await status(() =>
        leases.deleteNamespacedLease({ name: "vpsie-autoscaler", namespace: "kube-system" }),
      ),
    ).toBe(403);
    expect(await status(() => core.createNamespace({ body: { metadata: { name: "nope" } } }))).toBe(403);
    // Draining evicts through the Eviction API, which honours PodDisruptionBudgets.
    expect(
      await status(() =>
        core.createNamespacedPodEviction({
          name: "victim",
          namespace: "default",
          body: { metadata: { name: "victim", namespace: "default" } },
        }),
      ),
    ).toBe(200);
  });

  it("keeps reviews in the install's reviews ConfigMap with its own token: written, read, removed", async () => {
    const store = configMapReviews(asScaler, "kube-system", "vpsie-autoscaler-reviews");
    const at = new Date().toISOString();
    const record = {
      id: "20261201-000000-0a0b",
      status: "pending" as const,
      kind: "scale-up" as const,
      group: "general",
      add: 1,
      remove: [],
      pods: ["default/web-1"],
      reason: "1 pending pod",
      message: "scale-up general 1 → 2 (+general-ab12): 1 pending pod",
      diff: "",
      changes: {},
      keys: ["general-ab12"],
      members: [],
      createdAt: at,
      lastSeenAt: at,
      seen: 1,
    };
    await store.put(record);
    expect((await store.list()).records.map((r) => r.id)).toEqual([record.id]);
    expect(await store.get(record.id)).toEqual(record);
    await store.remove([record.id]);
    expect((await store.list()).records).toEqual([]);
  });
});
