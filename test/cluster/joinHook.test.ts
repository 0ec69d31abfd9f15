import { CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attachJoinHook, EMULATED_LABEL } from "../../dev/emulator/joinHook.js";
import { eventually, startCluster, type TestCluster } from "../../dev/testing/cluster.js";
import { DEMO_CLUSTER, type TestEmulator, testEmulator } from "../../dev/testing/emulator.js";

describe("the emulator's join hook, against the local control plane", () => {
  let cluster: TestCluster;
  let sim: TestEmulator;

  beforeAll(async () => {
    cluster = await startCluster("join-hook");
    sim = await testEmulator();
    attachJoinHook(sim.emulator.world, cluster.record.kubeconfig, () => undefined);
  });
  afterAll(async () => {
    await sim?.stop();
    await cluster?.stop();
  });

  it("registers a Ready Node with the size's capacity when a worker runs, and deletes it with the worker", async () => {
    const core = cluster.kubeconfig.makeApiClient(CoreV1Api);
    const client = sim.client();
    const group = await client.createNodeGroup({
      clusterIdentifier: DEMO_CLUSTER,
      name: "joiners",
      kubeSizeId: 2,
    });
    await client.addWorker(DEMO_CLUSTER, group.id);
    const worker = (await client.getCluster(DEMO_CLUSTER))?.nodes.find((n) => n.nodeType === "slave");
    expect(worker?.status).toBe("provisioning");
    expect((await core.listNode()).items).toHaveLength(0);

    const node = await eventually("the worker's Node to be Ready", async () => {
      const found = await core.readNode({ name: worker!.hostname }).catch(() => undefined);
      return found?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")
        ? found
        : undefined;
    });
    expect(node.metadata?.labels?.[EMULATED_LABEL]).toBe("true");
    // The API server keeps quantities in canonical form: 8192Mi reads back as 8Gi.
    expect(node.status?.capacity).toMatchObject({ cpu: "4", memory: "8Gi", pods: "110" });
    expect(node.spec?.providerID).toBe(`vpsie://${worker!.identifier}`);

    await client.deleteWorker(DEMO_CLUSTER, worker!.identifier!);
    await eventually("the Node to be deleted", async () =>
      (await core.readNode({ name: worker!.hostname }).catch((err: Error & { code?: number }) => {
        if (err.code === 404) return "gone";
        throw err;
      })) === "gone"
        ? true
        : undefined,
    );
  });
});
