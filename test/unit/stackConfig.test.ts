import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  localStackFile,
  newNodeKey,
  readNodeGroups,
  StackConfigError,
  writeMembers,
} from "../../scaler/apply/stackConfig.js";
import { tempDir } from "../../dev/testing/tempDir.js";

const FILE = `# a person's comment stays
encryptionsalt: v1:abc:def
config:
  vpsie-autoscaler:nodeGroups:
    - name: general # the main group
      cluster: c1
      kubeSizeId: 2
      minNodes: 1
      maxNodes: 4
      nodes:
        - general-aaaa
    - name: gpu
      cluster: c1
      kubeSizeId: 3
      minNodes: 0
      maxNodes: 2
`;

describe("the stack config the scaler edits", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const path = () => join(dir.path, "stacks", "Pulumi.dev.yaml");
  beforeAll(async () => {
    dir = await tempDir("stack-config");
    const { mkdir } = await import("node:fs/promises");
    await mkdir(join(dir.path, "stacks"));
    await writeFile(path(), FILE);
  });
  afterAll(() => dir.remove());

  it("changes only one group's member list, keeping comments, the salt and everything a person set", async () => {
    await writeMembers(dir.path, "dev", "general", ["general-aaaa", "general-bbbb"], "scale-up general");
    const text = await readFile(path(), "utf8");
    expect(text).toContain("# a person's comment stays");
    expect(text).toContain("encryptionsalt: v1:abc:def");
    expect(text).toContain("- name: general # the main group");
    const groups = await readNodeGroups(dir.path, "dev");
    expect(groups.map((g) => [g.name, g.nodes])).toEqual([
      ["general", ["general-aaaa", "general-bbbb"]],
      ["gpu", []],
    ]);
  });

  it("refuses a group a person removed, and names a missing file", async () => {
    await expect(writeMembers(dir.path, "dev", "gone", [], "scale-down gone")).rejects.toThrow(
      /node group gone is not declared/,
    );
    await expect(readNodeGroups(dir.path, "nope")).rejects.toBeInstanceOf(StackConfigError);
  });

  it("makes keys unique within the group", () => {
    const taken = new Set<string>();
    for (let i = 0; i < 200; i++) taken.add(newNodeKey("general", taken));
    expect(taken.size).toBe(200);
    expect([...taken].every((k) => /^general-[0-9a-f]{4}$/.test(k))).toBe(true);
  });
});

describe("the local copy of a stack file kept beside a store", () => {
  const stored = FILE.replace("encryptionsalt: v1:abc:def\n", "");

  it("stays while it says what the store says, Pulumi's encryption salt and all", () => {
    expect(localStackFile(stored, FILE)).toBe(FILE);
    expect(localStackFile(stored, undefined)).toBe(stored);
  });

  it("is rewritten, keeping its salt, when something else rewrote it (a stack init wrote only a salt)", () => {
    const clobbered = "encryptionsalt: v1:xyz:uvw\n";
    const repaired = localStackFile(stored, clobbered);
    expect(repaired).toContain("encryptionsalt: v1:xyz:uvw");
    expect(repaired).toContain("- name: general # the main group");
  });

  it("takes a person's change from the store, keeping the local salt", () => {
    const changed = stored.replace("maxNodes: 4", "maxNodes: 9");
    const local = localStackFile(changed, FILE);
    expect(local).toContain("maxNodes: 9");
    expect(local).toContain("encryptionsalt: v1:abc:def");
  });
});
