import { describe, expect, it } from "vitest";
import { checkNode, checkNodeGroup, diffNode, diffNodeGroup } from "../../provider/pulumi/providers.js";
import { NodeGroupsConfigError, parseNodeGroups } from "../../stacks/contract.js";

const group = { clusterIdentifier: "c1", name: "general", kubeSizeId: 2 };
const groupOut = { ...group, groupId: 7, groupIdentifier: "g-uuid" };
const node = { clusterIdentifier: "c1", groupId: 7, groupName: "general", key: "general-a1" };
const nodeOut = { ...node, identifier: "n-uuid", hostname: "h" };

describe("the VPSie resources' checks and diffs", () => {
  it("explain bad inputs by property", () => {
    expect(checkNodeGroup(group)).toEqual([]);
    expect(checkNodeGroup({ name: "General_1", kubeSizeId: 0 }).map((f) => f.property)).toEqual([
      "clusterIdentifier",
      "name",
      "kubeSizeId",
    ]);
    expect(checkNode({ ...node, key: "Bad Key" })).toEqual([
      { property: "key", reason: expect.stringMatching(/"Bad Key" must be lower-case/) },
    ]);
  });

  it("replace a group whose cluster, name or size changes, and nothing else", () => {
    expect(diffNodeGroup(groupOut, group)).toEqual({ changes: false, replaces: [] });
    for (const [field, value] of [
      ["clusterIdentifier", "c2"],
      ["name", "large"],
      ["kubeSizeId", 3],
    ] as const)
      expect(diffNodeGroup(groupOut, { ...group, [field]: value })).toEqual({
        changes: true,
        replaces: [field],
      });
    expect(diffNodeGroup(groupOut, { ...group, name: "large", kubeSizeId: 3 }).replaces).toEqual([
      "name",
      "kubeSizeId",
    ]);
    // What VPSie assigned (ids, the size's cpu and memory) never makes a diff.
    const reassigned = { ...groupOut, groupId: 9, groupIdentifier: "other", cpu: 8, ramMb: 1 };
    expect(diffNodeGroup(reassigned, group)).toEqual({ changes: false, replaces: [] });
  });

  it("replace a node that would move to another group", () => {
    expect(diffNode(nodeOut, node)).toEqual({ changes: false, replaces: [] });
    expect(diffNode(nodeOut, { ...node, groupId: 8 })).toEqual({ changes: true, replaces: ["groupId"] });
  });
});

describe("the node groups stack config", () => {
  const valid = {
    name: "general",
    cluster: "c1",
    kubeSizeId: 2,
    minNodes: 1,
    maxNodes: 3,
    nodes: ["general-a1"],
  };

  it("names the field that is wrong", () => {
    expect(parseNodeGroups([valid])[0]).toMatchObject({ labels: {}, taints: [], nodes: ["general-a1"] });
    expect(() => parseNodeGroups([{ ...valid, maxNodes: -1 }])).toThrow(
      /^nodeGroups\[0\]\.maxNodes: Too small/,
    );
    expect(() => parseNodeGroups([{ ...valid, minNodes: 4 }])).toThrow(
      "nodeGroups[0] (general): minNodes 4 is greater than maxNodes 3",
    );
    expect(() => parseNodeGroups([valid, { ...valid, name: "other" }])).toThrow(NodeGroupsConfigError);
    expect(() => parseNodeGroups([valid, { ...valid, name: "other" }])).toThrow(
      /the key general-a1 is used twice/,
    );
  });
});
