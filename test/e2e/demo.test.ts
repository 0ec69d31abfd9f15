import { describe, expect, it } from "vitest";
import { runCli } from "../../dev/testing/cli.js";

describe("vpsie-autoscaler demo, the README's first command", () => {
  it("scales the demo group up for its workload and down after it, and prints the stack history", async () => {
    const result = await runCli(["demo", "--output", "json"]);
    expect(result.code, result.stderr.slice(-2000)).toBe(0);
    const history = JSON.parse(result.stdout) as Array<{ kind: string; result: string; message: string }>;
    const actions = history.map((h) => h.message.split(" (")[0]);
    // Newest first: the group ends back at its minimum, after growing for the workload.
    expect(actions[0]).toMatch(/^scale-down general \d → 1$/);
    expect(actions).toContain("scale-up general 1 → 2");
    expect(actions.at(-1)).toBe("scale-up general 0 → 1");
    expect(history.every((h) => h.result === "succeeded")).toBe(true);
    expect(result.stderr).toMatch(/demo-web: 4\/4 Running/);
  });
});
