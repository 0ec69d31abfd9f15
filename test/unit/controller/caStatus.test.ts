import { parse, stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { buildStatus, type StatusInput } from "../../../scaler/controller/caStatus.js";
import { defaultPlannerOptions, emptyTimers, withScaleUpFailure } from "../../../scaler/decision/options.js";
import { plan } from "../../../scaler/decision/plan.js";
import type { NodeGroup, Snapshot } from "../../../scaler/decision/types.js";
import { group, MINUTE, node, NOW, pending, pod } from "../decision/builders.js";

function input(snapshot: Snapshot, groups: NodeGroup[], now = NOW, timers = emptyTimers()): StatusInput {
  return {
    plan: plan({ snapshot, groups, timers, now, respectTimers: false }),
    snapshot,
    groups,
    now,
    planner: defaultPlannerOptions,
  };
}

describe("the status in cluster-autoscaler's YAML format", () => {
  it("round-trips through YAML with CA's fields: node counts, target, limits, scale-up and scale-down", () => {
    const general = group("general", {
      minNodes: 1,
      maxNodes: 5,
      upcoming: [
        { key: "general-new", requestedAt: NOW - MINUTE },
        { key: "general-late", requestedAt: NOW - 20 * MINUTE },
      ],
    });
    const snapshot: Snapshot = {
      nodes: [
        node("a", { group: "general" }),
        node("b", { group: "general", ready: false, createdAt: NOW - 2 * MINUTE }),
        node("c", { group: "general", ready: false }),
      ],
      pods: [pod({ nodeName: "a", cpu: 3000 }), pending({ cpu: 3000 })],
      pdbs: [],
    };
    const status = buildStatus(input(snapshot, [general]));
    const read = parse(stringify(status)) as typeof status;
    expect(read).toEqual(status);
    expect(read.autoscalerStatus).toBe("Running");
    expect(read.clusterWide.health.nodeCounts).toEqual({
      registered: { total: 3, ready: 1, notStarted: 1, unready: { total: 1, resourceUnready: 0 } },
      longUnregistered: 1,
      unregistered: 1,
    });
    const [only] = read.nodeGroups;
    expect(only?.name).toBe("general");
    expect(only?.health).toMatchObject({ status: "Healthy", cloudProviderTarget: 5, minSize: 1, maxSize: 5 });
    // The node asked for 20 minutes ago never registered: the group backs off, and says why.
    expect(only?.scaleUp).toMatchObject({
      status: "Backoff",
      backoffInfo: {
        errorCode: "cloudProviderError",
        errorMessage: expect.stringContaining("general-late") as unknown,
      },
    });
    expect(read.clusterWide.scaleUp.status).toBe("InProgress");
    expect(read.time).toBe(new Date(NOW).toISOString());
  });

  it("reports a group's backoff with its error, and candidates for scale-down", () => {
    const general = group("general");
    const snapshot: Snapshot = { nodes: [node("idle", { group: "general" })], pods: [], pdbs: [] };
    const timers = withScaleUpFailure(emptyTimers(), "general", "VPSie refused: worker limit 5", NOW);
    const status = buildStatus(input(snapshot, [general], NOW, timers));
    expect(status.nodeGroups[0]?.scaleUp).toMatchObject({
      status: "Backoff",
      backoffInfo: { errorCode: "cloudProviderError", errorMessage: "VPSie refused: worker limit 5" },
    });
    expect(status.nodeGroups[0]?.scaleDown).toMatchObject({ status: "CandidatesPresent", candidates: 1 });
    expect(status.clusterWide.scaleDown).toMatchObject({ status: "CandidatesPresent", candidates: 1 });
  });

  it("keeps a condition's transition time while its status holds, and moves it when it changes", () => {
    const general = group("general");
    const idle: Snapshot = { nodes: [node("a", { group: "general", cpu: 4000 })], pods: [], pdbs: [] };
    const first = buildStatus(input(idle, [general], NOW));
    const second = buildStatus(input(idle, [general], NOW + MINUTE), first);
    expect(second.clusterWide.health.lastProbeTime).toBe(new Date(NOW + MINUTE).toISOString());
    expect(second.clusterWide.health.lastTransitionTime).toBe(new Date(NOW).toISOString());
    const busy: Snapshot = { ...idle, pods: [pod({ nodeName: "a", cpu: 3000 }), pending({ cpu: 3000 })] };
    const third = buildStatus(input(busy, [general], NOW + 2 * MINUTE), second);
    expect(third.clusterWide.scaleUp.status).not.toBe(second.clusterWide.scaleUp.status);
    expect(third.clusterWide.scaleUp.lastTransitionTime).toBe(new Date(NOW + 2 * MINUTE).toISOString());
    expect(third.clusterWide.health.lastTransitionTime).toBe(new Date(NOW).toISOString());
  });
});
