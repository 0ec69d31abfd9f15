import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Credentials } from "../../provider/vpsie/credentials.js";
import { VpsieClient } from "../../provider/vpsie/client.js";
import { VpsieApiError, VpsieAuthError, VpsieQuotaError } from "../../provider/vpsie/errors.js";
import {
  DEMO_CLIENT,
  DEMO_CLUSTER,
  DEMO_DC,
  type TestEmulator,
  testEmulator,
} from "../../dev/testing/emulator.js";

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("the VPSie client against the emulator: every call", () => {
  let sim: TestEmulator;
  let client: VpsieClient;

  beforeAll(async () => {
    sim = await testEmulator();
    client = sim.client();
  });
  afterAll(() => sim.stop());

  it("lists clusters and reads one with its nodes", async () => {
    const clusters = await client.listClusters();
    expect(clusters).toEqual([
      expect.objectContaining({
        identifier: DEMO_CLUSTER,
        name: "HEL-Kubernetes-49ab",
        workerCount: 0,
        managerCount: 1,
      }),
    ]);
    const detail = await client.getCluster(DEMO_CLUSTER);
    expect(detail?.nodes).toEqual([expect.objectContaining({ nodeType: "master" })]);
    expect(await client.getCluster("no-such-cluster")).toBeUndefined();
  });

  it("lists the Kubernetes sizes of a datacenter with prices parsed from strings", async () => {
    const offers = await client.listOffers(DEMO_DC);
    expect(offers[0]).toEqual({
      id: 1,
      name: "k8s-2c-4g",
      cpu: 2,
      ramMb: 4096,
      diskGb: 80,
      priceMonthly: 24,
      priceHourly: 0.0333,
    });
    expect(await client.listDatacenters()).toEqual([
      expect.objectContaining({ identifier: DEMO_DC, name: "HEL", active: true }),
    ]);
  });

  it("creates a node group, refuses a second group of the same size as a terminal error, and deletes it", async () => {
    const group = await client.createNodeGroup({
      clusterIdentifier: DEMO_CLUSTER,
      name: "general",
      kubeSizeId: 2,
    });
    expect(group).toMatchObject({
      name: "general",
      kubeSizeId: 2,
      nodeCount: 0,
      active: true,
      deleted: false,
    });
    expect(await client.listNodeGroups(DEMO_CLUSTER)).toEqual([group]);

    const creates = async () =>
      (await sim.requests(/cluster\/add\/group/)).filter((r) => r.method === "POST").length;
    const before = await creates();
    const same = client.createNodeGroup({ clusterIdentifier: DEMO_CLUSTER, name: "other", kubeSizeId: 2 });
    await expect(same).rejects.toBeInstanceOf(VpsieQuotaError);
    await expect(same).rejects.toThrow(/has same selected Size/);
    // Terminal: asked once, never again.
    expect((await creates()) - before).toBe(1);

    expect(await client.deleteNodeGroup(group.identifier, "test")).toBe(true);
    expect(await client.deleteNodeGroup(group.identifier, "test")).toBe(false);
    expect(await client.listNodeGroups(DEMO_CLUSTER)).toEqual([]);
  });

  it("adds a worker that provisions asynchronously, answering bare true, and deletes exactly that worker", async () => {
    const group = await client.createNodeGroup({
      clusterIdentifier: DEMO_CLUSTER,
      name: "workers",
      kubeSizeId: 1,
    });
    expect(await client.addWorker(DEMO_CLUSTER, group.id)).toBeUndefined();
    const [provisioning] =
      (await client.getCluster(DEMO_CLUSTER))?.nodes.filter((n) => n.nodeType === "slave") ?? [];
    expect(provisioning).toMatchObject({
      status: "provisioning",
      hostname: expect.stringMatching(/^hel-kubernetes-49ab-slave-/),
    });
    const running = await until(async () =>
      (await client.getCluster(DEMO_CLUSTER))?.nodes.find(
        (n) => n.identifier === provisioning?.identifier && n.status === "running",
      ),
    );
    const vm = await client.getVm(running.identifier ?? "");
    expect(vm).toMatchObject({ hostname: running.hostname, active: true, cpu: 2, ramMb: 4096 });
    expect((await client.listVms()).map((v) => v.identifier)).toContain(running.identifier);

    // A second worker of the same group, so that "exactly that worker" differs from "any" and "all".
    expect(await client.addWorker(DEMO_CLUSTER, group.id)).toBeUndefined();
    const other = await until(async () =>
      (await client.getCluster(DEMO_CLUSTER))?.nodes.find(
        (n) => n.nodeType === "slave" && n.identifier !== running.identifier && n.status === "running",
      ),
    );

    expect(await client.deleteWorker(DEMO_CLUSTER, running.identifier ?? "")).toBe(true);
    expect(await client.deleteWorker(DEMO_CLUSTER, running.identifier ?? "")).toBe(false);
    expect(await client.getVm(running.identifier ?? "")).toBeUndefined();
    const left = (await client.listWorkers(DEMO_CLUSTER)).filter((w) => w.role === "worker");
    expect(left.map((w) => w.identifier)).toEqual([other.identifier]);
    expect(await client.getVm(other.identifier ?? "")).toMatchObject({ hostname: other.hostname });
    expect(await client.deleteWorker(DEMO_CLUSTER, other.identifier ?? "")).toBe(true);
    await client.deleteNodeGroup(group.identifier, "test");
  });

  it("returns the new worker when VPSie answers with the node object", async () => {
    sim.emulator.world.config.behaviour.addWorkerAnswer = "object";
    try {
      const group = await client.createNodeGroup({
        clusterIdentifier: DEMO_CLUSTER,
        name: "objects",
        kubeSizeId: 3,
      });
      const added = await client.addWorker(DEMO_CLUSTER, group.id);
      expect(added).toMatchObject({
        identifier: expect.any(String),
        hostname: expect.any(String),
        status: "provisioning",
      });
      await client.deleteNodeGroup(group.identifier, "test");
    } finally {
      sim.emulator.world.config.behaviour.addWorkerAnswer = "true";
    }
  });
});

describe("the VPSie client's credentials", () => {
  let sim: TestEmulator;
  beforeAll(async () => {
    sim = await testEmulator((c) => {
      c.behaviour = { tokenLifetimeSeconds: 3600 };
    });
  });
  afterAll(() => sim.stop());

  const logins = async () => (await sim.requests(/auth\/from\/api/)).length;

  it("refuses a wrong static token with VPSie's 401 as a typed, terminal error", async () => {
    const client = sim.client({ credentials: Credentials.token("wrong") });
    const before = (await sim.requests(/cluster\/all/)).length;
    const call = client.listClusters();
    await expect(call).rejects.toBeInstanceOf(VpsieAuthError);
    await expect(call).rejects.toThrow(/Please authenticate/);
    expect((await sim.requests(/cluster\/all/)).length - before).toBe(1);
  });

  it("exchanges client credentials once, reuses the token, and logs in again once after a 401", async () => {
    const client = sim.client({ credentials: Credentials.client(DEMO_CLIENT.id, DEMO_CLIENT.secret) });
    const before = await logins();
    await client.listClusters();
    await client.listClusters();
    expect((await logins()) - before).toBe(1);

    sim.emulator.world.data.issuedTokens = {};
    await client.listClusters();
    expect((await logins()) - before).toBe(2);
  });

  it("refreshes a token before it expires", async () => {
    sim.emulator.world.config.behaviour.tokenLifetimeSeconds = 60; // inside the 5-minute refresh window
    try {
      const client = sim.client({ credentials: Credentials.client(DEMO_CLIENT.id, DEMO_CLIENT.secret) });
      const before = await logins();
      await client.listClusters();
      await client.listClusters();
      expect((await logins()) - before).toBe(2);
    } finally {
      sim.emulator.world.config.behaviour.tokenLifetimeSeconds = 3600;
    }
  });

  it("falls back to a form-encoded exchange and reads the older answer shape", async () => {
    sim.emulator.world.config.behaviour.loginEncodings = ["form"];
    sim.emulator.world.config.behaviour.tokenAnswer = "predecessor";
    const client = sim.client({ credentials: Credentials.client(DEMO_CLIENT.id, DEMO_CLIENT.secret) });
    expect(await client.listClusters()).toHaveLength(1);
  });

  it("refuses wrong client credentials", async () => {
    const client = sim.client({ credentials: Credentials.client(DEMO_CLIENT.id, "wrong") });
    await expect(client.listClusters()).rejects.toBeInstanceOf(VpsieAuthError);
  });
});

describe("the VPSie client's worker limit", () => {
  it("is a terminal quota error in VPSie's words, not retried", async () => {
    const sim = await testEmulator((c) => {
      c.accounts[0]!.workerLimit = 1;
    });
    try {
      const client = sim.client();
      const group = await client.createNodeGroup({
        clusterIdentifier: DEMO_CLUSTER,
        name: "small",
        kubeSizeId: 1,
      });
      await client.addWorker(DEMO_CLUSTER, group.id);
      const second = client.addWorker(DEMO_CLUSTER, group.id);
      await expect(second).rejects.toBeInstanceOf(VpsieQuotaError);
      await expect(second).rejects.toThrow(/exceeds the allowed limit/);
      expect(await sim.requests(/add\/slave/)).toHaveLength(2);
      const error = await second.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(VpsieApiError);
      expect((error as VpsieApiError).retryable).toBe(false);
    } finally {
      await sim.stop();
    }
  });
});
