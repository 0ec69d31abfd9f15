import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../../scaler/decision/plan.js";
import { repoRoot } from "../../../scaler/tools/paths.js";
import { runCli } from "../../../dev/testing/cli.js";
import { tempDir } from "../../../dev/testing/tempDir.js";

const fixtures = join(repoRoot, "test", "fixtures");
const groups = join(fixtures, "groups.yaml");
const pendingSnapshot = join(fixtures, "snapshot-pending.json");
const settledSnapshot = join(fixtures, "snapshot-settled.json");

describe("vpsie-autoscaler plan, on real kubectl output from the local cluster", () => {
  it("scales up the group that can host the pending pods, and says why the GPU pod fits nowhere", async () => {
    const result = await runCli([
      "plan",
      "--snapshot",
      pendingSnapshot,
      "--groups",
      groups,
      "--output",
      "json",
    ]);
    expect(result.code).toBe(0);
    const plan = JSON.parse(result.stdout) as Plan;
    expect(plan.scaleUp).toEqual([
      expect.objectContaining({
        group: "large",
        from: 0,
        to: 2,
        pods: [expect.stringMatching(/^default\/batch-/), expect.stringMatching(/^default\/batch-/)],
      }),
    ]);
    expect(plan.noScaleUp).toEqual([
      {
        pod: expect.stringMatching(/^default\/gpu-job-/),
        reasons: {
          general: "node(s) didn't match Pod's node affinity/selector",
          large: "node(s) didn't match Pod's node affinity/selector",
        },
        // The reasons as codes, for scripts.
        because: {
          general: { kind: "NotFit", failure: { kind: "NodeAffinity" } },
          large: { kind: "NotFit", failure: { kind: "NodeAffinity" } },
        },
      },
    ]);
    expect(plan.scaleDown).toEqual([]);
    expect(plan.scaleDownPaused).toBe("scale-down does not run in a loop that scales up");
  });

  it("removes the empty and the light node once nothing is pending, and explains every node", async () => {
    const result = await runCli([
      "plan",
      "--snapshot",
      settledSnapshot,
      "--groups",
      groups,
      "--output",
      "json",
    ]);
    const plan = JSON.parse(result.stdout) as Plan;
    expect(plan.scaleDown.map((s) => s.node)).toEqual(["general-empty", "general-light"]);
    const byNode = Object.fromEntries(plan.nodes.map((n) => [n.node, n]));
    expect(byNode["general-busy"]).toMatchObject({
      group: "general",
      removable: false,
      utilization: { cpu: 0.763, memory: 0.383 },
    });
    expect(byNode["general-system"]?.reason).toMatch(/kube-system pod without a PodDisruptionBudget/);
    expect(byNode.unmanaged?.reason).toMatch(/no autoscaler.vpsie.com\/nodegroup label/);
  });

  it("waits out the unneeded time with --respect-timers, and hands back the timers to keep", async () => {
    const dir = await tempDir("plan-timers");
    try {
      const state = join(dir.path, "timers.json");
      await writeFile(state, JSON.stringify({ unneededSince: { "general-empty": "2026-11-24T09:55:00Z" } }));
      const args = [
        "plan",
        "--snapshot",
        settledSnapshot,
        "--groups",
        groups,
        "--output",
        "json",
        "--respect-timers",
        state,
      ];
      const early = JSON.parse((await runCli([...args, "--now", "2026-11-24T10:00:00Z"])).stdout) as Plan;
      expect(early.scaleDown).toEqual([]);
      expect(early.nodes.find((n) => n.node === "general-empty")?.reason).toMatch(
        /unneeded for 5m of the 10m required/,
      );
      expect(early.timers.unneededSince).toEqual({
        "general-empty": "2026-11-24T09:55:00.000Z",
        "general-light": "2026-11-24T10:00:00.000Z",
      });
      const later = JSON.parse((await runCli([...args, "--now", "2026-11-24T10:06:00Z"])).stdout) as Plan;
      expect(later.scaleDown.map((s) => s.node)).toEqual(["general-empty"]);
    } finally {
      await dir.remove();
    }
  });

  it("prints tables for people", async () => {
    const result = await runCli(["plan", "--snapshot", settledSnapshot, "--groups", groups]);
    expect(result.stdout).toMatch(
      /^SCALE-UP\n {2}none\n\nSCALE-DOWN\nGROUP\s+NODE\s+WHY\ngeneral\s+general-empty\s+the node is empty/,
    );
    expect(result.stdout).toMatch(/NODES\nNODE\s+GROUP\s+CPU\s+MEMORY\s+REMOVABLE\s+WHY/);
  });

  it("prints what each scale-up costs, and what every option the expanders chose from would have", async () => {
    const result = await runCli([
      "plan",
      "--snapshot",
      pendingSnapshot,
      "--groups",
      groups,
      "--expander",
      "price",
    ]);
    expect(result.stdout).toMatch(/large\s+0\s+2\s+2\s+\+\$0\.2666\/h, group \$0\.2666\/h\s+2 pending pod/);
    expect(result.stdout).toMatch(
      /SCALE-UP OPTIONS[^\n]*\nFOR\s+GROUP\s+NEW NODES\s+PODS\s+ADDS\nlarge\s+large \(chosen\)\s+2\s+2\s+\$0\.2666\/h/,
    );
    const json = JSON.parse(
      (await runCli(["plan", "--snapshot", pendingSnapshot, "--groups", groups, "--output", "json"])).stdout,
    ) as { scaleUp: unknown[] };
    expect(json.scaleUp[0]).toMatchObject({
      cost: { deltaPerHour: 0.2666, groupPerHour: 0.2666 },
      options: [{ group: "large", newNodes: 2, costPerHour: 0.2666 }],
    });
  });
});

describe("vpsie-autoscaler plan refuses bad input with exit code 2, naming the field", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const file = async (name: string, text: string) => {
    const path = join(dir.path, name);
    await writeFile(path, text);
    return path;
  };
  beforeAll(async () => {
    dir = await tempDir("plan-input");
  });
  afterAll(() => dir.remove());

  const cases: Array<[string, () => Promise<string[]>, RegExp]> = [
    [
      "an unreadable file",
      async () => ["--snapshot", "/nonexistent.json", "--groups", groups],
      /cannot read --snapshot \/nonexistent.json: ENOENT/,
    ],
    [
      "the wrong kind",
      async () => [
        "--snapshot",
        await file("pods.json", '{"kind":"PodList","items":[]}'),
        "--groups",
        groups,
      ],
      /expected a v1 List .* got PodList/,
    ],
    [
      "a bad quantity",
      async () => [
        "--snapshot",
        settledSnapshot,
        "--groups",
        await file(
          "g.yaml",
          "nodeGroups:\n  - {name: a, minNodes: 0, maxNodes: 2, capacity: {cpu: '4', memory: 8GG, pods: 110}}\n",
        ),
      ],
      /nodeGroups\[0\]\.capacity\.memory: "8GG" is not a Kubernetes quantity/,
    ],
    [
      "min greater than max",
      async () => [
        "--snapshot",
        settledSnapshot,
        "--groups",
        await file(
          "m.yaml",
          "nodeGroups:\n  - {name: a, minNodes: 3, maxNodes: 2, capacity: {cpu: '4', memory: 8Gi, pods: 110}}\n",
        ),
      ],
      /nodeGroups\[0\] \(a\): minNodes 3 is greater than maxNodes 2/,
    ],
    [
      "an unknown expander",
      async () => ["--snapshot", settledSnapshot, "--groups", groups, "--expander", "least-waste,cheapest"],
      /unknown expander "cheapest"/,
    ],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const result = await runCli(["plan", ...(await args())]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toContain("    at ");
    });
  }
});
