import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INTENT_STALE_MS, intentAbandoned, intentIsOurs, withIntent } from "../../scaler/apply/intents.js";
import { configMapIntents } from "../../scaler/kubernetes/intentConfigMap.js";
import { StackConfigMap } from "../../scaler/kubernetes/stackConfigMap.js";
import { startCluster, type TestCluster } from "../../dev/testing/cluster.js";
import { tempDir } from "../../dev/testing/tempDir.js";

const NAMESPACE = "kube-system";
const NAME = "vpsie-autoscaler-stacks";

/** The stack files kept in a ConfigMap (a real API server): what a pod's replacement starts from. */
describe("stack config in a ConfigMap", () => {
  let cluster: TestCluster;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let core: CoreV1Api;
  const stacksDir = () => join(dir.path, "stacks");
  const setData = async (data: Record<string, string>) => {
    const current = await core.readNamespacedConfigMap({ name: NAME, namespace: NAMESPACE });
    await core.replaceNamespacedConfigMap({ name: NAME, namespace: NAMESPACE, body: { ...current, data } });
  };
  const dataOf = async () =>
    (await core.readNamespacedConfigMap({ name: NAME, namespace: NAMESPACE })).data ?? {};

  beforeAll(async () => {
    cluster = await startCluster("stack-configmap");
    dir = await tempDir("stack-configmap");
    await mkdir(stacksDir(), { recursive: true });
    core = cluster.kubeconfig.makeApiClient(CoreV1Api);
  });

  afterAll(async () => {
    await cluster?.stop();
    await dir?.remove();
  });

  it("says how to fix a missing ConfigMap", async () => {
    await expect(new StackConfigMap(cluster.kubeconfig, NAMESPACE, NAME, dir.path).pull()).rejects.toThrow(
      `ConfigMap ${NAMESPACE}/${NAME} does not exist: create it with one key Pulumi.<group>.yaml per node group`,
    );
  });

  it("copies each Pulumi.<group>.yaml key into stacks/, ignores other keys, and removes files whose key went", async () => {
    await core.createNamespacedConfigMap({
      namespace: NAMESPACE,
      body: {
        metadata: { name: NAME },
        data: { "Pulumi.a.yaml": "a: 1\n", "Pulumi.b.yaml": "b: 1\n", notes: "x" },
      },
    });
    const stacks = new StackConfigMap(cluster.kubeconfig, NAMESPACE, NAME, dir.path);
    expect((await stacks.pull()).changed.sort()).toEqual(["a", "b"]);
    expect((await readdir(stacksDir())).sort()).toEqual(["Pulumi.a.yaml", "Pulumi.b.yaml"]);
    await setData({ "Pulumi.a.yaml": "a: 2\n" });
    expect((await stacks.pull()).changed.sort()).toEqual(["a", "b"]);
    expect(await readdir(stacksDir())).toEqual(["Pulumi.a.yaml"]);
    expect(await readFile(join(stacksDir(), "Pulumi.a.yaml"), "utf8")).toBe("a: 2\n");
  });

  it("leaves a stack whose update runs alone, and keeps what Pulumi added to a file it did not change", async () => {
    const stacks = new StackConfigMap(cluster.kubeconfig, NAMESPACE, NAME, dir.path);
    await stacks.pull();
    await setData({ "Pulumi.a.yaml": "a: 3\n" });
    expect((await stacks.pull(new Set(["a"]))).changed).toEqual([]);
    expect(await readFile(join(stacksDir(), "Pulumi.a.yaml"), "utf8")).toBe("a: 2\n");
    await stacks.pull();
    // Pulumi writes the passphrase's encryption salt into the file when it creates the stack.
    await writeFile(join(stacksDir(), "Pulumi.a.yaml"), "a: 3\nencryptionsalt: s\n");
    expect((await stacks.pull()).changed).toEqual([]);
    expect(await readFile(join(stacksDir(), "Pulumi.a.yaml"), "utf8")).toBe("a: 3\nencryptionsalt: s\n");
  });

  it("publishes a new member list, but never over a person's edit made since it was read", async () => {
    const stacks = new StackConfigMap(cluster.kubeconfig, NAMESPACE, NAME, dir.path);
    await stacks.pull();
    await stacks.publish("a", "a: 4\n");
    expect((await dataOf())["Pulumi.a.yaml"]).toBe("a: 4\n");
    await setData({ "Pulumi.a.yaml": "a: 4\nedited: by a person\n" });
    await expect(stacks.publish("a", "a: 5\n")).rejects.toThrow(
      `ConfigMap ${NAMESPACE}/${NAME} key Pulumi.a.yaml changed since it was read (a person edited it)`,
    );
    expect((await dataOf())["Pulumi.a.yaml"]).toBe("a: 4\nedited: by a person\n");
    await stacks.pull();
    await stacks.publish("a", "a: 5\nedited: by a person\n");
    expect((await dataOf())["Pulumi.a.yaml"]).toBe("a: 5\nedited: by a person\n");
  });

  it("keeps an update's intent in a ConfigMap while it runs, where another replica reads it, and removes it after", async () => {
    await core.createNamespacedConfigMap({ namespace: NAMESPACE, body: { metadata: { name: "intents" } } });
    const intents = configMapIntents(cluster.kubeconfig, NAMESPACE, "intents");
    const otherReplica = configMapIntents(cluster.kubeconfig, NAMESPACE, "intents");
    const seen = await withIntent(intents, "general", "scale-up general 1 → 2", async () => {
      const intent = await otherReplica.read("general");
      expect(intent && intentIsOurs(intent)).toBe(true);
      return intent;
    });
    expect(seen).toMatchObject({ stack: "general", message: "scale-up general 1 → 2" });
    expect(await otherReplica.read("general")).toBeUndefined();
    const data = (await core.readNamespacedConfigMap({ name: "intents", namespace: NAMESPACE })).data ?? {};
    expect(data).toEqual({});

    // A replica on another host (another pod) that died: abandoned once its heartbeat is stale.
    const heartbeatAt = new Date(Date.now() - 30_000).toISOString();
    const dead = {
      stack: "general",
      host: "vpsie-autoscaler-6f7c9-x2k4q",
      pid: 1,
      instance: "x",
      startedAt: heartbeatAt,
      heartbeatAt,
      message: "m",
    };
    await intents.write(dead);
    const read = await otherReplica.read("general");
    expect(read).toEqual(dead);
    expect(intentAbandoned(read!)).toBe(false);
    expect(intentAbandoned(read!, Date.now() + INTENT_STALE_MS - 30_000 + 1_000)).toBe(true);
    await intents.remove("general");
  });
});
