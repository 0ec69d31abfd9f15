import { execFile } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { parse, stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../scaler/tools/paths.js";
import { nodesInState } from "../../stacks/contract.js";
import { DEMO_CLUSTER, type TestEmulator, testEmulator } from "../../dev/testing/emulator.js";
import { filesUnder, readText } from "../../dev/testing/files.js";
import { tempDir } from "../../dev/testing/tempDir.js";

const execFileAsync = promisify(execFile);
const TOKEN = "state-search-token-8d1f0e7c";

/**
 * The stack as a person uses it from a checkout: `npx pulumi` against the root Pulumi.yaml, a stack
 * config copied from stacks/Pulumi.example.yaml, and the VPSie emulator.
 */
describe("the node-group stack, run by a person with npx pulumi against the emulator", () => {
  const stack = `stack-test-${process.pid}`;
  const configFile = join(repoRoot, "stacks", `Pulumi.${stack}.yaml`);
  let sim: TestEmulator;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let env: NodeJS.ProcessEnv;

  const pulumi = (...args: string[]) =>
    execFileAsync("npx", ["--no-install", "pulumi", ...args, "--stack", stack, "--non-interactive"], {
      cwd: repoRoot,
      env,
    }).catch((err: { stdout?: string; stderr?: string }) => ({
      stdout: err.stdout ?? "",
      stderr: err.stderr ?? "",
      failed: true,
    }));
  const editGroup = async (edit: (group: Record<string, unknown>) => void) => {
    const doc = parse(await readFile(configFile, "utf8")) as {
      config: Record<string, Array<Record<string, unknown>>>;
    };
    edit(doc.config["vpsie-autoscaler:nodeGroups"]![0]!);
    await writeFile(configFile, stringify(doc));
  };
  const workers = async () =>
    (await sim.client().getCluster(DEMO_CLUSTER))?.nodes.filter((n) => n.nodeType === "slave") ?? [];
  /** Each Node resource's key and its worker's hostname, as the state records them. */
  const nodeHostnames = async () => {
    const { deployment } = JSON.parse((await pulumi("stack", "export")).stdout) as { deployment: unknown };
    return Object.fromEntries(nodesInState(deployment).nodes.map((n) => [n.key, n.hostname]));
  };

  beforeAll(async () => {
    sim = await testEmulator((c) => {
      c.accounts[0]!.tokens = ["demo-token", TOKEN];
    });
    dir = await tempDir("stack");
    env = {
      ...process.env,
      PULUMI_BACKEND_URL: `file://${dir.path}/state`,
      PULUMI_HOME: join(dir.path, "home"),
      PULUMI_CONFIG_PASSPHRASE: "stack-test",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      VPSIE_API_URL: sim.url,
      VPSIE_TOKEN: TOKEN,
    };
    await execFileAsync("mkdir", ["-p", join(dir.path, "state")]);
    await writeFile(configFile, await readFile(join(repoRoot, "stacks", "Pulumi.example.yaml"), "utf8"));
    await pulumi("stack", "init");
  });

  afterAll(async () => {
    await pulumi("destroy", "--yes");
    await pulumi("stack", "rm", "--yes", "--force");
    await rm(configFile, { force: true });
    await sim?.stop();
    await dir?.remove();
  });

  it("previews the group and each node by its key", async () => {
    const { stdout } = await pulumi("preview");
    expect(stdout).toMatch(/\+ +pulumi-nodejs:dynamic\/vpsie:NodeGroup general create/);
    expect(stdout).toMatch(/\+ +pulumi-nodejs:dynamic\/vpsie:Node general-7f3a create/);
    expect(stdout).toMatch(/\+ +pulumi-nodejs:dynamic\/vpsie:Node general-b41c create/);
    expect(await workers()).toEqual([]);
  });

  it("creates exactly one worker per key, each found even though VPSie answers bare true", async () => {
    const up = await pulumi("up", "--yes", "--message", "two nodes for general");
    expect(up.stdout).toMatch(/\+ 4 created/);
    const created = await workers();
    expect(created).toHaveLength(2);
    const nodes = await nodeHostnames();
    expect(Object.keys(nodes).sort()).toEqual(["general-7f3a", "general-b41c"]);
    expect(Object.values(nodes).sort()).toEqual(created.map((w) => w.hostname).sort());
  });

  it("removes exactly the node whose key leaves the member list", async () => {
    const keep = (await nodeHostnames())["general-b41c"];
    await editGroup((g) => {
      g.nodes = ["general-b41c"];
    });
    const preview = await pulumi("preview");
    expect(preview.stdout).toMatch(/- +pulumi-nodejs:dynamic\/vpsie:Node general-7f3a delete/);
    expect(preview.stdout).toMatch(/- 1 to delete/);
    await pulumi("up", "--yes", "--message", "drained general-7f3a");
    expect((await workers()).map((w) => w.hostname)).toEqual([keep]);
  });

  it("shows a node deleted outside Pulumi as gone after a refresh", async () => {
    const [worker] = await workers();
    await sim.client().deleteWorker(DEMO_CLUSTER, worker!.identifier!);
    await pulumi("refresh", "--yes");
    const preview = await pulumi("preview");
    expect(preview.stdout).toMatch(/\+ +pulumi-nodejs:dynamic\/vpsie:Node general-b41c create/);
  });

  it("refuses invalid inputs with a message naming the field", async () => {
    await editGroup((g) => {
      g.kubeSizeId = 0;
    });
    const preview = await pulumi("preview");
    expect(`${preview.stdout}${"stderr" in preview ? preview.stderr : ""}`).toMatch(
      /nodeGroups\[0\]\.kubeSizeId: Too small/,
    );
    await editGroup((g) => {
      g.kubeSizeId = 2;
    });
  });

  it("keeps the token out of every file the backend and the CLI wrote, after every update", async () => {
    const files = [...(await filesUnder(dir.path)), configFile];
    // Updates, a delete, a refresh: history entries, backups and checkpoints among them.
    expect(files.filter((f) => f.includes("history")).length).toBeGreaterThanOrEqual(3);
    for (const file of files) expect(await readText(file), file).not.toContain(TOKEN);
  });
});
