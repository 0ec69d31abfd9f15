import { readdir, readFile, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import { basename, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Applier } from "../../scaler/apply/applier.js";
import { serveConsole } from "../../scaler/cli/consoleServing.js";
import { directoryReviews } from "../../scaler/review/store.js";
import { filesUnder } from "../../dev/testing/files.js";
import { GENERAL_GROUP, type TestEmulator, testEmulator } from "../../dev/testing/emulator.js";
import { testProject, type TestProject } from "../../dev/testing/project.js";

/** Updates in the stack's history: one real, the rest copies of it the way the file backend names them. */
const UPDATES = 2_500;
const PAGE_SIZE = 50;

describe("the console pages through thousands of history entries, read from the Pulumi backend", () => {
  let sim: TestEmulator;
  let project: TestProject;
  let server: Server | undefined;
  let url: string;

  const historyPage = async (page: number) => {
    const res = await fetch(`${url}/history?group=general&page=${page}`);
    expect(res.status).toBe(200);
    const body = await res.text();
    return {
      rows: [...body.matchAll(/<td class="message">\s*([^<]*)/g)].map((m) => m[1]?.trim() ?? ""),
      older: body.includes(`page=${page + 1}">older`),
    };
  };

  beforeAll(async () => {
    sim = await testEmulator();
    process.env.VPSIE_API_URL = sim.url;
    process.env.VPSIE_TOKEN = "demo-token";
    project = await testProject("console-history");
    await project.writeGroup(GENERAL_GROUP);
    await new Applier({ ...project.engine, lockWaitMs: 3_000 }).apply({
      group: "general",
      add: 1,
      remove: [],
      reason: "1 pending pod: default/web-1",
    });
    const [real] = (await filesUnder(project.backendDir)).filter((f) => f.endsWith(".history.json"));
    expect(real).toBeDefined();
    // "<stack>-<unix nanoseconds>.history.json": the backend lists them by name, oldest first.
    const nanos = BigInt(/-(\d+)\.history\.json$/.exec(basename(real!))![1]!);
    const entry = JSON.parse(await readFile(real!, "utf8")) as { message: string; startTime: number };
    for (let n = 1; n < UPDATES; n++) {
      const at = nanos - BigInt(UPDATES - n) * 60_000_000_000n;
      const copy = {
        ...entry,
        message: `scale-up general: update ${n} of the copies`,
        startTime: Number(at / 1_000_000_000n),
      };
      await writeFile(join(dirname(real!), `general-${at}.history.json`), JSON.stringify(copy));
    }
    ({ server, url } = await serveConsole({
      address: "127.0.0.1:0",
      settings: { ...project.engine, projectDir: project.dir },
      reviews: directoryReviews(join(project.workDir, "reviews")),
      user: "tester",
      fromEnv: {},
      log: () => {},
    }));
  }, 120_000);
  afterAll(async () => {
    server?.close();
    await sim?.stop();
    await project?.remove();
  });

  it("shows the newest page first, 50 entries, with a link to older ones", async () => {
    const first = await historyPage(1);
    expect(first.rows).toHaveLength(PAGE_SIZE);
    expect(first.rows[0]).toMatch(/^scale-up general 0 → 1 \(\+general-[0-9a-f]+\): 1 pending pod/);
    expect(first.rows[1]).toBe(`scale-up general: update ${UPDATES - 1} of the copies`);
    expect(first.older).toBe(true);
  });

  it("reaches any page of thousands, and the last one ends the list", async () => {
    const middle = await historyPage(25);
    expect(middle.rows).toHaveLength(PAGE_SIZE);
    expect(middle.rows[0]).toBe(`scale-up general: update ${UPDATES - 24 * PAGE_SIZE} of the copies`);
    const last = await historyPage(UPDATES / PAGE_SIZE);
    expect(last.rows.at(-1)).toBe("scale-up general: update 1 of the copies");
    const beyond = await historyPage(UPDATES / PAGE_SIZE + 1);
    expect(beyond.rows).toEqual([]);
    expect(beyond.older).toBe(false);
  });

  it("reads through a project directory of its own, leaving the scaler's stack files as they were", async () => {
    // As a stack store writes it from a ConfigMap or a commit: settings and members, no encryption salt,
    // which a stack select in this directory would add.
    const stackFile = await project.writeGroup(GENERAL_GROUP);
    const before = await readFile(stackFile, "utf8");
    await historyPage(2);
    expect(await readFile(stackFile, "utf8")).toBe(before);
    expect((await readdir(join(project.engine.stateDir, "console-project"))).length).toBeGreaterThan(0);
  });
});
