import type { ChildProcess } from "node:child_process";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AppsV1Api, CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { attachJoinHook } from "../../dev/emulator/joinHook.js";
import { spawnRun } from "../../dev/testing/cli.js";
import { eventually, startCluster, type TestCluster } from "../../dev/testing/cluster.js";
import { DEMO_CLUSTER, GENERAL_GROUP, type TestEmulator, testEmulator } from "../../dev/testing/emulator.js";
import { git, startGitServer, type TestGitServer } from "../../dev/testing/gitServer.js";
import { accountFor, exactlyOnceViolations } from "../../dev/testing/invariants.js";
import { killAll, killTree, processTree } from "../../dev/testing/processTree.js";
import { testProject, type TestProject } from "../../dev/testing/project.js";
import { deployWeb, webRunning } from "../../dev/testing/workload.js";
import { readNodeGroups } from "../../scaler/apply/stackConfig.js";
import { NOTES_REF } from "../../scaler/git/gitStackStore.js";
import { selectProjectStack } from "../../scaler/pulumi/workspace.js";

const FILE = "stacks/Pulumi.general.yaml";
const GROUP = { ...GENERAL_GROUP, minNodes: 0, maxNodes: 1 };
const SEED = `# The general pool: the platform team sets its limits here; the scaler keeps nodes: up to date.\nconfig:\n  vpsie-autoscaler:nodeGroups:\n    - name: general\n      cluster: ${GROUP.cluster}\n      kubeSizeId: ${GROUP.kubeSizeId}\n      minNodes: 0\n      maxNodes: 1 # raise with a commit\n      nodes: []\n`;

/**
 * GitOps end to end: the node group's stack file lives in a Git repository served by git http-backend
 * on 127.0.0.1; `vpsie-autoscaler run --git-repo` scales a real control plane's workload through the
 * emulator and the real engine, and a person works in a clone of their own with the git command.
 */
describe("GitOps: the node groups' desired state in a Git repository", () => {
  let cluster: TestCluster;
  let sim: TestEmulator;
  let project: TestProject;
  let reader: TestProject;
  let server: TestGitServer;
  let person: string;
  let scaler: { child: ChildProcess; log: string } | undefined;
  const logs: string[] = [];

  const start = (name: string) => {
    const log = join(project.workDir, `${name}.log`);
    logs.push(log);
    const child = spawnRun(project, cluster.record.kubeconfig, log, {
      args: [
        "--config",
        join(project.workDir, "..", "scaler.yaml"),
        "--git-repo",
        server.url,
        "--git-path",
        "stacks",
      ],
      env: { VPSIE_AUTOSCALER_GIT_USERNAME: server.username, VPSIE_AUTOSCALER_GIT_TOKEN: server.token },
    });
    scaler = { child, log };
    return scaler;
  };
  const logText = async () =>
    (await Promise.all(logs.map((l) => readFile(l, "utf8").catch(() => "")))).join("");
  const commits = async () =>
    (await git(server.bareDir, "log", "--format=%H%x09%an%x09%s", "main"))
      .trim()
      .split("\n")
      .map((line) => {
        const [sha = "", author = "", subject = ""] = line.split("\t");
        return { sha, author, subject };
      });
  const ours = async (prefix: string) =>
    (await commits()).filter((c) => c.author === "vpsie-autoscaler" && c.subject.startsWith(prefix));
  const note = (sha: string) =>
    git(server.bareDir, "notes", `--ref=${NOTES_REF}`, "show", sha).catch(() => undefined);
  const history = async () => {
    // Read from a project directory of the test's own: selecting a stack that does not exist yet creates
    // it, and Pulumi writes a stack file (a salt and nothing else) into the directory it selects from.
    const stack = await selectProjectStack({ ...reader.engine, stackName: "general" });
    // Updates only (recovery's refresh is an entry too), each named as the scaler's notes name it.
    return (await stack.history())
      .filter((h) => h.kind === "update")
      .map((h) => ({ started: new Date(h.startTime).toISOString(), message: h.message ?? "" }));
  };
  /** A person's commit that sets one field of the group, as they would with an editor. */
  const personCommits = async (field: string, value: unknown, message: string) => {
    await git(person, "pull", "-q", "--rebase", "origin", "main");
    const doc = parseDocument(await readFile(join(person, FILE), "utf8"));
    doc.setIn(["config", "vpsie-autoscaler:nodeGroups", 0, field], doc.createNode(value));
    await writeFile(join(person, FILE), doc.toString());
    await git(person, "commit", "-qam", message);
    await git(person, "push", "-q", "origin", "main");
    return (await git(person, "rev-parse", "HEAD")).trim();
  };
  const pods = () => cluster.kubeconfig.makeApiClient(CoreV1Api);

  beforeAll(async () => {
    cluster = await startCluster("gitops");
    sim = await testEmulator();
    attachJoinHook(sim.emulator.world, cluster.record.kubeconfig, () => undefined);
    process.env.VPSIE_API_URL = sim.url;
    process.env.VPSIE_TOKEN = "demo-token";
    project = await testProject("gitops");
    reader = await testProject("gitops-reader", project.engine.backendUrl);
    await mkdir(project.workDir, { recursive: true });
    await writeFile(
      join(project.workDir, "..", "scaler.yaml"),
      [
        "scaleUp: { newPodDelay: 0s }",
        "scaleDown: { unneededTime: 4s, delayAfterAdd: 4s }",
        "git: { author: { name: vpsie-autoscaler, email: scaler@example.com } }",
        "",
      ].join("\n"),
    );
    server = await startGitServer(project.workDir.replace(/work$/, ""), { [FILE]: SEED });
    person = join(project.workDir, "..", "person");
    await git(join(project.workDir, ".."), "clone", "-q", server.bareDir, person);
  });

  afterAll(async () => {
    if (scaler?.child.exitCode === null) await killTree(scaler.child.pid as number);
    await server?.stop();
    await sim?.stop();
    await cluster?.stop();
    await project?.remove();
    await reader?.remove();
  });

  it("applies a person's commit that declares a group with an update naming its author and message, and notes the update on it", async () => {
    start("scaler-1");
    const [seed] = await commits();
    const applied = await eventually(
      "the seed commit's settings update",
      async () => (await history()).find((h) => h.message.startsWith("settings general: ")),
      90_000,
    );
    expect(applied.message).toBe(
      `settings general: "the cluster's node groups" by Ada Person <ada@example.com> (commit ${seed?.sha.slice(0, 7)})`,
    );
    await eventually("the note on the seed commit", async () => note(seed?.sha ?? ""), 30_000);
    expect(await note(seed?.sha ?? "")).toBe(
      `pulumi stack general update started ${applied.started}\n${applied.message}\n`,
    );
  });

  it("scales up as far as maxNodes with one commit and one update naming each other, and obeys a person's commit raising maxNodes", async () => {
    await deployWeb(cluster.kubeconfig);
    const [first] = await eventually(
      "the first scale-up's commit",
      async () =>
        (await ours("scale-up general 0 → 1")).length ? ours("scale-up general 0 → 1") : undefined,
      90_000,
    );
    await eventually("its note", async () => note(first?.sha ?? ""), 60_000);
    const update = (await history()).filter((h) => h.message.startsWith("scale-up general 0 → 1"));
    expect(update).toEqual([
      { started: expect.any(String), message: `${first?.subject} (commit ${first?.sha.slice(0, 7)})` },
    ]);
    expect(await note(first?.sha ?? "")).toBe(
      `pulumi stack general update started ${update[0]?.started}\n${update[0]?.message}\n`,
    );
    // The person's comments and settings stay; only the member list changed.
    const text = await git(server.bareDir, "show", `main:${FILE}`);
    expect(text).toContain("# The general pool: the platform team sets its limits here");
    expect(text).toContain("maxNodes: 1 # raise with a commit");
    expect(
      parseDocument(text).getIn(["config", "vpsie-autoscaler:nodeGroups", 0, "nodes"])?.toString(),
    ).toMatch(/general-[0-9a-f]{4}/);

    // One pod cannot run within maxNodes 1; a person raises it.
    const raise = await personCommits("maxNodes", 2, "raise general's maxNodes to 2");
    await eventually(
      "the settings update of the person's commit",
      async () =>
        (await history()).find(
          (h) =>
            h.message ===
            `settings general: "raise general's maxNodes to 2" by Ada Person <ada@example.com> (commit ${raise.slice(0, 7)})`,
        ),
      90_000,
    );
    await webRunning(cluster.kubeconfig, 3, 120_000);
    const second = await ours("scale-up general 1 → 2");
    expect(second).toHaveLength(1);
    expect((await history()).filter((h) => h.message.startsWith("scale-up general 1 → 2"))).toEqual([
      {
        started: expect.any(String),
        message: `${second[0]?.subject} (commit ${second[0]?.sha.slice(0, 7)})`,
      },
    ]);
  });

  it("re-plans a scale-down when a person pushes first, never forcing over their commit", async () => {
    let theirs = "";
    server.beforeNextPush(async () => {
      theirs = await personCommits("labels", { team: "platform" }, "label the general pool");
    });
    await cluster.kubeconfig
      .makeApiClient(AppsV1Api)
      .deleteNamespacedDeployment({ name: "web", namespace: "default" });
    await eventually(
      "the nodes gone, by scale-downs planned again after the person's commit",
      async () => ((await pods().listNode()).items.length === 0 ? true : undefined),
      180_000,
    );
    expect(await logText()).toContain("a commit was pushed meanwhile");
    expect(theirs).toMatch(/^[0-9a-f]{40}$/);
    // Their commit is in the branch's history, below the scaler's: nothing was forced over it.
    await git(server.bareDir, "merge-base", "--is-ancestor", theirs, "main");
    const text = parseDocument(await git(server.bareDir, "show", `main:${FILE}`)).toJS() as {
      config: Record<string, Array<{ labels?: unknown; nodes: string[] }>>;
    };
    expect(text.config["vpsie-autoscaler:nodeGroups"]?.[0]).toMatchObject({
      labels: { team: "platform" },
      nodes: [],
    });
    // Each scale-down is one commit and one update that name each other (the refused push left neither).
    const downs = await ours("scale-down general");
    expect(downs.length).toBeGreaterThan(0);
    const updates = (await history()).filter((h) => h.message.startsWith("scale-down general"));
    expect(updates).toHaveLength(downs.length);
    for (const down of downs) {
      const update = updates.find((u) => u.message === `${down.subject} (commit ${down.sha.slice(0, 7)})`);
      expect(update).toBeDefined();
      await eventually("the scale-down's note", async () => note(down.sha), 60_000);
      expect(await note(down.sha)).toBe(
        `pulumi stack general update started ${update?.started}\n${update?.message}\n`,
      );
    }
  });

  it("reports a commit that does not parse, naming the file, commit and field, and applies nothing from it", async () => {
    const before = (await history()).length;
    const scaleUps = (await ours("scale-up general")).length;
    const bad = await personCommits("maxNodes", "lots", "more nodes, please");
    const event = await eventually(
      "the StackConfigInvalid event",
      async () =>
        (await pods().listNamespacedEvent({ namespace: "kube-system" })).items.find(
          (e) => e.reason === "StackConfigInvalid",
        ),
      60_000,
    );
    expect(event.involvedObject).toMatchObject({ kind: "ConfigMap", name: "vpsie-autoscaler-status" });
    expect(event.message).toContain(`${FILE} at commit ${bad.slice(0, 7)} by Ada Person <ada@example.com>`);
    expect(event.message).toContain("nodeGroups[0].maxNodes");
    // The status is written at the end of the loop that raised the Event.
    const problems = await eventually(
      "the problem in the status ConfigMap",
      async () =>
        (await pods().readNamespacedConfigMap({ name: "vpsie-autoscaler-status", namespace: "kube-system" }))
          .data?.stackConfigProblems,
      30_000,
    );
    expect(problems).toContain("nodeGroups[0].maxNodes");
    expect(await logText()).toContain("node group general is held back");
    // Pods wait, and the group held back is neither scaled nor updated.
    await deployWeb(cluster.kubeconfig);
    await new Promise((r) => setTimeout(r, 8_000));
    expect((await history()).length).toBe(before);
    expect(await ours("scale-up general")).toHaveLength(scaleUps);
  });

  it("finishes a scale-up whose commit was pushed when the scaler died (kill -9): one commit, one update, no orphan or duplicate", async () => {
    const first = scaler as { child: ChildProcess; log: string };
    // The scaler's processes are listed while the server holds the push, and killed once the branch has
    // moved and before the answer is sent: the commit is on the branch, and the scaler never learns it.
    let tree: number[] = [];
    server.beforeNextPush(async () => {
      tree = await processTree(first.child.pid as number);
    });
    server.afterNextPush(() => {
      killAll(tree);
    });
    const fix = await personCommits("maxNodes", 2, "fix general's maxNodes");
    await eventually(
      "the scaler killed after its push",
      async () => (first.child.exitCode !== null || first.child.signalCode ? true : undefined),
      120_000,
    );
    const pushed = await ours("scale-up general 0 → 2");
    expect(pushed).toHaveLength(1);
    // Nothing in the stack history for it yet, and the scaler's own copy of the file never got the keys.
    expect((await history()).some((h) => h.message.includes("scale-up general 0 → 2"))).toBe(false);
    expect((await readNodeGroups(project.dir, "general"))[0]?.nodes).toEqual([]);

    start("scaler-2");
    await webRunning(cluster.kubeconfig, 3, 180_000);
    expect(await logText()).toMatch(/recovered general: /);
    expect(await ours("scale-up general 0 → 2")).toEqual(pushed);
    const finished = (await history()).filter((h) => h.message.includes("scale-up general 0 → 2"));
    expect(finished).toEqual([
      {
        started: expect.any(String),
        message: expect.stringMatching(/^recovery: finish the interrupted update \(scale-up general 0 → 2 /),
      },
    ]);
    await eventually("the note on the pushed commit", async () => note(pushed[0]?.sha ?? ""), 60_000);
    expect(await note(pushed[0]?.sha ?? "")).toContain(
      `pulumi stack general update started ${finished[0]?.started}`,
    );
    expect((await history()).some((h) => h.message.includes(fix.slice(0, 7)))).toBe(true);

    const account = await accountFor(sim.client(), project.engine, GROUP);
    expect(exactlyOnceViolations(account)).toEqual([]);
    expect(account.workers).toHaveLength(2);
    const inRepo = parseDocument(await git(server.bareDir, "show", `main:${FILE}`)).toJS() as {
      config: Record<string, Array<{ nodes: string[] }>>;
    };
    expect([...(inRepo.config["vpsie-autoscaler:nodeGroups"]?.[0]?.nodes ?? [])].sort()).toEqual(
      account.keys,
    );
    const workers =
      (await sim.client().getCluster(DEMO_CLUSTER))?.nodes.filter((n) => n.nodeType === "slave") ?? [];
    expect(workers).toHaveLength(2);
  });

  it("keeps the Git token out of the repository, the logs, the state and the processes' arguments", async () => {
    const everything = [
      await git(server.bareDir, "log", "--all", "-p", "--format=%an %ae %cn %ce %B"),
      await git(server.bareDir, "log", NOTES_REF, "-p"),
      await logText(),
    ];
    for (const file of await readdir(project.backendDir, { recursive: true, withFileTypes: true }))
      if (file.isFile()) everything.push(await readFile(join(file.parentPath, file.name), "utf8"));
    for (const pid of await processTree(scaler?.child.pid as number))
      everything.push(await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => ""));
    expect(everything.join("\n")).not.toContain(server.token);
    expect(everything.join("\n")).toContain("scale-up general 0 → 2");
  });
});
