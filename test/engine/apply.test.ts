import { readFile, writeFile, readdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Applier, StackLockedError } from "../../scaler/apply/applier.js";
import { readNodeGroups } from "../../scaler/apply/stackConfig.js";
import { runCli } from "../../dev/testing/cli.js";
import { DEMO_CLUSTER, type TestEmulator, testEmulator } from "../../dev/testing/emulator.js";
import { testProject, type TestProject } from "../../dev/testing/project.js";
import { writePersonLock } from "../../dev/testing/personLock.js";

const group = (name: string, kubeSizeId: number, extra: Record<string, unknown> = {}) => ({
  name,
  cluster: DEMO_CLUSTER,
  kubeSizeId,
  minNodes: 0,
  maxNodes: 5,
  nodes: [],
  ...extra,
});

describe("the apply layer: every scale action is a Pulumi update", () => {
  let sim: TestEmulator;
  let project: TestProject;
  let applier: Applier;
  const events: Array<{ at: number; message: string }> = [];

  const workersOfSize = async (size: number) => {
    const nodes =
      (await sim.client().getCluster(DEMO_CLUSTER))?.nodes.filter((n) => n.nodeType === "slave") ?? [];
    const sized = [];
    for (const n of nodes)
      if ((await sim.client().getVm(n.identifier ?? ""))?.kubeSizeId === size) sized.push(n);
    return sized;
  };

  beforeAll(async () => {
    sim = await testEmulator();
    process.env.VPSIE_API_URL = sim.url;
    process.env.VPSIE_TOKEN = "demo-token";
    project = await testProject("apply");
    await project.writeGroup(group("general", 1));
    await project.writeGroup(group("large", 3));
    applier = new Applier({
      ...project.engine,
      lockWaitMs: 3_000,
      progress: (message) => events.push({ at: Date.now(), message }),
    });
  });
  afterAll(async () => {
    await sim?.stop();
    await project?.remove();
  });

  it("scales up with a preview, a message saying why, the created nodes and the history entry", async () => {
    const result = await applier.apply({
      group: "general",
      add: 2,
      remove: [],
      reason: "2 pending pods: default/web-1, default/web-2",
    });
    expect(result).toMatchObject({ group: "general", from: 0, to: 2, requests: 1 });
    expect(result.message).toMatch(
      /^scale-up general 0 → 2 \(\+general-[0-9a-f]{4} \+general-[0-9a-f]{4}\): 2 pending pods: default\/web-1, default\/web-2 \(\+\$0\.0666\/h, group \$0\.0666\/h\)$/,
    );
    expect(result.preview.changes).toMatchObject({ create: 4 });
    expect(result.preview.output).toMatch(/\+ pulumi-nodejs:dynamic\/vpsie:Node: \(create\)/);
    expect(result.history).toMatchObject({ kind: "update", result: "succeeded", message: result.message });
    const workers = await workersOfSize(1);
    expect(result.created.map((c) => c.hostname).sort()).toEqual(workers.map((w) => w.hostname).sort());
    expect((await readNodeGroups(project.dir, "general"))[0]?.nodes).toEqual(
      result.created.map((c) => c.key),
    );
    // No metadata sidecar, which a reader of the stack could find half-written (see engineBackendUrl).
    const state = await readdir(project.backendDir, { recursive: true });
    expect(state).toContain(join(".pulumi", "stacks", "vpsie-autoscaler", "general.json"));
    expect(state.filter((f) => f.endsWith(".attrs"))).toEqual([]);
  });

  it("scales down exactly the named node", async () => {
    const [gone, kept] = (await readNodeGroups(project.dir, "general"))[0]!.nodes;
    const before = await applier.nodeNames("general");
    expect(Object.keys(before).sort()).toEqual([gone, kept].sort());
    const result = await applier.apply({
      group: "general",
      add: 0,
      remove: [gone!],
      reason: "node drained: unneeded for 10m",
    });
    expect(result).toMatchObject({ from: 2, to: 1, deleted: [gone] });
    expect(result.message).toBe(
      `scale-down general 2 → 1 (-${gone}): node drained: unneeded for 10m (-$0.0333/h, group $0.0333/h)`,
    );
    expect((await readNodeGroups(project.dir, "general"))[0]?.nodes).toEqual([kept]);
    // VPSie keeps the kept key's worker, and the state holds that key alone.
    expect((await workersOfSize(1)).map((w) => w.hostname)).toEqual([before[kept!]]);
    expect(await applier.nodeNames("general")).toEqual({ [kept!]: before[kept!] });
  });

  it("applies a person's settings change by an update of the group alone, naming it, with its nodes left as they are", async () => {
    const members = (await readNodeGroups(project.dir, "general"))[0]?.nodes ?? [];
    expect(members.length).toBeGreaterThan(0);
    const seen = events.length;
    const result = await applier.apply({
      group: "general",
      add: 0,
      remove: [],
      reason: '"raise maxNodes to 5" by Ada Person <ada@example.com> (commit 1a2b3c4)',
      settings: { ref: "1a2b3c4d" },
    });
    expect(result.message).toBe(
      'settings general: "raise maxNodes to 5" by Ada Person <ada@example.com> (commit 1a2b3c4)',
    );
    expect(result.history).toMatchObject({ kind: "update", result: "succeeded", message: result.message });
    expect(Object.keys(result.preview.changes)).toEqual(["same"]);
    // Targeted at the group: not the update of every member a stack whose state lacks its config's resources gets.
    expect(
      events
        .slice(seen)
        .map((e) => e.message)
        .join("\n"),
    ).not.toContain("updating every member");
    expect((await readNodeGroups(project.dir, "general"))[0]?.nodes).toEqual(members);
  });

  it("updates two groups at once: a scale-up of one does not wait behind the other", async () => {
    await sim.addFaults({ kind: "latency", latencyMs: 1_500, path: "add/slave" });
    events.length = 0;
    const [a, b] = await Promise.all([
      applier.apply({ group: "general", add: 1, remove: [], reason: "concurrency test" }),
      applier.apply({ group: "large", add: 1, remove: [], reason: "concurrency test" }),
    ]);
    await sim.clearFaults();
    expect(a.to).toBe(2);
    expect(b.to).toBe(1);
    const at = (pattern: RegExp) => events.find((e) => pattern.test(e.message))?.at ?? Number.NaN;
    // Each started its update before the other finished.
    expect(at(/^updating stack large/)).toBeLessThan(at(/^done: scale-up general/));
    expect(at(/^updating stack general/)).toBeLessThan(at(/^done: scale-up large/));
  });

  it("merges requests that queue behind a running update into one update", async () => {
    await sim.addFaults({ kind: "latency", latencyMs: 1_000, path: "add/slave", times: 1 });
    const first = applier.apply({ group: "large", add: 1, remove: [], reason: "first" });
    await new Promise((r) => setTimeout(r, 200));
    const [second, third] = [
      applier.apply({ group: "large", add: 1, remove: [], reason: "second" }),
      applier.apply({ group: "large", add: 1, remove: [], reason: "third" }),
    ];
    const results = await Promise.all([first, second, third]);
    expect(results[0]).toMatchObject({ from: 1, to: 2, requests: 1 });
    expect(results[1]).toBe(results[2]);
    expect(results[1]).toMatchObject({ from: 2, to: 4, requests: 2 });
    expect(results[1]?.message).toMatch(/: second; third \(\+\$0\.2666\/h, group \$0\.5332\/h\)$/);
  });

  it("obeys min and max a person set, re-reading the stack config before each change", async () => {
    const path = join(project.dir, "stacks", "Pulumi.large.yaml");
    await writeFile(path, (await readFile(path, "utf8")).replace("maxNodes: 5", "maxNodes: 4"));
    const capped = await applier.apply({ group: "large", add: 2, remove: [], reason: "more" });
    expect(capped.skipped).toBe("nothing to apply: maxNodes 4 allows 0 of 2 new node(s)");
    const keys = (await readNodeGroups(project.dir, "large"))[0]!.nodes;
    await writeFile(path, (await readFile(path, "utf8")).replace("minNodes: 0", "minNodes: 3"));
    const floored = await applier.apply({ group: "large", add: 0, remove: keys.slice(0, 2), reason: "less" });
    expect(floored).toMatchObject({ from: 4, to: 3, deleted: [keys[0]] });
    expect(floored.message).toMatch(/\[minNodes 3 keeps /);
  });

  it("waits for a person's lock within its bound, reports it, and never breaks it", async () => {
    const lock = await writePersonLock(project.backendDir, "general");
    const lockDir = dirname(lock);
    const blocked = applier.apply({ group: "general", add: 1, remove: [], reason: "while locked" });
    await expect(blocked).rejects.toBeInstanceOf(StackLockedError);
    await expect(blocked).rejects.toThrow(/locked by alice@alice-laptop \(pid 4242\)/);
    expect(await readdir(lockDir)).toEqual(["a5e5b6f0-person.json"]);
    const nodes = (await readNodeGroups(project.dir, "general"))[0]!.nodes;
    expect(nodes).toHaveLength(2); // the key it wanted to add went back out with the failed update

    const waiting = applier.apply({ group: "general", add: 1, remove: [], reason: "after the person" });
    setTimeout(() => void rm(lock), 1_500);
    await expect(waiting).resolves.toMatchObject({ from: 2, to: 3 });
  });

  it("shows each update's time, kind, result, changes and reason with `history`, and the pending diff with `preview`", async () => {
    const flags = project.flags;
    const env = { ...process.env, PULUMI_CONFIG_PASSPHRASE: project.engine.passphrase };
    const json = await runCli(
      ["history", "--group", "general", "--limit", "3", "--output", "json", ...flags],
      env,
    );
    expect(json.code).toBe(0);
    const entries = JSON.parse(json.stdout) as Array<{
      group: string;
      kind: string;
      result: string;
      message: string;
    }>;
    expect(entries).toHaveLength(3);
    expect(entries[0]).toMatchObject({
      group: "general",
      kind: "update",
      result: "succeeded",
      message: expect.stringMatching(
        /^scale-up general 2 → 3 .*after the person \(\+\$0\.0333\/h, group \$0\.0999\/h\)$/,
      ),
    });
    const table = await runCli(["history", ...flags], env);
    expect(table.stdout).toMatch(/^TIME\s+GROUP\s+KIND\s+RESULT\s+CHANGES\s+MESSAGE\n/);
    expect(table.stdout).toMatch(/large\s+update\s+succeeded\s+create 2\s+scale-up large 2 → 4/);
    const preview = await runCli(["preview", "--group", "large", ...flags], env);
    expect(preview.code).toBe(0);
    expect(preview.stdout).toMatch(/Previewing update \(large\)/);
    // For scripts: a group a person declared with one member, not applied yet.
    const pendingFile = await project.writeGroup(group("pending", 2, { nodes: ["pending-a1b2"] }));
    // Reading its history leaves the person's file as they wrote it (selecting a new stack here would
    // add an encryption salt to it): `history` selects stacks from a project directory of its own.
    const written = await readFile(pendingFile, "utf8");
    const none = await runCli(["history", "--group", "pending", "--output", "json", ...flags], env);
    expect(none.code, none.stderr).toBe(0);
    expect(JSON.parse(none.stdout)).toEqual([]);
    expect(await readFile(pendingFile, "utf8")).toBe(written);
    const planned = await runCli(["preview", "--group", "pending", "--output", "json", ...flags], env);
    expect(planned.code, planned.stderr).toBe(0);
    const [only, ...others] = JSON.parse(planned.stdout) as Array<{
      group: string;
      changeSummary: Record<string, number>;
      steps: Array<{ op: string; urn: string; type: string }>;
    }>;
    expect(others).toEqual([]);
    expect(only?.group).toBe("pending");
    expect(only?.changeSummary.create).toBeGreaterThanOrEqual(2);
    expect(only?.steps).toContainEqual(
      expect.objectContaining({ op: "create", urn: expect.stringMatching(/pending-a1b2$/) as unknown }),
    );
    const noPassphrase = await runCli(["history", ...flags], { ...env, PULUMI_CONFIG_PASSPHRASE: undefined });
    expect(noPassphrase.code).toBe(2);
    expect(noPassphrase.stderr).toMatch(/set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE/);
  });
});
