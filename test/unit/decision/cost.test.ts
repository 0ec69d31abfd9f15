import { describe, expect, it } from "vitest";
import { emptyTimers } from "../../../scaler/decision/options.js";
import { plan, type PlanInput } from "../../../scaler/decision/plan.js";
import { group, node, NOW, pending } from "./builders.js";

function run(input: Partial<PlanInput>) {
  return plan({
    snapshot: { nodes: [], pods: [], pdbs: [] },
    groups: [],
    timers: emptyTimers(),
    now: NOW,
    ...input,
  });
}

describe("cost in decisions", () => {
  const cheap = group("cheap", { pricePerHour: 0.05 });
  const pricey = group("pricey", { pricePerHour: 0.2 });

  it("puts the $/h a scale-up adds and the group's $/h after it on the decision, with every option's", () => {
    const result = run({
      snapshot: {
        nodes: [node("c1", { group: "cheap" })],
        pods: [pending({ cpu: 3000 }), pending({ cpu: 3000 })],
        pdbs: [],
      },
      groups: [cheap, pricey],
      options: { expanders: ["price"] },
    });
    expect(result.scaleUp).toHaveLength(1);
    const [up] = result.scaleUp;
    expect(up?.group).toBe("cheap");
    expect(up?.cost?.deltaPerHour).toBeCloseTo(0.05 * (up!.to - up!.from));
    expect(up?.cost?.groupPerHour).toBeCloseTo(0.05 * up!.to);
    expect(up?.options.map((o) => o.group).sort()).toEqual(["cheap", "pricey"]);
    expect(up?.reason).toMatch(/lowest price per pod \(\$0\.0\d+\/h\)/);
  });

  it("holds scale-up to the cluster-wide limit in money, and says so for the pods left pending", () => {
    // One node costs 0.05 now; 0.16 allows two more, not three.
    const pods = [pending({ cpu: 3000 }), pending({ cpu: 3000 }), pending({ cpu: 3000 })];
    const result = run({
      snapshot: {
        nodes: [
          node("c1", { group: "cheap", allocatable: { cpu: 0, memory: 0, ephemeralStorage: 0, pods: 0 } }),
        ],
        pods,
        pdbs: [],
      },
      groups: [cheap],
      options: { limits: { maxCostPerHour: 0.16 } },
    });
    expect(result.scaleUp.map((u) => u.to - u.from)).toEqual([2]);
    expect(result.scaleUp[0]?.cost?.groupPerHour).toBeCloseTo(0.15);
    expect(result.noScaleUp).toHaveLength(1);
    expect(result.noScaleUp[0]?.because.cheap).toEqual({
      kind: "MaxCostPerHourReached",
      limit: 0.16,
      unpriced: false,
    });
    expect(result.noScaleUp[0]?.reasons.cheap).toBe("the cluster-wide limit of $0.16/h is reached");
  });

  it("does not grow a group whose price is unknown while a limit in money is set", () => {
    const result = run({
      snapshot: { nodes: [], pods: [pending({ cpu: 1000 })], pdbs: [] },
      groups: [group("unpriced")],
      options: { limits: { maxCostPerHour: 10 } },
    });
    expect(result.scaleUp).toEqual([]);
    expect(result.noScaleUp[0]?.reasons.unpriced).toMatch(
      /limit of \$10\.00\/h is set and this group's price is unknown/,
    );
  });

  it("puts what a scale-down saves on the decision", () => {
    const result = run({
      snapshot: {
        nodes: [node("c1", { group: "cheap" }), node("c2", { group: "cheap" })],
        pods: [],
        pdbs: [],
      },
      groups: [{ ...cheap, minNodes: 0 }],
      respectTimers: false,
    });
    expect(result.scaleDown.map((d) => d.cost?.deltaPerHour)).toEqual([-0.05, -0.05]);
    expect(result.scaleDown.map((d) => d.cost?.groupPerHour).map((v) => Number(v?.toFixed(2)))).toEqual([
      0.05, 0,
    ]);
  });
});
