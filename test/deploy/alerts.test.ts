import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { CHART_DIR } from "../../dev/deploy/renderBase.js";
import { PROMTOOL, resolveGoTool } from "../../dev/toolchain/goTools.js";
import { repoRoot } from "../../scaler/tools/paths.js";

const run = promisify(execFile);

async function promtool(...args: string[]): Promise<string> {
  const [command = "promtool", ...pre] = (await resolveGoTool(PROMTOOL)).command;
  try {
    const { stdout, stderr } = await run(command, [...pre, ...args], { cwd: repoRoot });
    return `${stdout}${stderr}`;
  } catch (err) {
    const { stdout, stderr } = err as { stdout: string; stderr: string };
    throw new Error(`promtool ${args.join(" ")} failed:\n${stdout}${stderr}`, { cause: err });
  }
}

/** The chart's alert rules, as Prometheus itself reads and evaluates them (promtool, built from its module). */
describe("the alert rules", () => {
  it("pass promtool check rules (syntax, PromQL, labels and templates)", async () => {
    const out = await promtool("check", "rules", "--lint-fatal", join(CHART_DIR, "files", "alerts.yaml"));
    expect(out).toMatch(/SUCCESS: 8 rules found/);
  });

  it("fire on the series each is meant for, after its `for`, and stay silent on a healthy scaler (promtool test rules)", async () => {
    const out = await promtool("test", "rules", "test/deploy/rules/alerts.test.yaml");
    expect(out).toMatch(/SUCCESS/);
  });
});
