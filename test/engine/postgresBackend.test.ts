import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Applier, StackLockedError } from "../../scaler/apply/applier.js";
import { listLocks } from "../../scaler/apply/locks.js";
import { DEMO_CLUSTER, type TestEmulator, testEmulator } from "../../dev/testing/emulator.js";
import { startPostgres, type TestPostgres } from "../../dev/testing/postgres.js";
import { testProject, type TestProject } from "../../dev/testing/project.js";

describe("the apply layer on a postgres:// state backend (a real PostgreSQL)", () => {
  let sim: TestEmulator;
  let postgres: TestPostgres;
  let project: TestProject;
  let applier: Applier;

  beforeAll(async () => {
    sim = await testEmulator();
    process.env.VPSIE_API_URL = sim.url;
    process.env.VPSIE_TOKEN = "demo-token";
    postgres = await startPostgres();
    project = await testProject("postgres", postgres.url);
    await project.writeGroup({
      name: "general",
      cluster: DEMO_CLUSTER,
      kubeSizeId: 1,
      minNodes: 0,
      maxNodes: 3,
      nodes: [],
    });
    applier = new Applier({ ...project.engine, lockWaitMs: 2_000 });
  });
  afterAll(async () => {
    await sim?.stop();
    await project?.remove();
    await postgres?.stop();
  });

  it("scales up, and keeps the update with its reason in the history stored in PostgreSQL", async () => {
    const result = await applier.apply({ group: "general", add: 1, remove: [], reason: "one pod pending" });
    expect(result.history).toMatchObject({ result: "succeeded", message: result.message });
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      const rows = await client.query<{ key: string }>(
        "SELECT key FROM pulumi_state WHERE key LIKE 'postgres/.pulumi/history/vpsie-autoscaler/general/%'",
      );
      expect(rows.rows.length).toBeGreaterThan(0);
    } finally {
      await client.end();
    }
    expect(await listLocks(postgres.url, "vpsie-autoscaler", "general")).toEqual([]);
  });

  it("reads a person's lock from PostgreSQL, waits, reports it, and leaves it", async () => {
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    const key = "postgres/.pulumi/locks/organization/vpsie-autoscaler/general/5b0c-person.json";
    const lock = { pid: 777, username: "bob", hostname: "bob-desktop", timestamp: new Date().toISOString() };
    try {
      // Stored as the backend stores every object: {"data": "<base64>"}.
      const blob = { data: Buffer.from(JSON.stringify(lock)).toString("base64") };
      await client.query("INSERT INTO pulumi_state (key, data) VALUES ($1, $2)", [key, JSON.stringify(blob)]);
      expect(await listLocks(postgres.url, "vpsie-autoscaler", "general")).toEqual([
        { ...lock, id: "5b0c-person" },
      ]);
      const blocked = applier.apply({ group: "general", add: 1, remove: [], reason: "while bob works" });
      await expect(blocked).rejects.toBeInstanceOf(StackLockedError);
      await expect(blocked).rejects.toThrow(/locked by bob@bob-desktop/);
      expect((await client.query("SELECT key FROM pulumi_state WHERE key = $1", [key])).rowCount).toBe(1);
    } finally {
      await client.query("DELETE FROM pulumi_state WHERE key = $1", [key]);
      await client.end();
    }
  });
});
