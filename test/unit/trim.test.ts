import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { nodeFromKubernetes, podFromKubernetes } from "../../scaler/decision/fromKubernetes.js";
import { trimForPlanning } from "../../scaler/kubernetes/trim.js";

interface Item {
  kind: string;
  metadata: { name: string };
}

const bulk = {
  managedFields: [{ manager: "kubelet", operation: "Update", fieldsV1: { "f:status": { ".": {} } } }],
};

/** The fixture's objects, each carrying the bulk a real cluster's objects carry. */
async function bulkyItems(): Promise<Item[]> {
  const { items } = JSON.parse(await readFile("test/fixtures/snapshot-pending.json", "utf8")) as {
    items: Array<
      Item & { metadata: object; spec?: Record<string, unknown>; status?: Record<string, unknown> }
    >;
  };
  for (const item of items) {
    Object.assign(item.metadata, structuredClone(bulk));
    if (item.kind === "Node") {
      item.status = {
        ...item.status,
        images: [{ names: ["registry/app:1"], sizeBytes: 1e8 }],
        volumesInUse: [],
      };
    }
    if (item.kind === "Pod") {
      const containers = item.spec?.containers as Array<Record<string, unknown>>;
      for (const c of containers) Object.assign(c, { env: [{ name: "A", value: "b" }], command: ["/app"] });
      item.spec = { ...item.spec, ephemeralContainers: [{ name: "debug" }] };
    }
  }
  return items;
}

const parse = (item: Item) =>
  item.kind === "Node"
    ? nodeFromKubernetes(item, item.metadata.name)
    : item.kind === "Pod"
      ? podFromKubernetes(item, item.metadata.name)
      : undefined;

describe("what the informers keep of each object", () => {
  it("plans from a trimmed object exactly as from the whole one", async () => {
    for (const item of await bulkyItems()) {
      const whole = parse(item);
      expect(parse(trimForPlanning(item.kind, structuredClone(item))), item.metadata.name).toEqual(whole);
    }
  });

  it("drops managed fields, a node's images, and a pod's container statuses, environment and commands", async () => {
    const items = (await bulkyItems()).map((item) => trimForPlanning(item.kind, item));
    const text = JSON.stringify(items);
    for (const gone of ["managedFields", "images", "volumesInUse", "containerStatuses", "env", "command"])
      expect(text.includes(`"${gone}"`), gone).toBe(false);
    for (const kept of ["allocatable", "conditions", "requests", "tolerations", "ownerReferences"])
      expect(text.includes(`"${kept}"`), kept).toBe(true);
  });
});
