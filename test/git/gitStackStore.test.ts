import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { StackConfigConflictError } from "../../scaler/apply/stackConfig.js";
import { StackStoreError } from "../../scaler/apply/stackStore.js";
import { GitStackStore, NOTES_REF } from "../../scaler/git/gitStackStore.js";
import { git, startGitServer, type TestGitServer } from "../../dev/testing/gitServer.js";
import { GENERAL_GROUP } from "../../dev/testing/emulator.js";
import { tempDir } from "../../dev/testing/tempDir.js";

const SCALER = { name: "vpsie-autoscaler", email: "scaler@example.com" };
const file = (group: Record<string, unknown>) =>
  `# the platform team's general pool\n${stringify({ config: { "vpsie-autoscaler:nodeGroups": [group] } })}`;

/**
 * The Git stack store against Git's own smart-HTTP server (git http-backend) on 127.0.0.1, with a
 * person working in a clone of their own with the git command.
 */
describe("the Git stack store, against git http-backend", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: TestGitServer;
  let person: string;
  let n = 0;
  /** A store of its own; `cloneDir` reuses a clone an earlier process left (a restarted pod's volume). */
  const store = (cloneDir?: string) =>
    new GitStackStore({
      url: server.url,
      branch: "main",
      path: "clusters/prod/stacks",
      cloneDir: cloneDir ?? join(dir.path, `clone-${++n}`),
      projectDir: join(dir.path, `project-${cloneDir ? ++n : n}`),
      author: SCALER,
      credentials: { username: server.username, token: server.token },
    });
  const personCommits = async (text: string, message: string) => {
    await git(person, "pull", "-q", "origin", "main");
    await writeFile(join(person, "clusters/prod/stacks/Pulumi.general.yaml"), text);
    await git(person, "commit", "-qam", message);
    await git(person, "push", "-q", "origin", "main");
  };

  beforeAll(async () => {
    dir = await tempDir("git-store");
    server = await startGitServer(dir.path, {
      "clusters/prod/stacks/Pulumi.general.yaml": file(GENERAL_GROUP),
      "clusters/prod/kustomization.yaml": "resources: []\n",
    });
    person = join(dir.path, "person");
    await git(dir.path, "clone", "-q", server.bareDir, person);
  });
  afterAll(async () => {
    await server?.stop();
    await dir?.remove();
  });

  it("copies the stack files into stacks/, and returns a person's unapplied commit as a settings change", async () => {
    const s = store();
    const sync = await s.pull();
    expect(sync.changed).toEqual(["general"]);
    expect(sync.problems).toEqual([]);
    expect(sync.settings).toEqual([
      {
        stack: "general",
        ref: expect.stringMatching(/^[0-9a-f]{40}$/),
        reason: expect.stringMatching(
          /^"the cluster's node groups" by Ada Person <ada@example.com> \(commit [0-9a-f]{7}\)$/,
        ),
      },
    ]);
    expect(await readFile(join(dir.path, `project-${n}`, "stacks/Pulumi.general.yaml"), "utf8")).toBe(
      file(GENERAL_GROUP),
    );
    // Once an update names it in a note, it is applied: not returned again.
    await s.linkUpdate("general", { version: 1, message: "settings general: …", ref: sync.settings[0]?.ref });
    expect((await s.pull()).settings).toEqual([]);
    await git(person, "fetch", "-q", "origin", `${NOTES_REF}:${NOTES_REF}`);
    expect(await git(person, "notes", `--ref=${NOTES_REF}`, "show", sync.settings[0]?.ref ?? "")).toBe(
      "pulumi stack general update 1\nsettings general: …\n",
    );
  });

  it("commits a member list with the update's message under the scaler's author, keeping the person's comment", async () => {
    const s = store();
    await s.pull();
    const after = file({ ...GENERAL_GROUP, nodes: ["general-a1b2"] });
    const commit = await s.publish("general", after, "scale-up general 0 → 1 (+general-a1b2): 1 pod waiting");
    await git(person, "pull", "-q", "origin", "main");
    expect(await git(person, "log", "-1", "--format=%H%n%an <%ae>%n%s")).toBe(
      `${commit}\nvpsie-autoscaler <scaler@example.com>\nscale-up general 0 → 1 (+general-a1b2): 1 pod waiting\n`,
    );
    expect(await readFile(join(person, "clusters/prod/stacks/Pulumi.general.yaml"), "utf8")).toBe(after);
    // The scaler's own commit is no settings change of a person's.
    expect((await s.pull()).settings).toEqual([]);
    // Without a ref, a link notes the stack's latest commit of the scaler's (an update finished by recovery).
    await s.linkUpdate("general", {
      startTime: "2026-12-01T08:00:00.000Z",
      message: "recovery: finish the interrupted update (…)",
    });
    await git(person, "fetch", "-q", "origin", `+${NOTES_REF}:${NOTES_REF}`);
    expect(await git(person, "notes", `--ref=${NOTES_REF}`, "show", commit)).toMatch(
      /^pulumi stack general update started 2026-12-01T08:00:00.000Z\n/,
    );
  });

  it("never pushes over a commit a person pushed meanwhile: the action is refused, planned again, and nothing forced", async () => {
    const s = store();
    await s.pull();
    const theirs = file({ ...GENERAL_GROUP, maxNodes: 5, nodes: ["general-a1b2"] });
    server.beforeNextPush(() => personCommits(theirs, "raise general's maxNodes to 5"));
    await expect(
      s.publish(
        "general",
        file({ ...GENERAL_GROUP, nodes: ["general-a1b2", "general-c3d4"] }),
        "scale-up general 1 → 2",
      ),
    ).rejects.toThrow(StackConfigConflictError);
    expect(await git(server.bareDir, "log", "-1", "--format=%s", "main")).toBe(
      "raise general's maxNodes to 5\n",
    );
    // A change based on the old text is refused before anything is committed.
    await expect(s.publish("general", "config: {}\n", "scale-up general 1 → 2")).rejects.toThrow(
      /changed since it was read/,
    );
    const sync = await s.pull();
    expect(sync.settings.map((c) => c.reason)).toEqual([
      expect.stringMatching(/^"raise general's maxNodes to 5" by Ada Person/),
    ]);
    const commit = await s.publish(
      "general",
      file({ ...GENERAL_GROUP, maxNodes: 5, nodes: ["general-a1b2", "general-c3d4"] }),
      "scale-up general 1 → 2 (+general-c3d4): planned again",
    );
    expect(await git(server.bareDir, "log", "-2", "--format=%H %s", "main")).toMatch(
      new RegExp(`^${commit} scale-up general 1 → 2 .*\n[0-9a-f]{40} raise general's maxNodes to 5\n$`),
    );
  });

  it("holds back a group whose committed file does not parse, naming the file, commit and field, and keeps the last good copy", async () => {
    const s = store();
    await s.pull();
    const project = join(dir.path, `project-${n}`, "stacks/Pulumi.general.yaml");
    const good = await readFile(project, "utf8");
    await personCommits(file({ ...GENERAL_GROUP, maxNodes: "lots" }), "more nodes");
    const sync = await s.pull();
    expect([...sync.held]).toEqual(["general"]);
    expect(sync.settings).toEqual([]);
    expect(sync.problems).toEqual([
      {
        stack: "general",
        source: expect.stringMatching(
          /^clusters\/prod\/stacks\/Pulumi.general.yaml at commit [0-9a-f]{7} by Ada Person <ada@example.com>$/,
        ),
        message: expect.stringMatching(
          /Pulumi.general.yaml at commit [0-9a-f]{7} .*: nodeGroups\[0\]\.maxNodes: /,
        ),
      },
    ]);
    expect(await readFile(project, "utf8")).toBe(good);
    await personCommits(
      file({ ...GENERAL_GROUP, maxNodes: 5, nodes: ["general-a1b2", "general-c3d4"] }),
      "fix maxNodes",
    );
    const fixed = await s.pull();
    expect([...fixed.held]).toEqual([]);
    expect(fixed.settings.map((c) => c.reason)).toEqual([expect.stringMatching(/^"fix maxNodes"/)]);
  });

  it("commits two groups' changes made at once one after the other, both pushed", async () => {
    await git(person, "pull", "-q", "origin", "main");
    const gpu = { ...GENERAL_GROUP, name: "gpu", kubeSizeId: 3 };
    await writeFile(join(person, "clusters/prod/stacks/Pulumi.gpu.yaml"), file(gpu));
    await git(person, "add", "-A");
    await git(person, "commit", "-qm", "add the gpu group");
    await git(person, "push", "-q", "origin", "main");
    const s = store();
    await s.pull();
    const gpuAfter = file({ ...gpu, nodes: ["gpu-0a0b"] });
    const generalAfter = file({
      ...GENERAL_GROUP,
      maxNodes: 5,
      nodes: ["general-a1b2", "general-c3d4", "general-e5f6"],
    });
    await Promise.all([
      s.publish("gpu", gpuAfter, "scale-up gpu 0 → 1 (+gpu-0a0b)"),
      s.publish("general", generalAfter, "scale-up general 2 → 3 (+general-e5f6)"),
    ]);
    expect(await git(server.bareDir, "log", "-2", "--format=%s", "main")).toMatch(
      /^scale-up (gpu|general) .*\nscale-up (gpu|general) /,
    );
    expect(await git(server.bareDir, "show", "main:clusters/prod/stacks/Pulumi.gpu.yaml")).toBe(gpuAfter);
    expect(await git(server.bareDir, "show", "main:clusters/prod/stacks/Pulumi.general.yaml")).toBe(
      generalAfter,
    );
  });

  it("reads the branch as committed, though a process killed while writing left the clone's work tree changed", async () => {
    const first = store();
    await first.pull();
    const clone = join(dir.path, `clone-${n}`);
    const pushed = file({
      ...GENERAL_GROUP,
      maxNodes: 5,
      nodes: ["general-a1b2", "general-c3d4", "general-0909"],
    });
    await first.publish("general", pushed, "scale-up general 2 → 3 (+general-0909)");
    // Killed after writing the next text into its work tree and before committing it.
    const torn = join(clone, "clusters/prod/stacks/Pulumi.general.yaml");
    await writeFile(torn, file({ ...GENERAL_GROUP, maxNodes: 5, nodes: [] }));

    const next = store(clone);
    await next.pull();
    expect(await readFile(join(dir.path, `project-${n}`, "stacks/Pulumi.general.yaml"), "utf8")).toBe(pushed);
    // And what it publishes next builds on the branch, not on the torn text.
    const after = file({ ...GENERAL_GROUP, maxNodes: 5, nodes: ["general-a1b2", "general-c3d4"] });
    await next.publish("general", after, "scale-down general 3 → 2 (-general-0909)");
    expect(await git(server.bareDir, "show", "main:clusters/prod/stacks/Pulumi.general.yaml")).toBe(after);
  });

  it("reports refused credentials without them, and keeps them out of the repository", async () => {
    const bad = new GitStackStore({
      url: server.url,
      branch: "main",
      path: "clusters/prod/stacks",
      cloneDir: join(dir.path, "clone-bad"),
      projectDir: join(dir.path, "project-bad"),
      author: SCALER,
      credentials: { username: "scaler", token: "wrong-token-123" },
    });
    const error = await bad.pull().catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(StackStoreError);
    expect((error as Error).message).toMatch(/refused the credentials .*VPSIE_AUTOSCALER_GIT_TOKEN/);
    expect((error as Error).message).not.toContain("wrong-token-123");
    const everything = await git(server.bareDir, "log", "--all", "-p", "--format=%an %ae %cn %ce %B");
    expect(everything).not.toContain(server.token);
    expect(everything).toContain("scale-up general 0 → 1");
  });
});
