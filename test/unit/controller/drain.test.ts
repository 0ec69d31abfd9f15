import type { CoreV1Api, V1Node } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { TO_BE_DELETED_TAINT } from "../../../scaler/decision/types.js";
import { KubernetesNodes } from "../../../scaler/kubernetes/nodes.js";
import { pod } from "../decision/builders.js";
import { FakeClock } from "./fakes.js";

/** The Node and Eviction API calls a drain makes, against an in-memory node; evictions answer as told. */
function fakeCore(evict: () => Promise<unknown>) {
  let node: V1Node = { metadata: { name: "n2" }, spec: { taints: [] } };
  const taintHistory: string[][] = [];
  const core = {
    readNode: async () => structuredClone(node),
    replaceNode: async ({ body }: { body: V1Node }) => {
      node = body;
      taintHistory.push((body.spec?.taints ?? []).map((t) => t.key));
      return body;
    },
    readNamespacedPod: async ({ name }: { name: string }) => ({
      metadata: { name },
      spec: { nodeName: "n1", terminationGracePeriodSeconds: 30 },
    }),
    createNamespacedPodEviction: evict,
  } as unknown as CoreV1Api;
  return { core, taintHistory, taints: () => (node.spec?.taints ?? []).map((t) => t.key) };
}

describe("draining a node through the Kubernetes API", () => {
  it("taints the node, evicts its pods, and leaves the taint on a node that is about to go", async () => {
    const api = fakeCore(async () => ({}));
    const outcome = await new KubernetesNodes(api.core, {}, new FakeClock()).drain("n2", [pod()]);
    expect(outcome).toEqual({ drained: true, evicted: 1 });
    expect(api.taints()).toEqual([TO_BE_DELETED_TAINT]);
  });

  it("retries an eviction a PodDisruptionBudget refuses, then gives up, untaints the node and says why", async () => {
    let attempts = 0;
    const api = fakeCore(async () => {
      attempts++;
      throw Object.assign(new Error("Too Many Requests"), { code: 429 });
    });
    const clock = new FakeClock();
    const started = clock.now();
    const outcome = await new KubernetesNodes(api.core, { evictionTimeoutMs: 60_000 }, clock).drain("n2", [
      pod({ name: "web-1" }),
    ]);
    expect(outcome).toEqual({
      drained: false,
      reason: "evicting default/web-1 was refused for 60s: a PodDisruptionBudget allows no disruption",
    });
    expect(attempts).toBeGreaterThan(20);
    expect(clock.now() - started).toBeGreaterThan(60_000);
    expect(api.taintHistory).toEqual([[TO_BE_DELETED_TAINT], []]);
    expect(api.taints()).toEqual([]);
  });
});
