import { describe, expect, it } from "vitest";
import { auditLogs, parseLog, type ProcessLog } from "../../../dev/chaos/logAudit.js";

const line = (time: number, msg: string, fields: Record<string, unknown> = {}) =>
  JSON.stringify({ level: 30, time, msg, ...fields });
const log = (name: string, lines: string[], diedAt?: number): ProcessLog => ({
  name,
  lines: parseLog(lines.join("\n")),
  diedAt,
});

describe("the chaos campaign's log audit", () => {
  it("passes a handover: the leader's update ends at its death, the next leader recovers after", () => {
    const a = log(
      "a#1",
      [
        line(0, "became the leader (lease …)"),
        line(10, "updating stack general: scale-up general 1 → 2 …", { stack: "general" }),
      ],
      20,
    );
    const b = log("b#1", [
      line(1, "serving /healthz"),
      line(27, "became the leader (lease …)"),
      line(28, "recovering stack general: an update started … did not finish", { stack: "general" }),
      line(40, "recovered general: adopted 1, dropped 0, deleted 0 orphan(s)", { group: "general" }),
      line(41, "updating stack general: scale-down general 2 → 1 …", { stack: "general" }),
      line(45, "done: scale-down general 2 → 1 …", { stack: "general" }),
    ]);
    expect(auditLogs([a, b], 100)).toEqual([]);
  });

  it("finds two updates of one stack at once, and an action by a process that does not lead", () => {
    const a = log("a#1", [
      line(0, "became the leader (lease …)"),
      line(10, "updating stack general: scale-up general 1 → 2", { stack: "general" }),
      line(30, "done: scale-up general 1 → 2", { stack: "general" }),
    ]);
    const b = log("b#1", [line(20, "updating stack general: scale-up general 1 → 2", { stack: "general" })]);
    expect(auditLogs([a, b], 100)).toEqual([
      expect.stringMatching(/^two updates of stack general at once: a#1 .* and b#1 /),
      expect.stringMatching(/^b#1 acted without leading at .*: updating stack general/),
      expect.stringMatching(/^b#1 acted at .* while a#1 also led/),
    ]);
  });

  it("ends an update at a failure of its group, and skips lines that are not JSON", () => {
    const a = log("a#1", [
      line(0, "became the leader (lease …)"),
      line(10, "updating stack general: scale-up general 1 → 2", { stack: "general" }),
      JSON.stringify({ level: 50, time: 12, msg: "scale-up of general failed: …", group: "general" }),
      "error: not JSON",
    ]);
    const b = log("b#1", [
      line(13, "became the leader (lease …)"),
      line(14, "updating stack general: scale-up general 1 → 2", { stack: "general" }),
      line(15, "done: scale-up general 1 → 2", { stack: "general" }),
    ]);
    // a still leads in its own log (it never said it stopped): b acting beside it is reported, the updates are not.
    expect(auditLogs([a, b], 100)).toEqual([expect.stringMatching(/^b#1 acted at .* while a#1 also led/)]);
  });
});
