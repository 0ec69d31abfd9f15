import { describe, expect, it } from "vitest";
import { Reconciler } from "../../../scaler/controller/reconciler.js";
import type { Worker } from "../../../provider/vpsie/workers.js";
import { MINUTE, node } from "../decision/builders.js";
import { FakeClock, groupConfig } from "./fakes.js";

const worker = (hostname: string, overrides: Partial<Worker> = {}): Worker => ({
  hostname,
  role: "worker",
  kubeSizeId: 2,
  ...overrides,
});

function reconciler(workers: Worker[] | Error, held: Record<string, Record<string, string>>) {
  const clock = new FakeClock();
  const logs: string[] = [];
  const r = new Reconciler({
    client: {
      listWorkers: async () => {
        if (workers instanceof Error) throw workers;
        return workers;
      },
    },
    apply: { nodeNames: async (group) => held[group] ?? {} },
    clock,
    log: (_level, message) => void logs.push(message),
    graceMs: 10 * MINUTE,
  });
  return { r, clock, logs };
}

describe("reconciliation of workers no key holds and of Nodes without a worker", () => {
  const general = groupConfig("general", { cluster: "c1", kubeSizeId: 2 });

  it("adopts a worker of a managed group's size that no key holds, once it has gone unclaimed for the grace period", async () => {
    const { r, clock } = reconciler(
      [worker("HEL-Kubernetes-49ab-slave-aaaa"), worker("HEL-Kubernetes-49ab-slave-bbbb")],
      { general: { "general-1": "hel-kubernetes-49ab-slave-aaaa" } },
    );
    expect((await r.reconcile([general], new Set(), [])).adopt).toEqual([]);
    clock.advance(10 * MINUTE);
    const { adopt } = await r.reconcile([general], new Set(), []);
    expect(adopt.map((a) => [a.group, a.worker.hostname])).toEqual([
      ["general", "HEL-Kubernetes-49ab-slave-bbbb"],
    ]);
    expect(adopt[0]?.reason).toMatch(/has had no key for 10m: adopted/);
  });

  it("counts the grace period from the worker's creation when VPSie says when that was", async () => {
    const { r, clock } = reconciler(
      [worker("w-old", { createdOn: new Date(Date.now() - 60 * MINUTE).toISOString() })],
      {},
    );
    clock.time = Date.now();
    expect((await r.reconcile([general], new Set(), [])).adopt).toHaveLength(1);
  });

  it("never takes a master, a node it cannot tell is a worker, another size, or a busy group's worker", async () => {
    const { r, clock } = reconciler(
      [
        worker("HEL-Kubernetes-49ab-master-main", { role: "master" }),
        worker("node-7", { role: "unknown" }),
        worker("w-large", { kubeSizeId: 3 }),
      ],
      {},
    );
    await r.reconcile([general], new Set(), []);
    clock.advance(60 * MINUTE);
    expect((await r.reconcile([general], new Set(), [])).adopt).toEqual([]);

    const busy = reconciler([worker("w-new")], {});
    await busy.r.reconcile([general], new Set(["general"]), []);
    busy.clock.advance(60 * MINUTE);
    expect((await busy.r.reconcile([general], new Set(["general"]), [])).adopt).toEqual([]);
  });

  it("decides nothing from a listing that failed", async () => {
    const { r, clock, logs } = reconciler(new Error("VPSie API GET … failed (503)"), {});
    const gone = node("hel-kubernetes-49ab-slave-cccc", { group: "general" });
    await r.reconcile([general], new Set(), [gone]);
    clock.advance(60 * MINUTE);
    expect(await r.reconcile([general], new Set(), [gone])).toEqual({ adopt: [], goneNodes: [] });
    expect(logs.join("\n")).toMatch(/reconciliation skipped for cluster c1/);
  });

  it("deletes a Node of a managed group whose worker has been gone for the grace period, and no other Node", async () => {
    const { r, clock } = reconciler([worker("HEL-Kubernetes-49ab-slave-aaaa")], {
      general: { "general-1": "hel-kubernetes-49ab-slave-aaaa" },
    });
    const nodes = [
      node("hel-kubernetes-49ab-slave-aaaa", { group: "general" }),
      node("hel-kubernetes-49ab-slave-dddd", { group: "general" }),
      node("control-plane-1"),
    ];
    expect((await r.reconcile([general], new Set(), nodes)).goneNodes).toEqual([]);
    clock.advance(10 * MINUTE);
    expect((await r.reconcile([general], new Set(), nodes)).goneNodes).toEqual([
      { node: "hel-kubernetes-49ab-slave-dddd", group: "general" },
    ]);
  });
});
