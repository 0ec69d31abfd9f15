import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Applier } from "../../scaler/apply/applier.js";
import { readNodeGroups } from "../../scaler/apply/stackConfig.js";
import { DEMO_CLUSTER, type TestEmulator, testEmulator } from "../../dev/testing/emulator.js";
import { accountFor, exactlyOnceViolations } from "../../dev/testing/invariants.js";
import { scaleAndKill } from "../../dev/testing/processes.js";
import { testProject, type TestProject } from "../../dev/testing/project.js";

const GROUP = { name: "general", cluster: DEMO_CLUSTER, kubeSizeId: 2, minNodes: 0, maxNodes: 80, nodes: [] };

/** A third of the adds and deletes VPSie carries out lose their answer, in each of the three ways. */
const LOST_ANSWERS = (["html502", "reset", "timeout"] as const).flatMap((answer) =>
  ["add/slave", "delete/slave"].map((path) => ({
    kind: "lostAnswer" as const,
    answer,
    latencyMs: 3_000,
    path,
    probability: 0.12,
  })),
);

for (const profile of ["default", "evidence"] as const) {
  describe(`exactly once against the ${profile} profile, with lost answers`, () => {
    let sim: TestEmulator;
    let project: TestProject;
    let applier: Applier;
    const progress: string[] = [];

    beforeAll(async () => {
      sim = await testEmulator((c) => {
        c.behaviour = { profile, provisionDelayMs: 200 };
        c.accounts[0]!.workerLimit = 200;
      });
      process.env.VPSIE_API_URL = sim.url;
      process.env.VPSIE_TOKEN = "demo-token";
      project = await testProject(`exactly-once-${profile}`);
      await project.writeGroup(GROUP);
      applier = new Applier({
        ...project.engine,
        client: sim.client({ timeoutMs: 1_500, rateLimit: { requests: 10_000, intervalMs: 60_000 } }),
        claimTimings: { pollMs: 200 },
        progress: (m) => progress.push(m),
      });
      await sim.addFaults(...LOST_ANSWERS);
    });
    afterAll(async () => {
      await sim?.stop();
      await project?.remove();
    });

    const account = () => accountFor(sim.client(), project.engine, GROUP);
    const carriedOutAdds = async () =>
      (await sim.requests(/add\/slave/)).filter((r) => r.status === 200 || r.fault?.startsWith("lostAnswer"))
        .length;

    for (const add of [1, 10, 50]) {
      it(`scales up by ${add}: workers, Node resources and member keys are one and the same`, async () => {
        const before = (await account()).workers.length;
        const result = await applier.apply({
          group: "general",
          add,
          remove: [],
          reason: `exactly once: +${add}`,
        });
        expect(result.created).toHaveLength(add);
        const after = await account();
        expect(exactlyOnceViolations(after)).toEqual([]);
        expect(after.workers).toHaveLength(before + add);
      }, 240_000);
    }

    it("scales down exactly the node named, and no other", async () => {
      const before = await account();
      const [gone, ...kept] = Object.keys(before.state).slice(3, 8);
      const goneHost = before.state[gone!];
      await applier.apply({ group: "general", add: 0, remove: [gone!], reason: "exactly once: drained" });
      const after = await account();
      expect(exactlyOnceViolations(after)).toEqual([]);
      expect(after.workers).not.toContain(goneHost);
      expect(after.workers).toHaveLength(before.workers.length - 1);
      for (const key of kept) expect(after.workers).toContain(before.state[key]);
    });

    it("adopts a worker no key holds into a key, through an update that says so", async () => {
      await sim.clearFaults();
      const client = sim.client();
      const [group] = await client.listNodeGroups(DEMO_CLUSTER);
      // An add whose answer was lost and whose worker turned up after its create had given up.
      await client.addWorker(DEMO_CLUSTER, group!.id);
      const before = await account();
      const orphan = before.workers.find((w) => !Object.values(before.state).includes(w))!;
      expect(exactlyOnceViolations(before)).toEqual([`workers no Node resource holds (orphans): ${orphan}`]);
      const worker = (await client.listWorkers(DEMO_CLUSTER)).find(
        (w) => w.hostname.toLowerCase() === orphan,
      )!;
      const result = await applier.apply({
        group: "general",
        add: 0,
        remove: [],
        adopt: [worker],
        reason: "no key held it for 10m",
      });
      expect(result.message).toMatch(
        new RegExp(
          `^adopt general ${before.keys.length} → ${before.keys.length + 1} \\(\\+general-[0-9a-f]{4}=${worker.hostname}\\): no key held it`,
        ),
      );
      const after = await account();
      expect(exactlyOnceViolations(after)).toEqual([]);
      expect(after.workers).toEqual(before.workers);
      await sim.addFaults(...LOST_ANSWERS);
    });

    it("recovers from kill -9 in the middle of an update with nothing orphaned or made twice", async () => {
      await scaleAndKill({
        project,
        sim,
        group: "general",
        add: 3,
        reason: "exactly once: crash",
        carriedOut: carriedOutAdds,
      });
      const keysAtCrash = (await readNodeGroups(project.dir, "general"))[0]!.nodes.length;
      await applier.recover("general");
      const after = await account();
      expect(exactlyOnceViolations(after)).toEqual([]);
      expect(after.keys).toHaveLength(keysAtCrash);
    }, 240_000);
  });
}
