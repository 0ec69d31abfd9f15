import { writeFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import type { ActionPreview, ScaleRequest } from "../../../scaler/apply/applier.js";
import { podKey } from "../../../scaler/decision/types.js";
import { decide } from "../../../scaler/review/decide.js";
import { ReviewGate } from "../../../scaler/review/gate.js";
import type { NodeGroupConfig } from "../../../stacks/contract.js";
import { node, pending, pod } from "../decision/builders.js";
import { groupConfig, harness } from "./fakes.js";
import { tempReviews } from "../review/tempReviews.js";

/**
 * The loop with every action held for approval (`approvals.all`): what the leader does with an
 * approved one, and with one the world has moved past since its preview.
 */
describe("approved actions in the scaler's loop", () => {
  const reviews = tempReviews();

  /** A group whose every action waits, previewed as the apply layer would: new keys, today's members. */
  function reviewed(general: NodeGroupConfig) {
    const previews: ScaleRequest[] = [];
    const h = harness(
      [general],
      {},
      (clock) =>
        new ReviewGate({
          mode: "live",
          policy: { all: true },
          store: reviews.store,
          clock,
          log: () => undefined,
          preview: async (request, savePlan): Promise<ActionPreview> => {
            previews.push(request);
            if (savePlan) await writeFile(savePlan, '{"resourcePlans":{}}');
            const added = Array.from({ length: request.add }, (_, i) => `general-r${previews.length}${i}`);
            return {
              group: request.group,
              from: general.nodes.length,
              to: general.nodes.length + request.add - request.remove.length,
              added,
              removed: request.remove,
              members: [...general.nodes],
              message: `scale-up general: ${request.reason}`,
              changes: { create: request.add },
              diff: added.map((k) => `+ vpsie:Node ${k}`).join("\n"),
            };
          },
        }),
    );
    return { h, previews };
  }

  const records = async () => (await reviews.store.list()).records;

  it("applies an approved scale-up held to its saved plan, with the reviewed keys, naming the approver, once", async () => {
    const general = groupConfig("general");
    const { h } = reviewed(general);
    h.cluster.current = { nodes: [], pods: [pending({ cpu: 1000 })], pdbs: [] };
    await h.tick();
    expect(h.apply.requests).toEqual([]);
    const [held] = await records();
    expect(held).toMatchObject({ status: "pending", kind: "scale-up", keys: ["general-r10"] });
    // Planned again while it waits: the same review, still nothing applied.
    await h.tick();
    expect(await records()).toHaveLength(1);
    expect(h.apply.requests).toEqual([]);

    await decide(reviews.store, held!.id, "approve", "Ada <ada@example.com>", new Date(h.clock.now()));
    await h.tick();
    expect(h.apply.requests).toEqual([
      expect.objectContaining({
        group: "general",
        add: 1,
        keys: ["general-r10"],
        plan: expect.stringMatching(/plan\.json$/),
        approvedBy: "Ada <ada@example.com>",
      }),
    ]);
    expect((await records())[0]).toMatchObject({ id: held!.id, status: "applied" });
    await h.tick();
    expect(h.apply.requests).toHaveLength(1);
  });

  it("drops an approved scale-up whose pods are no longer pending as stale, applying nothing", async () => {
    const general = groupConfig("general", { nodes: ["general-a"] });
    const { h } = reviewed(general);
    h.catalog.hostnames.set("general-a", "n1");
    const web = pending({ cpu: 3000 });
    h.cluster.current = {
      nodes: [node("n1", { group: "general" })],
      pods: [pod({ nodeName: "n1", cpu: 2000 }), web],
      pdbs: [],
    };
    await h.tick();
    const [held] = await records();
    expect(held).toMatchObject({ status: "pending", pods: [podKey(web)] });
    await decide(reviews.store, held!.id, "approve", "Ada", new Date(h.clock.now()));
    // Meanwhile the pod found room (the other pod ended) and runs.
    h.cluster.current = {
      nodes: [node("n1", { group: "general" })],
      pods: [{ ...web, nodeName: "n1", unschedulableSince: undefined }],
      pdbs: [],
    };
    await h.tick();
    expect(h.apply.requests).toEqual([]);
    expect((await records())[0]).toMatchObject({
      id: held!.id,
      status: "stale",
      outcome: "none of the pods it was for is pending any more: dropped, and planned again",
    });
  });

  it("drops an approved action as stale when the group's members changed since its preview, and plans it again", async () => {
    const general = groupConfig("general", { nodes: ["general-a"] });
    const { h } = reviewed(general);
    h.catalog.hostnames.set("general-a", "n1");
    h.catalog.hostnames.set("general-b", "n2");
    const full = (name: string) => pod({ nodeName: name, cpu: 4000 });
    h.cluster.current = {
      nodes: [node("n1", { group: "general" })],
      pods: [full("n1"), pending({ cpu: 1000 })],
      pdbs: [],
    };
    await h.tick();
    const [held] = await records();
    expect(held).toMatchObject({ status: "pending", members: ["general-a"] });
    await decide(reviews.store, held!.id, "approve", "Ada", new Date(h.clock.now()));
    // After the review a person added a member by hand; its node registered, and filled up too.
    general.nodes.push("general-b");
    h.cluster.current = {
      ...h.cluster.current,
      nodes: [node("n1", { group: "general" }), node("n2", { group: "general" })],
      pods: [...h.cluster.current.pods, full("n2")],
    };
    await h.tick();
    expect(h.apply.requests).toEqual([]);
    expect((await records()).find((r) => r.id === held!.id)).toMatchObject({
      status: "stale",
      outcome: "the group's members changed since the preview: dropped, and planned again",
    });
    // The pod still waits: the scale-up is previewed again against today's members, and waits anew.
    await h.tick();
    expect(h.apply.requests).toEqual([]);
    expect((await records()).filter((r) => r.status === "pending")).toEqual([
      expect.objectContaining({ members: ["general-a", "general-b"] }),
    ]);
  });
});
