import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Applier } from "../../scaler/apply/applier.js";
import { readNodeGroups } from "../../scaler/apply/stackConfig.js";
import { DEMO_CLUSTER, type TestEmulator, testEmulator } from "../../dev/testing/emulator.js";
import { testProject, type TestProject } from "../../dev/testing/project.js";

describe("previews before review: the update a person approves is the one that runs", () => {
  let sim: TestEmulator;
  let project: TestProject;
  let applier: Applier;
  let plans: string;

  beforeAll(async () => {
    sim = await testEmulator();
    process.env.VPSIE_API_URL = sim.url;
    process.env.VPSIE_TOKEN = "demo-token";
    project = await testProject("review");
    await project.writeGroup({
      name: "general",
      cluster: DEMO_CLUSTER,
      kubeSizeId: 2,
      minNodes: 0,
      maxNodes: 5,
      nodes: [],
    });
    applier = new Applier({ ...project.engine, lockWaitMs: 3_000 });
    plans = await mkdtemp(join(tmpdir(), "vpsie-autoscaler-plans-"));
  });
  afterAll(async () => {
    await sim?.stop();
    await project?.remove();
    await rm(plans, { recursive: true, force: true });
  });

  it("previews a scale-up with its diff and cost, changing nothing, then applies exactly its saved plan", async () => {
    const request = {
      group: "general",
      add: 2,
      remove: [],
      reason: "2 pending pods: default/web-1, default/web-2",
    };
    const planFile = join(plans, "general.json");
    const preview = await applier.preview(request, planFile);
    expect(preview).toMatchObject({ group: "general", from: 0, to: 2, members: [] });
    expect(preview.added).toHaveLength(2);
    expect(preview.cost).toEqual({ deltaPerHour: 2 * 0.0667, groupPerHour: 2 * 0.0667 });
    expect(preview.message).toContain("(+$0.1334/h, group $0.1334/h)");
    expect(preview.diff).toMatch(/\+ pulumi-nodejs:dynamic\/vpsie:Node: \(create\)/);
    expect(preview.changes).toMatchObject({ create: 4 });
    // The plan is kept where people read reviews (a ConfigMap): no credential in it.
    const plan = await readFile(planFile, "utf8");
    expect(plan).toContain('"resourcePlans"');
    expect(plan).not.toContain("demo-token");
    expect(plan).not.toContain(project.engine.passphrase);
    // Nothing changed: no member published, no worker, no update in the history.
    expect((await readNodeGroups(project.dir, "general"))[0]?.nodes).toEqual([]);
    expect(
      (await sim.client().getCluster(DEMO_CLUSTER))?.nodes.filter((n) => n.nodeType === "slave"),
    ).toHaveLength(0);

    const result = await applier.apply({
      ...request,
      keys: preview.added,
      plan: planFile,
      approvedBy: "Ada <ada@example.com>",
    });
    expect(result.created.map((c) => c.key)).toEqual(preview.added);
    expect(result.message).toBe(`${preview.message} (approved by Ada <ada@example.com>)`);
    expect((await readNodeGroups(project.dir, "general"))[0]?.nodes).toEqual(preview.added);
  });

  it("refuses to run a saved plan once the group's settings changed after the review", async () => {
    const [key] = (await readNodeGroups(project.dir, "general"))[0]!.nodes;
    const request = { group: "general", add: 0, remove: [key!], reason: "node drained: underutilized" };
    const planFile = join(plans, "general-down.json");
    const preview = await applier.preview(request, planFile);
    expect(preview.removed).toEqual([key]);
    expect(preview.cost?.deltaPerHour).toBeCloseTo(-0.0667);
    // A person raises maxNodes after the review: what would run is no longer what was approved.
    const config = (await readNodeGroups(project.dir, "general"))[0]!;
    await project.writeGroup({ ...config, maxNodes: 9 });
    await expect(applier.apply({ ...request, plan: planFile, approvedBy: "Ada" })).rejects.toThrow(
      /violates plan/,
    );
    expect((await readNodeGroups(project.dir, "general"))[0]?.nodes).toContain(key);
    expect(Object.keys(await applier.nodeNames("general"))).toContain(key);
  });
});
