import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WorkerClaims } from "../../provider/pulumi/claims.js";
import { VpsieApiError, VpsieOutcomeUnknownError, VpsieQuotaError } from "../../provider/vpsie/errors.js";
import { VpsieWorkerStillListedError } from "../../provider/vpsie/client.js";
import { sameHost } from "../../provider/vpsie/workers.js";
import { DEMO_CLUSTER, type TestEmulator, testEmulator } from "../../dev/testing/emulator.js";

const ADD = "add/slave";

/** Requests VPSie made a worker for (answered or not) and the workers that exist, per group size. */
async function workersOfSize(sim: TestEmulator, size: number) {
  return (await sim.client().listWorkers(DEMO_CLUSTER)).filter(
    (w) => w.role === "worker" && w.kubeSizeId === size,
  );
}

for (const profile of ["default", "evidence"] as const) {
  describe(`adds sent at most once, deletes that count only when done (${profile} profile)`, () => {
    let sim: TestEmulator;
    let groupId: number;

    beforeAll(async () => {
      sim = await testEmulator((c) => {
        c.behaviour = { provisionDelayMs: 100, profile };
        c.accounts[0]!.workerLimit = 50;
      });
      groupId = (
        await sim
          .client()
          .createNodeGroup({ clusterIdentifier: DEMO_CLUSTER, name: "general", kubeSizeId: 2 })
      ).id;
    });
    afterEach(() => sim.clearFaults());
    afterAll(() => sim.stop());

    const adds = async () => (await sim.requests(new RegExp(ADD))).length;

    for (const answer of ["html502", "reset", "timeout"] as const) {
      it(`does not send an add again when VPSie carried it out and the answer was lost (${answer})`, async () => {
        const before = { requests: await adds(), workers: (await workersOfSize(sim, 2)).length };
        await sim.addFaults({ kind: "lostAnswer", answer, latencyMs: 2_000, path: ADD, times: 1 });
        const call = sim.client({ timeoutMs: 500 }).addWorker(DEMO_CLUSTER, groupId);
        await expect(call).rejects.toBeInstanceOf(VpsieOutcomeUnknownError);
        expect((await adds()) - before.requests).toBe(1);
        expect((await workersOfSize(sim, 2)).length - before.workers).toBe(1);
      });
    }

    it("sends an add again after a 429, which proves VPSie did nothing", async () => {
      const before = { requests: await adds(), workers: (await workersOfSize(sim, 2)).length };
      await sim.addFaults({ kind: "rateLimit", retryAfterSeconds: 0, path: ADD, times: 2 });
      await sim.client().addWorker(DEMO_CLUSTER, groupId);
      expect((await adds()) - before.requests).toBe(3);
      expect((await workersOfSize(sim, 2)).length - before.workers).toBe(1);
    });

    it("does not send an add again after a 5xx, which proves nothing either way", async () => {
      const before = { requests: await adds(), workers: (await workersOfSize(sim, 2)).length };
      await sim.addFaults({ kind: "error", status: 503, path: ADD, times: 1 });
      await expect(sim.client().addWorker(DEMO_CLUSTER, groupId)).rejects.toBeInstanceOf(
        VpsieOutcomeUnknownError,
      );
      expect((await adds()) - before.requests).toBe(1);
      expect((await workersOfSize(sim, 2)).length - before.workers).toBe(0);
    });

    it("claims, for an add whose answer was lost, the worker it made and no other", async () => {
      const before = (await workersOfSize(sim, 2)).map((w) => w.hostname);
      await sim.addFaults({ kind: "lostAnswer", answer: "html502", path: ADD, times: 1 });
      const claims = new WorkerClaims(sim.client(), { pollMs: 50 });
      const group = { name: "general", groupId, kubeSizeId: 2 };
      const [a, b] = await Promise.all([
        claims.addWorker(DEMO_CLUSTER, group),
        claims.addWorker(DEMO_CLUSTER, group),
      ]);
      expect(a.hostname).not.toBe(b.hostname);
      const after = (await workersOfSize(sim, 2)).map((w) => w.hostname);
      expect(after.filter((h) => !before.includes(h)).sort()).toEqual([a.hostname, b.hostname].sort());
    });

    it("gives up looking when no worker turns up for a lost answer, and sends nothing again", async () => {
      const before = { requests: await adds(), workers: (await workersOfSize(sim, 2)).length };
      // The connection drops before VPSie sees the request: nothing is made, and nothing can be told.
      await sim.addFaults({ kind: "drop", path: ADD, times: 1 });
      const claims = new WorkerClaims(sim.client(), { pollMs: 50, unknownOutcomeTimeoutMs: 500 });
      await expect(
        claims.addWorker(DEMO_CLUSTER, { name: "general", groupId, kubeSizeId: 2 }),
      ).rejects.toThrow(/was lost and no new worker of its size appeared .* the request was not sent again/);
      expect((await adds()) - before.requests).toBe(1);
      expect((await workersOfSize(sim, 2)).length).toBe(before.workers);
    });

    it("finds a group whose creation answer was lost instead of creating it twice", async () => {
      await sim.addFaults({ kind: "lostAnswer", answer: "html502", path: "add/group", times: 1 });
      const group = await sim
        .client()
        .createNodeGroup({ clusterIdentifier: DEMO_CLUSTER, name: "large", kubeSizeId: 3 });
      expect(group).toMatchObject({ name: "large", kubeSizeId: 3 });
      expect(await sim.requests(/add\/group/)).toHaveLength(2);
      expect(
        (await sim.client().listNodeGroups(DEMO_CLUSTER)).filter((g) => g.name === "large"),
      ).toHaveLength(1);
    });

    it("deletes exactly the worker named, sending deleteStatistic, and no other", async () => {
      const workers = await workersOfSize(sim, 2);
      const target = workers[1]!;
      expect(await sim.client().deleteWorker(DEMO_CLUSTER, { hostname: target.hostname.toUpperCase() })).toBe(
        true,
      );
      const left = await workersOfSize(sim, 2);
      expect(left.map((w) => w.hostname).sort()).toEqual(
        workers
          .filter((w) => w !== target)
          .map((w) => w.hostname)
          .sort(),
      );
      const [request] = (await sim.requests(/delete\/slave/)).slice(-1);
      expect(request?.body).toMatchObject({
        identifier: target.identifier,
        deleteStatistic: expect.any(Object),
      });
    });

    // Found by the chaos campaign: the listing after an accepted delete got a proxy's 502, the delete
    // failed, and the state kept a Node resource whose worker was gone.
    it("counts a delete VPSie accepted as done when listing the workers fails for a while after it", async () => {
      const [worker] = await workersOfSize(sim, 2);
      const client = sim.client({ maxAttempts: 1, deleteSettleMs: 10_000 });
      const list = client.listWorkers.bind(client);
      let listings = 0;
      client.listWorkers = async (cluster: string) => {
        const workers = await list(cluster);
        // After the listing that finds the worker to delete, the next two fail.
        if (++listings === 1)
          await sim.addFaults({ kind: "html502", method: "GET", path: "api/v2/vm", times: 2 });
        return workers;
      };
      expect(await client.deleteWorker(DEMO_CLUSTER, worker!)).toBe(true);
      expect((await workersOfSize(sim, 2)).some((w) => sameHost(w.hostname, worker!.hostname))).toBe(false);
      expect(listings).toBeGreaterThanOrEqual(2);
    });

    it("does not count a delete as done when VPSie answers not found but still lists the worker", async () => {
      const [worker] = await workersOfSize(sim, 2);
      await sim.addFaults({ kind: "error", status: 404, message: "Not found", path: "delete/slave" });
      const call = sim.client({ deleteSettleMs: 500 }).deleteWorker(DEMO_CLUSTER, worker!);
      await expect(call).rejects.toBeInstanceOf(VpsieWorkerStillListedError);
      expect((await workersOfSize(sim, 2)).some((w) => sameHost(w.hostname, worker!.hostname))).toBe(true);
    });
  });
}

describe("the shapes the public SDK shows (evidence profile)", () => {
  let sim: TestEmulator;
  beforeAll(async () => {
    sim = await testEmulator((c) => {
      c.behaviour = { profile: "evidence", provisionDelayMs: 0 };
      c.accounts[0]!.workerLimit = 2;
    });
  });
  afterAll(() => sim.stop());

  it("identifies workers without a node identifier, by the VM of the same hostname, whatever its case", async () => {
    const client = sim.client();
    const group = await client.createNodeGroup({
      clusterIdentifier: DEMO_CLUSTER,
      name: "general",
      kubeSizeId: 1,
    });
    await client.addWorker(DEMO_CLUSTER, group.id);
    const nodes = (await client.getCluster(DEMO_CLUSTER))!.nodes;
    expect(nodes.every((n) => n.identifier === undefined)).toBe(true);
    expect(nodes.map((n) => n.nodeType).sort()).toEqual(["1", "2"]);
    const workers = await client.listWorkers(DEMO_CLUSTER);
    expect(workers.map((w) => w.role).sort()).toEqual(["master", "worker"]);
    const worker = workers.find((w) => w.role === "worker")!;
    expect(worker.hostname).toMatch(/^HEL-Kubernetes-49ab-slave-/);
    expect(worker.identifier).toBe(
      (await client.listVms()).find((v) => v.hostname === worker.hostname)?.identifier,
    );
    expect(worker.kubeSizeId).toBe(1);
  });

  it("reads lists whose total is an array", async () => {
    const body = (await (
      await fetch(`${sim.url}/apps/v2/k8s/cluster/all`, { headers: { "Vpsie-Auth": "demo-token" } })
    ).json()) as { total: unknown };
    expect(body.total).toEqual([{ count: 1 }]);
    expect(await sim.client().listClusters()).toHaveLength(1);
  });

  it("takes the worker limit answered with HTTP 500 as final: not sent again", async () => {
    const client = sim.client();
    const [group] = await client.listNodeGroups(DEMO_CLUSTER);
    await client.addWorker(DEMO_CLUSTER, group!.id);
    const before = (await sim.requests(/add\/slave/)).length;
    const third = client.addWorker(DEMO_CLUSTER, group!.id);
    await expect(third).rejects.toBeInstanceOf(VpsieQuotaError);
    await expect(third).rejects.toThrow(/\(500\): Worker nodes count exceeds the allowed limit 2/);
    expect((await sim.requests(/add\/slave/)).length - before).toBe(1);
  });

  it("answers a delete without deleteStatistic with HTTP 500, and an unknown route with Not found", async () => {
    const headers = { "Vpsie-Auth": "demo-token", "Content-Type": "application/json" };
    const [group] = await sim.client().listNodeGroups(DEMO_CLUSTER);
    const bare = await fetch(`${sim.url}/apps/v2/k8s/cluster/delete/group/${group!.identifier}`, {
      method: "DELETE",
      headers,
      body: "{}",
    });
    expect(bare.status).toBe(500);
    const unknown = await fetch(`${sim.url}/apps/v2/k8s/cluster/byId/${DEMO_CLUSTER}/no/such/route`, {
      method: "DELETE",
      headers,
      body: JSON.stringify({ deleteStatistic: { reason: "x", note: "y" } }),
    });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: true, code: 404, message: "Not found" });
    const error = await sim
      .client()
      .listNodeGroups("not-a-cluster")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VpsieApiError);
  });
});
