import { describe, expect, it } from "vitest";
import { NODE_GROUP_LABEL, TO_BE_DELETED_TAINT } from "../../../scaler/decision/types.js";
import { MINUTE, node, pending, pod } from "../decision/builders.js";
import { groupConfig, harness } from "./fakes.js";
import { StackConfigConflictError } from "../../../scaler/apply/stackConfig.js";

/** A cluster of two nodes of `general`: n1 holds a pod, n2 is empty (and so unneeded). */
function twoNodes(h: ReturnType<typeof harness>) {
  h.catalog.hostnames.set("general-a", "n1");
  h.catalog.hostnames.set("general-b", "n2");
  h.cluster.current = {
    nodes: [node("n1", { group: "general" }), node("n2", { group: "general" })],
    pods: [pod({ nodeName: "n1", cpu: 1000 })],
    pdbs: [],
  };
}

describe("the scaler's loop, with a fake clock and fakes of everything it calls", () => {
  it("plans nothing from caches that have not synced or whose watch failed, and acts once they have", async () => {
    const h = harness([groupConfig("general")]);
    h.cluster.current = { nodes: [], pods: [pending({ cpu: 1000 })], pdbs: [] };
    h.cluster.notSynced = "pods watch failed (connection reset)";
    await h.tick();
    expect(h.apply.requests).toEqual([]);
    expect(h.loop.lastSkip).toBe("pods watch failed (connection reset)");
    h.cluster.notSynced = undefined;
    await h.tick();
    expect(h.apply.requests).toEqual([expect.objectContaining({ group: "general", add: 1 })]);
  });

  it("does nothing while it does not lead, and first recovers every group when it starts leading", async () => {
    const h = harness([groupConfig("general"), groupConfig("gpu", { kubeSizeId: 3 })]);
    h.cluster.current = { nodes: [], pods: [pending({ cpu: 1000 })], pdbs: [] };
    h.loop.acting = false;
    await h.tick();
    expect(h.loop.lastSkip).toBe("not the leader");
    expect(h.apply.requests).toEqual([]);
    h.loop.acting = true;
    await h.tick();
    expect(h.apply.recovered).toEqual(["general", "gpu"]);
    expect(h.apply.requests).toHaveLength(1);
    await h.tick();
    expect(h.apply.recovered).toEqual(["general", "gpu"]);
  });

  it("takes the drain taint a stopped leader left off the group's nodes when it starts leading, once", async () => {
    const h = harness([groupConfig("general", { minNodes: 2 })]);
    const taints = [{ key: TO_BE_DELETED_TAINT, effect: "NoSchedule" as const }];
    h.catalog.hostnames.set("general-a", "n1");
    h.catalog.hostnames.set("general-b", "n2");
    h.cluster.current = {
      // n3's key is gone from the group: its removal ran, and it keeps the taint until it goes.
      nodes: ["n1", "n2", "n3"].map((n) => node(n, { group: "general", taints: n === "n2" ? [] : taints })),
      // n2 is full: the pending pod fits only n1.
      pods: [pending({ cpu: 1000 }), pod({ nodeName: "n2", cpu: 4000 })],
      pdbs: [],
    };
    h.loop.acting = false;
    await h.tick();
    expect(h.nodes.untainted).toEqual([]);
    h.loop.acting = true;
    await h.tick();
    expect(h.nodes.untainted).toEqual(["n1"]);
    // Planned as untainted: the pending pod fits n1, so no scale-up.
    expect(h.apply.requests).toEqual([]);
    await h.tick();
    expect(h.nodes.untainted).toEqual(["n1"]);
  });

  it("adds no node for pending pods while the node added for them has registered but is not Ready yet", async () => {
    const h = harness([groupConfig("general", { nodes: ["general-a", "general-b"] })]);
    h.catalog.hostnames.set("general-a", "n1");
    h.catalog.hostnames.set("general-b", "n2");
    h.cluster.current = {
      nodes: [
        node("n1", { group: "general", cpu: 1000 }),
        // As the node lifecycle controller leaves a node that is not Ready yet.
        node("n2", {
          group: "general",
          ready: false,
          createdAt: h.clock.now() - 30_000,
          taints: [{ key: "node.kubernetes.io/not-ready", effect: "NoSchedule" }],
        }),
      ],
      pods: [pod({ nodeName: "n1", cpu: 900 }), pending({ cpu: 1000 })],
      pdbs: [],
    };
    await h.tick();
    expect(h.apply.requests).toEqual([]);
    expect(h.loop.lastPlan?.pending).toEqual([expect.objectContaining({ outcome: "fits-upcoming" })]);
  });

  it("grows no second group for pods a scale-up under way is adding nodes for", async () => {
    const h = harness([groupConfig("general"), groupConfig("big", { kubeSizeId: 3 })]);
    h.cluster.current = { nodes: [], pods: [pending({ cpu: 1000 })], pdbs: [] };
    let finish: () => void = () => undefined;
    const answer = h.apply.answer;
    // The first update takes a while, and has not written its new members when the next loop runs.
    h.apply.answer = (request) =>
      new Promise((resolve) => {
        finish = () => resolve(answer(request));
      });
    await h.loop.tick();
    expect(h.apply.requests).toHaveLength(1);
    await h.loop.tick();
    expect(h.apply.requests).toHaveLength(1);
    finish();
    await h.actuator.settle();
  });

  it("starts no action when leadership is lost in the middle of a loop", async () => {
    const h = harness([groupConfig("general")]);
    h.cluster.current = { nodes: [], pods: [pending({ cpu: 1000 })], pdbs: [] };
    // Reporting the plan's events takes a moment; the lease is lost meanwhile.
    h.events.during = () => {
      h.loop.acting = false;
    };
    await h.tick();
    expect(h.loop.lastPlan?.scaleUp).toHaveLength(1);
    expect(h.apply.requests).toEqual([]);
  });

  it("removes an unneeded node only once it has been unneeded for the unneeded time", async () => {
    const h = harness([groupConfig("general", { minNodes: 1 })]);
    twoNodes(h);
    await h.tick();
    h.clock.advance(9 * MINUTE);
    await h.tick();
    expect(h.nodes.drained).toEqual([]);
    expect(h.loop.lastPlan?.nodes.find((n) => n.node === "n2")?.because).toMatchObject({
      kind: "NotUnneededLongEnough",
      forMs: 9 * MINUTE,
      requiredMs: 10 * MINUTE,
    });
    h.clock.advance(MINUTE);
    await h.tick();
    expect(h.nodes.drained).toEqual(["n2"]);
    expect(h.apply.requests).toEqual([expect.objectContaining({ group: "general", remove: ["general-b"] })]);
    expect(h.nodes.removed).toEqual(["n2"]);
  });

  it("removes a group's empty nodes together in one update, and a drain of another group beside it", async () => {
    const h = harness(
      [groupConfig("general", { minNodes: 0 }), groupConfig("big", { kubeSizeId: 3, minNodes: 0 })],
      {
        scaleDownUnneededTimeMs: 0,
      },
    );
    ["n1", "n2", "n3"].forEach((n, i) => h.catalog.hostnames.set(`general-${i}`, n));
    h.catalog.hostnames.set("big-0", "b1");
    h.catalog.hostnames.set("big-1", "b2");
    h.cluster.current = {
      nodes: [
        ...["n1", "n2", "n3"].map((n) => node(n, { group: "general" })),
        node("b1", { group: "big", cpu: 8000 }),
        node("b2", { group: "big", cpu: 8000 }),
      ],
      // b1's one small pod fits on b2: b1 is drained; general's three are empty.
      pods: [pod({ nodeName: "b1", cpu: 500 }), pod({ nodeName: "b2", cpu: 500 })],
      pdbs: [],
    };
    await h.tick();
    expect(h.apply.requests).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ group: "general", remove: ["general-0", "general-1", "general-2"] }),
      ]),
    );
    expect(h.nodes.removed).toEqual(expect.arrayContaining(["n1", "n2", "n3"]));
    // One update for the three: the group's stack history has one entry, not three.
    expect(h.apply.requests.filter((r) => r.group === "general")).toHaveLength(1);
    expect(h.apply.requests.filter((r) => r.group === "big")).toEqual([
      expect.objectContaining({ remove: [expect.stringMatching(/^big-/)] }),
    ]);
  });

  it("waits the delay after a scale-up before removing anything", async () => {
    const h = harness([groupConfig("general")], { scaleDownUnneededTimeMs: 0 });
    h.cluster.current = { nodes: [], pods: [pending({ cpu: 1000 })], pdbs: [] };
    await h.tick();
    expect(h.apply.requests).toHaveLength(1);
    twoNodes(h);
    h.clock.advance(MINUTE);
    await h.tick();
    expect(h.nodes.drained).toEqual([]);
    expect(h.loop.lastPlan?.scaleDownPause).toMatchObject({ kind: "Cooldown", after: "a scale-up" });
    h.clock.advance(9 * MINUTE);
    await h.tick();
    expect(h.nodes.drained).toEqual(["n2"]);
  });

  it("waits the delay after a scale-up that recovery finished, as after its own, before removing anything", async () => {
    const h = harness([groupConfig("general")], { scaleDownUnneededTimeMs: 0 });
    h.apply.recovery = { clearedLocks: [], adopted: [], dropped: [], deletedOrphans: [], nodesAdded: true };
    // The nodes the finished update added, the pods meant for them not scheduled yet.
    twoNodes(h);
    await h.tick();
    expect(h.apply.recovered).toEqual(["general"]);
    expect(h.nodes.drained).toEqual([]);
    expect(h.loop.lastPlan?.scaleDownPause).toMatchObject({ kind: "Cooldown", after: "a scale-up" });
    h.clock.advance(10 * MINUTE);
    await h.tick();
    expect(h.nodes.drained).toEqual(["n2"]);
  });

  it("waits the delay after a deletion before the next one, when one is set", async () => {
    const h = harness([groupConfig("general")], {
      scaleDownUnneededTimeMs: 0,
      scaleDownDelayAfterDeleteMs: 2 * MINUTE,
    });
    twoNodes(h);
    await h.tick();
    expect(h.nodes.drained).toEqual(["n2"]);
    h.cluster.current = {
      ...h.cluster.current,
      nodes: [node("n1", { group: "general" }), node("n3", { group: "general" })],
    };
    h.catalog.hostnames.set("general-c", "n3");
    h.clock.advance(MINUTE);
    await h.tick();
    expect(h.nodes.drained).toEqual(["n2"]);
    expect(h.loop.lastPlan?.scaleDownPause).toMatchObject({ kind: "Cooldown", after: "a scale-down" });
    h.clock.advance(MINUTE);
    await h.tick();
    expect(h.nodes.drained).toEqual(["n2", "n3"]);
  });

  it("after a failed drain keeps the node, says why on it, and pauses scale-down for the delay after failure", async () => {
    const h = harness([groupConfig("general")], { scaleDownUnneededTimeMs: 0 });
    twoNodes(h);
    h.nodes.drainOutcome = { drained: false, reason: "evicting default/web-1 was refused for 120s" };
    await h.tick();
    expect(h.nodes.drained).toEqual(["n2"]);
    expect(h.apply.requests).toEqual([]);
    expect(h.nodes.removed).toEqual([]);
    expect(h.events.events).toContainEqual({
      object: { kind: "Node", name: "n2" },
      reason: "ScaleDownFailed",
      message: "drain failed, the node stays: evicting default/web-1 was refused for 120s",
    });
    h.nodes.drainOutcome = { drained: true, evicted: 0 };
    h.clock.advance(2 * MINUTE);
    await h.tick();
    expect(h.nodes.drained).toEqual(["n2"]);
    expect(h.loop.lastPlan?.scaleDownPause).toMatchObject({ kind: "Cooldown", after: "a failed scale-down" });
    h.clock.advance(MINUTE);
    await h.tick();
    expect(h.nodes.drained).toEqual(["n2", "n2"]);
  });

  it("backs a group off after a failed update, 5 minutes and then doubling, and tries again after", async () => {
    const h = harness([groupConfig("general")]);
    h.cluster.current = { nodes: [], pods: [pending({ cpu: 1000 })], pdbs: [] };
    h.apply.answer = async () => {
      throw new Error("pulumi up of stack general failed");
    };
    await h.tick();
    expect(h.apply.requests).toHaveLength(1);
    expect(h.loop.timers.backoff.general).toMatchObject({ failures: 1, until: h.clock.now() + 5 * MINUTE });
    h.clock.advance(4 * MINUTE);
    await h.tick();
    expect(h.apply.requests).toHaveLength(1);
    expect(h.loop.lastPlan?.noScaleUp[0]?.because.general).toMatchObject({ kind: "BackingOff" });
    h.clock.advance(MINUTE);
    await h.tick();
    expect(h.apply.requests).toHaveLength(2);
    expect(h.loop.timers.backoff.general).toMatchObject({ failures: 2, until: h.clock.now() + 10 * MINUTE });
  });

  it("applies a person's change to a group's settings first, by an update naming it, once, and plans the group after", async () => {
    const h = harness([groupConfig("general")]);
    h.cluster.current = { nodes: [], pods: [pending({ cpu: 1000 })], pdbs: [] };
    const change = { stack: "general", ref: "1a2b3c4d", reason: '"raise maxNodes" by Ada <ada@example.com>' };
    h.store.sync = { ...h.store.sync, settings: [change] };
    await h.tick();
    expect(h.apply.requests).toEqual([
      { group: "general", add: 0, remove: [], reason: change.reason, settings: { ref: "1a2b3c4d" } },
    ]);
    // The store still shows the commit (its note not read yet): not applied twice; the group is planned.
    await h.tick();
    expect(h.apply.requests).toHaveLength(2);
    expect(h.apply.requests[1]).toMatchObject({ group: "general", add: 1 });
    expect(h.apply.requests[1]?.settings).toBeUndefined();
  });

  it("holds back a group whose stack file does not parse: reports it once, on the status ConfigMap, and plans nothing for it", async () => {
    const h = harness([groupConfig("general"), groupConfig("gpu", { kubeSizeId: 3 })]);
    h.cluster.current = { nodes: [], pods: [pending({ cpu: 1000 })], pdbs: [] };
    const problem = {
      stack: "general",
      source: "stacks/Pulumi.general.yaml at commit 5e6f7a8",
      message: "stacks/Pulumi.general.yaml at commit 5e6f7a8: nodeGroups[0].maxNodes: expected number",
    };
    h.store.sync = { ...h.store.sync, held: new Set(["general"]), problems: [problem] };
    await h.tick();
    await h.tick();
    // The pod fits gpu as well: that group grows, the held one does not.
    expect(new Set(h.apply.requests.map((r) => r.group))).toEqual(new Set(["gpu"]));
    const reported = h.events.events.filter((e) => e.reason === "StackConfigInvalid");
    expect(reported).toEqual([
      {
        object: { kind: "ConfigMap", namespace: "kube-system", name: "vpsie-autoscaler-status" },
        reason: "StackConfigInvalid",
        message: expect.stringMatching(/nodeGroups\[0\]\.maxNodes.*node group general is held back/),
      },
    ]);
    expect(h.logs.filter((l) => l.includes("held back"))).toHaveLength(1);
  });

  it("plans a scale-up again at the next loop, without backing off, when a person changed the group's file meanwhile", async () => {
    const h = harness([groupConfig("general")]);
    h.cluster.current = { nodes: [], pods: [pending({ cpu: 1000 })], pdbs: [] };
    const answer = h.apply.answer;
    h.apply.answer = async () => {
      throw new StackConfigConflictError("stacks/Pulumi.general.yaml changed since it was read");
    };
    await h.tick();
    expect(h.loop.timers.backoff.general).toBeUndefined();
    h.apply.answer = answer;
    await h.tick();
    expect(h.apply.requests).toHaveLength(2);
    expect(h.outcomes.map((o) => o.kind)).toEqual(["ScaleUpFailed", "ScaledUp"]);
  });

  it("keeps empty nodes whose removal a person's push refused: untainted, reported, and removed at a later loop", async () => {
    const h = harness([groupConfig("general", { minNodes: 0 })], { scaleDownUnneededTimeMs: 0 });
    h.catalog.hostnames.set("general-0", "n1");
    h.cluster.current = { nodes: [node("n1", { group: "general" })], pods: [], pdbs: [] };
    const answer = h.apply.answer;
    h.apply.answer = async () => {
      throw new StackConfigConflictError("a commit was pushed meanwhile");
    };
    await h.tick();
    expect(h.outcomes.map((o) => o.kind)).toEqual(["ScaleDownStarted", "ScaleDownFailed"]);
    expect(h.nodes.untainted).toEqual(["n1"]);
    expect(h.nodes.removed).toEqual([]);
    h.apply.answer = answer;
    await h.tick();
    expect(h.nodes.removed).toEqual(["n1"]);
  });

  it("leaves no failed action's rejection unhandled, which would end `run` (nothing awaits an action until it stops)", async () => {
    const unhandled: unknown[] = [];
    const listener = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", listener);
    try {
      const h = harness([groupConfig("general", { minNodes: 0 })], { scaleDownUnneededTimeMs: 0 });
      h.catalog.hostnames.set("general-0", "n1");
      h.cluster.current = { nodes: [node("n1", { group: "general" })], pods: [], pdbs: [] };
      h.apply.answer = async () => {
        throw new StackConfigConflictError("a commit was pushed meanwhile");
      };
      await h.loop.tick();
      await new Promise((r) => setTimeout(r, 50));
      expect(h.outcomes.map((o) => o.kind)).toContain("ScaleDownFailed");
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", listener);
    }
  });

  it("labels a node of a group when it registers without the group's label", async () => {
    const h = harness([groupConfig("general", { nodes: ["general-a"] })]);
    h.catalog.hostnames.set("general-a", "hel-kubernetes-49ab-slave-1f2e");
    h.cluster.current = { nodes: [node("hel-kubernetes-49ab-slave-1f2e")], pods: [], pdbs: [] };
    await h.tick();
    expect(h.nodes.labelled).toEqual(["hel-kubernetes-49ab-slave-1f2e"]);
    expect(h.cluster.current.nodes[0]?.labels[NODE_GROUP_LABEL]).toBeUndefined();
  });

  it("plans soon after pods turn unschedulable: 1 s after the last, at most 10 s after the first", async () => {
    const h = harness([groupConfig("general")]);
    h.cluster.current = { nodes: [], pods: [pending({ cpu: 1000 })], pdbs: [] };
    const notify = () => h.cluster.listeners.forEach((l) => l());
    // One pod: planned 1 s later, not before.
    notify();
    h.clock.advance(900);
    expect(h.loop.lastPlan).toBeUndefined();
    h.clock.advance(100);
    await new Promise((r) => setImmediate(r));
    expect(h.loop.lastPlan).toBeDefined();

    // A pod every 0.9 s never leaves 1 s idle, but the batch closes 10 s after it opened.
    const g = harness([groupConfig("general")]);
    g.cluster.current = h.cluster.current;
    for (let elapsed = 0; elapsed < 9_900; elapsed += 900) {
      g.cluster.listeners.forEach((l) => l());
      g.clock.advance(900);
      await new Promise((r) => setImmediate(r));
      expect(g.loop.lastPlan, `after ${elapsed + 900} ms`).toBeUndefined();
    }
    g.cluster.listeners.forEach((l) => l());
    g.clock.advance(200);
    await new Promise((r) => setImmediate(r));
    expect(g.loop.lastPlan).toBeDefined();
  });
});
