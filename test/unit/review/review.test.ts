import { describe, expect, it } from "vitest";
import type { ActionPreview, ScaleRequest } from "../../../scaler/apply/applier.js";
import { summarizeUpdate } from "../../../scaler/console/history.js";
import { approvalsPage, historyPage, shadowPage } from "../../../scaler/console/pages.js";
import { toText } from "../../../scaler/console/html.js";
import { decide, ReviewDecisionError } from "../../../scaler/review/decide.js";
import { ReviewGate } from "../../../scaler/review/gate.js";
import { approvalRule, type ProposedAction } from "../../../scaler/review/policy.js";
import type { ReviewRecord } from "../../../scaler/review/records.js";
import { tempReviews } from "./tempReviews.js";

const up = (add: number, deltaPerHour?: number): ProposedAction => ({
  kind: "scale-up",
  group: "general",
  add,
  remove: [],
  pods: ["default/web-1"],
  ...(deltaPerHour !== undefined && { cost: { deltaPerHour, groupPerHour: deltaPerHour } }),
});
const down = (pods: string[]): ProposedAction => ({
  kind: "scale-down",
  group: "general",
  add: 0,
  remove: [{ key: "general-ab12", node: "general-node-1" }],
  pods,
});

describe("the approval policy", () => {
  it("sends to review what its rules name, and lets the rest run", () => {
    expect(approvalRule(up(5), undefined)).toBeUndefined();
    expect(approvalRule(up(5), {})).toBeUndefined();
    expect(approvalRule(up(1), { all: true })).toMatch(/^approvals.all/);
    expect(approvalRule(up(3), { scaleUpNodesOver: 3 })).toBeUndefined();
    expect(approvalRule(up(4), { scaleUpNodesOver: 3 })).toBe(
      "approvals.scaleUpNodesOver: adds 4 nodes, more than 3",
    );
    expect(approvalRule(up(1, 0.5), { scaleUpCostPerHourOver: 1 })).toBeUndefined();
    expect(approvalRule(up(1, 1.5), { scaleUpCostPerHourOver: 1 })).toBe(
      "approvals.scaleUpCostPerHourOver: adds $1.50/h, more than $1.00/h",
    );
    // A price nobody knows cannot be shown to be under the limit.
    expect(approvalRule(up(1), { scaleUpCostPerHourOver: 1 })).toMatch(
      /price of node group general is unknown/,
    );
    expect(approvalRule(down([]), { nonEmptyScaleDown: true })).toBeUndefined();
    expect(approvalRule(down(["default/web-1"]), { nonEmptyScaleDown: true })).toBe(
      "approvals.nonEmptyScaleDown: 1 pod(s) would be evicted",
    );
    expect(approvalRule(down([]), { groups: ["general"] })).toMatch(/every action on node group general/);
    expect(approvalRule({ ...up(1), kind: "adopt" }, { all: true })).toBeUndefined();
  });
});

describe("update messages read back for the console", () => {
  it("finds the keys, the cost change, the approver and the commit", () => {
    expect(
      summarizeUpdate(
        "scale-up general 1 → 3 (+general-ab12 +general-cd34): 2 pending pods (+$0.1334/h, group $0.2001/h) (approved by Ada <ada@example.com>) (commit 1a2b3c4)",
      ),
    ).toEqual({
      kind: "scale-up",
      added: ["general-ab12", "general-cd34"],
      removed: [],
      more: 0,
      cost: { delta: "+$0.1334", group: "$0.2001" },
      approvedBy: "Ada <ada@example.com>",
      commit: "1a2b3c4",
    });
    expect(
      summarizeUpdate("scale-down general 3 → 2 (-general-ab12): node drained (-$0.0667/h, group $0.1334/h)"),
    ).toMatchObject({
      removed: ["general-ab12"],
      cost: { delta: "-$0.0667", group: "$0.1334" },
    });
    expect(summarizeUpdate("a person's own pulumi up")).toEqual({ added: [], removed: [], more: 0 });
  });
});

function record(overrides: Partial<ReviewRecord> = {}): ReviewRecord {
  const at = "2026-12-01T10:00:00.000Z";
  return {
    id: "20261201-100000-abcd",
    status: "pending",
    kind: "scale-up",
    group: "general",
    add: 1,
    remove: [],
    pods: ["default/web-1"],
    reason: "1 pending pod",
    rule: "approvals.all: every scale action is reviewed",
    message: "scale-up general 1 → 2 (+general-ab12): 1 pending pod",
    diff: "+ pulumi-nodejs:dynamic/vpsie:Node: (create)\n",
    changes: { create: 1 },
    cost: { deltaPerHour: 0.0667, groupPerHour: 0.1334 },
    keys: ["general-ab12"],
    members: ["general-0001"],
    plan: "{}",
    createdAt: at,
    lastSeenAt: at,
    seen: 1,
    expiresAt: "2026-12-01T11:00:00.000Z",
    ...overrides,
  };
}

describe("the console's pages show what they are given as text", () => {
  const hostile = '<script>alert(1)</script><img src=x onerror="alert(2)">';
  const pages = [
    toText(
      approvalsPage(
        [record({ group: hostile, reason: hostile, message: hostile, diff: hostile })],
        "t0k",
        hostile,
      ),
    ),
    toText(shadowPage([record({ status: "shadow", group: hostile, reason: hostile })], 1, 50)),
    toText(
      historyPage(
        [hostile],
        hostile,
        [
          {
            group: hostile,
            version: 1,
            kind: "update",
            result: "succeeded",
            message: `scale-up ${hostile} 1 → 2 (+a): ${hostile} (approved by ${hostile})`,
            startTime: "2026-12-01T10:00:00.000Z",
            resourceChanges: { create: 1 },
          },
        ],
        1,
        50,
      ),
    ),
  ];
  it("escapes every value, so no markup from data reaches the page", () => {
    for (const page of pages) {
      expect(page).not.toContain("<script>alert");
      expect(page).not.toContain("<img src=x");
      expect(page).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    }
  });
});

describe("deciding a review", () => {
  const reviews = tempReviews();

  it("records who approved, once, and refuses a decided, expired or unknown one", async () => {
    await reviews.store.put(record());
    const now = new Date("2026-12-01T10:30:00Z");
    await expect(decide(reviews.store, record().id, "approve", "  ", now)).rejects.toThrow(/say who decides/);
    const approved = await decide(reviews.store, record().id, "approve", "Ada", now);
    expect(approved).toMatchObject({ status: "approved", decidedBy: "Ada", decidedAt: now.toISOString() });
    await expect(decide(reviews.store, record().id, "reject", "Bob", now)).rejects.toThrow(
      /is approved \(by Ada\): only a pending one can be decided/,
    );
    await reviews.store.put(record({ id: "20261201-100000-ef01" }));
    await expect(
      decide(reviews.store, "20261201-100000-ef01", "approve", "Ada", new Date("2026-12-01T11:00:01Z")),
    ).rejects.toThrow(ReviewDecisionError);
    await expect(decide(reviews.store, "../../etc/passwd", "approve", "Ada", now)).rejects.toThrow(
      /no review/,
    );
  });

  it("holds what the policy names with its saved plan, asks once, and hands the approved one to the leader", async () => {
    let now = Date.parse("2026-12-01T10:00:00Z");
    const previews: Array<{ request: ScaleRequest; savePlan?: string }> = [];
    const gate = new ReviewGate({
      mode: "live",
      policy: { scaleUpNodesOver: 1, expireAfter: 60_000 },
      store: reviews.store,
      clock: { now: () => now, sleep: async () => undefined, after: () => () => undefined },
      log: () => undefined,
      preview: async (request, savePlan): Promise<ActionPreview> => {
        previews.push({ request, savePlan });
        if (savePlan)
          await import("node:fs/promises").then((fs) => fs.writeFile(savePlan, '{"resourcePlans":{}}'));
        return {
          group: request.group,
          from: 1,
          to: 1 + request.add,
          added: Array.from({ length: request.add }, (_, i) => `general-k${i}`),
          removed: [],
          members: ["general-0001"],
          message: `scale-up general: ${request.reason}`,
          changes: { create: request.add },
          diff: "+ Node",
        };
      },
    });
    const request = { group: "general", add: 2, remove: [], reason: "2 pending pods" };
    expect(await gate.hold(up(1), { ...request, add: 1 })).toBeUndefined();
    const held = await gate.hold(up(2), request);
    expect(held).toMatchObject({
      created: true,
      record: { status: "pending", keys: ["general-k0", "general-k1"], plan: '{"resourcePlans":{}}' },
    });
    expect(previews.at(-1)?.savePlan).toMatch(/plan\.json$/);
    // Planned again next loop: the same review, not a second one, and no second preview.
    expect(await gate.hold(up(2), request)).toMatchObject({
      created: false,
      record: { id: held?.record.id },
    });
    expect(previews).toHaveLength(1);
    expect((await gate.due()).approved).toEqual([]);
    await decide(reviews.store, held!.record.id, "approve", "Ada", new Date(now));
    expect((await gate.due()).approved.map((r) => r.id)).toEqual([held!.record.id]);
    // Not decided in time: dropped.
    await reviews.store.remove([held!.record.id]);
    const late = await gate.hold(up(2), request);
    now += 61_000;
    const due = await gate.due();
    expect(due.expired.map((r) => [r.id, r.status])).toEqual([[late?.record.id, "expired"]]);
  });

  it("in shadow mode records every action once, counting it again when decided again, and never lets one run", async () => {
    const now = Date.parse("2026-12-01T10:00:00Z");
    let previews = 0;
    const gate = new ReviewGate({
      mode: "shadow",
      store: reviews.store,
      clock: { now: () => now, sleep: async () => undefined, after: () => () => undefined },
      log: () => undefined,
      preview: async (request): Promise<ActionPreview> => {
        previews++;
        return {
          group: request.group,
          from: 1,
          to: 2,
          added: ["general-k0"],
          removed: [],
          members: [],
          message: "m",
          changes: {},
          diff: "",
        };
      },
    });
    const request = { group: "general", add: 1, remove: [], reason: "r" };
    expect((await gate.hold(up(1), request))?.record.status).toBe("shadow");
    expect((await gate.hold(up(1), request))?.record.seen).toBe(2);
    expect((await gate.hold(up(2), { ...request, add: 2 }))?.created).toBe(true);
    expect(previews).toBe(2);
    expect(await gate.due()).toEqual({ approved: [], expired: [] });
  });
});
