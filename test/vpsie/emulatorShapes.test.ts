import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  defaultEmulatorConfig,
  EmulatorConfigError,
  parseEmulatorConfig,
} from "../../dev/emulator/config.js";
import {
  DEMO_CLUSTER,
  DEMO_DC,
  DEMO_TOKEN,
  type TestEmulator,
  testEmulator,
} from "../../dev/testing/emulator.js";
import { tempDir } from "../../dev/testing/tempDir.js";

// Field lists from ../shared/reference/vpsie-api.md (§3.1 envelope, §4.1 ListK8s, §4.2 nodes, §4.3 K8sGroup,
// §4.4 offers, §5 VmData, §6 datacenters, §2.2 token exchange).
const LIST_K8S = [
  "cluster_name",
  "identifier",
  "count",
  "created_on",
  "updated_on",
  "created_by",
  "nickname",
  "cpu",
  "ram",
  "traffic",
  "color",
  "price",
  "managerCount",
  "slaveCount",
];
const K8S_NODE = [
  "id",
  "user_id",
  "hostname",
  "default_ip",
  "private_ip",
  "node_type",
  "node_id",
  "datacenter_id",
  "created_on",
];
const K8S_GROUP = [
  "id",
  "group_name",
  "identifier",
  "boxsize_id",
  "cpu",
  "ram",
  "ssd",
  "traffic",
  "nodes_count",
  "is_active",
  "is_deleted",
  "user_id",
  "datacenter_id",
  "project_id",
  "cluster_id",
  "dcIdentifier",
  "notes",
  "created_on",
  "last_updated",
  "dropped_on",
];
const OFFER = ["id", "name", "cpu", "ram", "disk", "price", "hourly_price"];
const VM_DATA = [
  "id",
  "identifier",
  "hostname",
  "default_ip",
  "default_ipv6",
  "private_ip",
  "ram",
  "cpu",
  "ssd",
  "traffic",
  "boxsize_id",
  "datacenter_id",
  "dcIdentifier",
  "is_active",
  "is_deleted",
  "is_suspended",
  "is_terminated",
  "is_locked",
  "power",
  "state",
  "created_on",
  "last_updated",
  "dropped_on",
];
const DATACENTER = [
  "dc_name",
  "dc_image",
  "state",
  "country",
  "is_active",
  "identifier",
  "default_selected",
  "is_deleted",
  "is_fip_available",
  "is_bucket_available",
  "is_private",
];

type Json = Record<string, unknown>;

describe("the emulator answers in the shapes of the reference", () => {
  let sim: TestEmulator;
  const call = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = { "Vpsie-Auth": DEMO_TOKEN },
  ) => {
    const res = await fetch(`${sim.url}${path}`, {
      method,
      headers: { "Content-Type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Json };
  };

  beforeAll(async () => {
    sim = await testEmulator((c) => {
      c.clusters![0]!.groups = [{ name: "general", kubeSizeId: 1, workers: 1 }];
    });
  });
  afterAll(() => sim.stop());

  it("refuses requests without a valid token with VPSie's 401 body", async () => {
    expect(await call("GET", "/apps/v2/k8s/cluster/all", undefined, {})).toEqual({
      status: 401,
      json: { error: true, message: "Please authenticate" },
    });
    expect((await call("GET", "/apps/v2/k8s/cluster/all", undefined, { "Vpsie-Auth": "nope" })).status).toBe(
      401,
    );
    expect(
      (await call("GET", "/apps/v2/k8s/cluster/all", undefined, { Authorization: `Bearer ${DEMO_TOKEN}` }))
        .status,
    ).toBe(200);
  });

  it("wraps lists in the envelope with total, and uses the documented cluster, node and group fields", async () => {
    const list = await call("GET", "/apps/v2/k8s/cluster/all");
    expect(list.json).toMatchObject({ error: false, total: 1 });
    const [cluster] = list.json.data as Json[];
    expect(Object.keys(cluster ?? {})).toEqual(expect.arrayContaining(LIST_K8S));
    expect(typeof cluster?.price).toBe("string"); // numbers that arrive as strings

    const detail = (await call("GET", `/apps/v2/k8s/cluster/byId/${DEMO_CLUSTER}`)).json.data as Json;
    for (const node of detail.nodes as Json[])
      expect(Object.keys(node)).toEqual(expect.arrayContaining(K8S_NODE));

    const [group] = (await call("GET", `/apps/v2/k8s/node/groups/byClusterId/${DEMO_CLUSTER}`)).json
      .data as Json[];
    expect(Object.keys(group ?? {})).toEqual(expect.arrayContaining(K8S_GROUP));
    expect(group?.is_active).toBe(1); // flags as 0/1
  });

  it("uses the documented offer, VM and datacenter fields, on both VM prefixes", async () => {
    const [offer] = (await call("POST", "/apps/v2/k8s/offers", { dcIdentifier: DEMO_DC })).json
      .data as Json[];
    expect(Object.keys(offer ?? {}).sort()).toEqual([...OFFER].sort());
    for (const prefix of ["/api/v2/vm", "/apps/v2/vm"]) {
      const vms = (await call("GET", prefix)).json.data as Json[];
      expect(vms.length).toBeGreaterThan(0);
      for (const vm of vms) expect(Object.keys(vm)).toEqual(expect.arrayContaining(VM_DATA));
      const one = (await call("GET", `${prefix}/${String(vms[0]?.identifier)}`)).json.data as Json;
      expect(Object.keys(one)).toEqual(
        expect.arrayContaining(["vmData", "imageCategories", "vmTags", "privateIpData", "floatingIpData"]),
      );
      expect((await call("GET", `${prefix}/unknown`)).json).toEqual({ error: false, data: false });
    }
    const [dc] = (await call("GET", "/apps/v2/datacenter")).json.data as Json[];
    expect(Object.keys(dc ?? {})).toEqual(expect.arrayContaining(DATACENTER));
  });

  it("answers writes with the envelope, errors with error, code, message and stack", async () => {
    const created = await call("POST", "/apps/v2/k8s/cluster/add/group", {
      clusterIdentifier: DEMO_CLUSTER,
      groupName: "more",
      KubeSizeID: 2,
    });
    expect(created.json).toEqual({ error: false, data: true });
    const clash = await call("POST", "/apps/v2/k8s/cluster/add/group", {
      clusterIdentifier: DEMO_CLUSTER,
      groupName: "again",
      KubeSizeID: 2,
    });
    expect(clash.json).toMatchObject({
      error: true,
      code: 400,
      message: "Group more has same selected Size, please select another size",
    });
    expect(Object.keys(clash.json).sort()).toEqual(["code", "error", "message", "stack"]);
    const missing = await call("GET", "/apps/v2/k8s/cluster/byId/unknown");
    expect(missing.json).toMatchObject({ error: true, message: "kubernetes not found" });
  });

  it("exchanges client credentials in the SDK's answer shape", async () => {
    const login = await call(
      "POST",
      "/apps/v2/auth/from/api",
      { clientId: "demo-client", clientSecret: "demo-secret" },
      {},
    );
    expect(login.json).toMatchObject({
      error: false,
      token: {
        access: { token: expect.any(String), expires: expect.any(String) },
        refresh: { token: expect.any(String) },
      },
    });
  });
});

describe("the emulator's state file", () => {
  it("keeps accounts, clusters, groups and nodes across a restart", async () => {
    const dir = await tempDir("sim-state");
    const stateFile = join(dir.path, "state.json");
    try {
      const first = await testEmulator(() => undefined, { stateFile });
      const group = await first
        .client()
        .createNodeGroup({ clusterIdentifier: DEMO_CLUSTER, name: "kept", kubeSizeId: 1 });
      await first.client().addWorker(DEMO_CLUSTER, group.id);
      const before = await first.client().getCluster(DEMO_CLUSTER);
      await first.stop();

      const second = await testEmulator(() => undefined, { stateFile });
      try {
        expect(await second.client().listNodeGroups(DEMO_CLUSTER)).toEqual([
          expect.objectContaining({ name: "kept", nodeCount: 1 }),
        ]);
        const after = await second.client().getCluster(DEMO_CLUSTER);
        expect(after?.nodes.map((n) => n.identifier)).toEqual(before?.nodes.map((n) => n.identifier));
      } finally {
        await second.stop();
      }
    } finally {
      await dir.remove();
    }
  });
});

describe("the emulator's configuration", () => {
  it("names the field that is wrong", () => {
    const bad = structuredClone(defaultEmulatorConfig);
    bad.accounts[0]!.workerLimit = -1;
    expect(() => parseEmulatorConfig(bad, "sim.yaml")).toThrow(EmulatorConfigError);
    expect(() => parseEmulatorConfig(bad, "sim.yaml")).toThrow(/^sim\.yaml: accounts\.0\.workerLimit: /);
    const orphan = structuredClone(defaultEmulatorConfig);
    orphan.clusters![0]!.account = "nobody";
    expect(() => parseEmulatorConfig(orphan, "sim.yaml")).toThrow(/names unknown account nobody/);
  });
});

describe("the emulator's workers", () => {
  let sim: TestEmulator;
  beforeAll(async () => {
    sim = await testEmulator((c) => {
      c.behaviour = { profile: "evidence" };
      c.accounts[0]!.workerLimit = 5_000;
    });
  });
  afterAll(() => sim?.stop());

  // Four hex digits collide among 61 workers about once in 35 clusters: two workers with one hostname
  // looked like one worker held twice to the exactly-once checks.
  it("each get a hostname no other worker of the cluster has, as a Node name must be", () => {
    const world = sim.emulator.world;
    const account = world.accountOfToken(DEMO_TOKEN)!;
    const group = world.createGroup(account, DEMO_CLUSTER, "many", 1);
    const names = Array.from(
      { length: 2_000 },
      () => world.addWorker(account, DEMO_CLUSTER, group.id).hostname,
    );
    expect(new Set(names.map((n) => n.toLowerCase())).size).toBe(names.length);
  });
});
