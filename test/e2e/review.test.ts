import { AppsV1Api, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../dev/testing/browser.js";
import { runCli, spawnRun } from "../../dev/testing/cli.js";
import { eventually } from "../../dev/testing/cluster.js";
import { DEMO_CLUSTER, GENERAL_GROUP } from "../../dev/testing/emulator.js";
import { startWorld, type World } from "../../dev/testing/world.js";
import { deployWeb } from "../../dev/testing/workload.js";
import { Scaler } from "../../scaler/controller/compose.js";
import { systemClock } from "../../scaler/controller/ports.js";
import { serveConsole } from "../../scaler/cli/consoleServing.js";
import { selectProjectStack } from "../../scaler/pulumi/workspace.js";
import { ReviewGate } from "../../scaler/review/gate.js";
import type { ReviewRecord } from "../../scaler/review/records.js";
import { directoryReviews } from "../../scaler/review/store.js";
import { repoRoot } from "../../scaler/tools/paths.js";

/** Screenshots the README shows, taken by these tests. */
const SCREENSHOTS = join(repoRoot, "docs", "images");

/**
 * Review end to end on the local control plane, the emulator and the real engine: shadow mode as `run`
 * runs it beside another autoscaler, then approvals decided in the audit console in real Chromium.
 */
describe("review before it happens: shadow mode, approvals and the audit console", () => {
  let world: World;
  let browser: Browser;
  let page: Page;
  let scaler: Scaler | undefined;
  let consoleUrl = "";
  let closeConsole: (() => void) | undefined;
  const reviewsDir = () => join(world.project.workDir, "reviews");
  const reviews = () => directoryReviews(reviewsDir());
  const workers = async () =>
    ((await world.sim.client().getCluster(DEMO_CLUSTER))?.nodes ?? []).filter((n) => n.nodeType === "slave");
  const history = async () =>
    (await selectProjectStack({ ...world.project.engine, stackName: "general" })).history();
  const records = async () => (await reviews().list()).records;

  beforeAll(async () => {
    world = await startWorld({ name: "review", scaler: false });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await mkdir(SCREENSHOTS, { recursive: true });
  }, 240_000);
  afterAll(async () => {
    closeConsole?.();
    await scaler?.stop();
    await browser?.close();
    await world?.stop();
  });

  it("shadow mode: `run --mode shadow` records the scale-up it would make, with its diff and cost, and applies nothing", async () => {
    const before = { workers: (await workers()).length, history: (await history()).length };
    await deployWeb(world.cluster.kubeconfig, 3, "1500m");
    const log = join(world.project.workDir, "..", "shadow.log");
    const child = spawnRun(world.project, world.cluster.record.kubeconfig, log, {
      args: ["--mode", "shadow"],
    });
    try {
      const shadow = await eventually(
        "a shadow-mode scale-up of general listed by `vpsie-autoscaler shadow`",
        async () => {
          const out = await runCli(["shadow", "--output", "json", ...world.project.flags]);
          const listed = JSON.parse(out.stdout || "[]") as ReviewRecord[];
          return listed.find((r) => r.kind === "scale-up" && r.group === "general");
        },
        120_000,
        1_000,
      );
      expect(shadow).toMatchObject({ status: "shadow", add: 1, cost: { deltaPerHour: 0.0667 } });
      expect(shadow.cost?.groupPerHour).toBeCloseTo(2 * 0.0667);
      expect(shadow.diff).toMatch(/\+ pulumi-nodejs:dynamic\/vpsie:Node: \(create\)/);
      expect(shadow.message).toMatch(/^scale-up general 1 → 2 \(\+general-[0-9a-f]{4}\): default\/web-/);
      expect(shadow.reason).toMatch(/pending pod/);
      // Decided again every loop, recorded once.
      await eventually(
        "the same decision counted again",
        async () => {
          const again = (await records()).find((r) => r.id === shadow.id);
          return again && again.seen > 1 ? again : undefined;
        },
        30_000,
        500,
      );
      expect((await records()).filter((r) => r.status === "shadow" && r.kind === "scale-up")).toHaveLength(1);
      const table = await runCli(["shadow", ...world.project.flags]);
      expect(table.stdout).toMatch(/scale-up\s+\+1 node\(s\)\s+\+\$0\.0667\/h, group \$0\.1334\/h/);
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }
    // Nothing applied: no worker, no update, no member key, and the pending pod is still pending.
    expect((await workers()).length).toBe(before.workers);
    expect((await history()).length).toBe(before.history);
    expect(await readFile(join(world.project.dir, "stacks", "Pulumi.general.yaml"), "utf8")).not.toContain(
      "general-" + "new",
    );
    const text = await readFile(log, "utf8");
    expect(text).toMatch(/shadow mode, not applied: scale-up general 1 → 2/);
    expect(text).not.toMatch(/"msg":"applied:/);
  }, 240_000);

  it("approvals: a scale-up waits in the console with its diff and cost; approved in Chromium, the leader applies it and the history names the approver", async () => {
    const before = (await workers()).length;
    scaler = new Scaler({
      kubeconfig: world.cluster.kubeconfig,
      apply: world.applier,
      client: world.sim.client(),
      projectDir: world.project.dir,
      scanIntervalSeconds: 2,
      batch: { idleMs: 500 },
      metrics: world.metrics,
      review: new ReviewGate({
        mode: "live",
        policy: { all: true },
        store: reviews(),
        preview: (request, savePlan) => world.applier.preview(request, savePlan),
        clock: systemClock,
        log: (_l, m) => world.log.push(m),
      }),
      log: (_level, message) => world.log.push(message),
    });
    await scaler.start();
    const served = await serveConsole({
      address: "127.0.0.1:0",
      settings: world.project.engine,
      reviews: reviews(),
      user: "console",
      fromEnv: {},
      client: world.sim.client(),
    });
    consoleUrl = served.url;
    closeConsole = () => served.server.close();

    const pending = await eventually(
      "a scale-up of general waiting for approval",
      async () => (await records()).find((r) => r.status === "pending" && r.kind === "scale-up"),
      90_000,
      500,
    );
    expect(pending.rule).toBe("approvals.all: every scale action is reviewed");
    expect(pending.plan).toContain('"resourcePlans"');
    // It waits: a few loops later still nothing applied.
    await new Promise((r) => setTimeout(r, 5_000));
    expect((await workers()).length).toBe(before);

    await page.goto(`${consoleUrl}/approvals`);
    const row = page.locator(`tr.review[data-id="${pending.id}"]`);
    await expect.poll(() => row.textContent()).toContain("+$0.0667/h, group $0.1334/h");
    await row.locator("summary").click();
    expect(await row.locator("pre").first().textContent()).toContain(
      "pulumi-nodejs:dynamic/vpsie:Node: (create)",
    );
    await page.screenshot({ path: join(SCREENSHOTS, "console-approvals.png"), fullPage: true });
    await row.locator('form[action$="/approve"] input[name="by"]').fill("Ada Lovelace <ada@example.com>");
    await row.locator('form[action$="/approve"] button').click();
    await page.waitForURL(/\/approvals\?notice=/);
    expect(await page.locator('[role="status"]').textContent()).toContain("approved by Ada Lovelace");

    const applied = await eventually(
      "the approved scale-up applied by the leader",
      async () => {
        const r = (await reviews().get(pending.id))!;
        return r.status === "applied" || r.status === "failed" || r.status === "stale" ? r : undefined;
      },
      120_000,
      500,
    );
    expect(applied.outcome).toMatch(/approved by Ada Lovelace <ada@example.com>/);
    expect(applied.status).toBe("applied");
    expect((await workers()).length).toBe(before + 1);
    const [latest] = await history();
    expect(latest?.message).toBe(`${pending.message} (approved by Ada Lovelace <ada@example.com>)`);
    const gauge = await eventually("the group's $/h gauge after the scale-up", async () => {
      const value = (await world.metrics.nodeGroupCost.get()).values.find(
        (v) => v.labels.node_group === "general",
      )?.value;
      return value !== undefined && value > 0.1 ? value : undefined;
    });
    expect(gauge).toBeCloseTo(2 * 0.0667);
    // Exactly the reviewed key was added.
    const config = await readFile(join(world.project.dir, "stacks", "Pulumi.general.yaml"), "utf8");
    expect(config).toContain(pending.keys[0]!);

    await page.goto(`${consoleUrl}/history?group=general`);
    const update = page.locator("tr.update").first();
    expect(await update.textContent()).toContain("approved by Ada Lovelace");
    expect(await update.textContent()).toContain("+$0.0667/h");
    await update.locator("summary").click();
    expect(await update.locator("pre").textContent()).toContain(`+ vpsie:Node ${pending.keys[0]} (create)`);
    await page.screenshot({ path: join(SCREENSHOTS, "console-history.png"), fullPage: true });

    await page.goto(`${consoleUrl}/groups`);
    const group = page.locator('tr[data-group="general"]');
    expect(await group.textContent()).toMatch(/\$0\.0667\/h[\s\S]*\$0\.1334\/h/);
    await page.screenshot({ path: join(SCREENSHOTS, "console-groups.png"), fullPage: true });
    await page.goto(`${consoleUrl}/shadow`);
    expect(await page.locator("tr.decision").first().textContent()).toContain("add 1 node(s)");
    await page.screenshot({ path: join(SCREENSHOTS, "console-shadow.png"), fullPage: true });
  }, 300_000);

  it("a rejection in the console leaves nothing applied, and the same action is not asked again", async () => {
    const before = { workers: (await workers()).length, history: (await history()).length };
    const apps = world.cluster.kubeconfig.makeApiClient(AppsV1Api);
    await apps.patchNamespacedDeploymentScale(
      { name: "web", namespace: "default", body: { spec: { replicas: 5 } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    const pending = await eventually(
      "a second scale-up waiting for approval",
      async () => (await records()).find((r) => r.status === "pending" && r.kind === "scale-up"),
      90_000,
      500,
    );
    await page.goto(`${consoleUrl}/approvals`);
    const row = page.locator(`tr.review[data-id="${pending.id}"]`);
    await row.locator('form[action$="/reject"] input[name="by"]').fill("Grace Hopper");
    await row.locator('form[action$="/reject"] button').click();
    await page.waitForURL(/\/approvals\?notice=/);
    expect((await reviews().get(pending.id))?.status).toBe("rejected");
    // Several loops later: nothing applied, and no new request for the same action.
    await new Promise((r) => setTimeout(r, 8_000));
    expect((await workers()).length).toBe(before.workers);
    expect((await history()).length).toBe(before.history);
    expect((await records()).filter((r) => r.status === "pending")).toHaveLength(0);
    expect(await page.locator(`tr.review[data-id="${pending.id}"]`).textContent()).toContain("rejected");
  }, 240_000);

  it("shows a hostile reason and group name as text", async () => {
    const hostile =
      '<img src=x id="pwned" onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>';
    await world.applier.apply({
      group: "general",
      add: 0,
      remove: [],
      reason: hostile,
      settings: { ref: "x" },
    });
    const base = (await records())[0]!;
    await reviews().put({
      ...base,
      id: "20261201-000000-beef",
      status: "shadow",
      group: `<b id="pwned2">${GENERAL_GROUP.name}</b>`,
      reason: hostile,
      createdAt: new Date().toISOString(),
    });
    for (const path of ["/history?group=general", "/shadow", "/approvals"]) {
      await page.goto(`${consoleUrl}${path}`);
      expect(await page.locator("#pwned, #pwned2, img, script").count()).toBe(0);
      expect(await page.title()).not.toBe("pwned");
    }
    await page.goto(`${consoleUrl}/shadow`);
    expect(await page.locator("body").textContent()).toContain('<b id="pwned2">general</b>');
    await page.goto(`${consoleUrl}/history?group=general`);
    expect(await page.locator("tr.update").first().textContent()).toContain('<img src=x id="pwned"');
  }, 120_000);
});
