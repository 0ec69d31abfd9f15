import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";

describe("vpsie-autoscaler demo, the README's first command", () => {
  it("scales the demo group up for its workload and down after it, and prints the stack history", async () => {
    const result = await runCli(["demo", "--output", "json"]);
    expect(result.code, result.stderr.slice(-2000)).toBe(0);
    const history = JSON.parse(result.stdout) as Array<{ kind: string; result: string; message: string }>;
    expect(history.map((h) => h.message.split(" (")[0])).toEqual([
      "scale-down general 2 → 1",
      "scale-up general 1 → 2",
      "scale-up general 0 → 1",
    ]);
    expect(history.every((h) => h.result === "succeeded")).toBe(true);
    expect(result.stderr).toMatch(/demo-web: 4\/4 Running/);
  });
});
