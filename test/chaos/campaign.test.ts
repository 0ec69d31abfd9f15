import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../scaler/tools/paths.js";
import { tempDir } from "../../dev/testing/tempDir.js";

/**
 * The chaos campaign, small: five rounds of a changing workload and one fault each against two `run`
 * replicas, every invariant checked after each. The long campaign's figures are in the README.
 */
describe("npm run chaos, five rounds", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir("chaos");
  });
  afterAll(() => dir?.remove());

  it(
    "holds every invariant through five faults, and says so",
    async () => {
      const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>(
        (resolve) =>
          execFile(
            process.execPath,
            [join(repoRoot, "dist", "dev", "chaos", "campaign.js"), "--rounds", "5", "--seed", "7"],
            { cwd: dir.path, timeout: 20 * 60_000, maxBuffer: 16 * 1024 * 1024 },
            (err, out, errOut) =>
              resolve({
                code: err ? ((err as { code?: number }).code ?? 1) : 0,
                stdout: out,
                stderr: errOut,
              }),
          ),
      );
      expect(code, stderr.slice(-4000)).toBe(0);
      expect(stdout).toContain("5 rounds, 0 violations (seed 7)");
      expect(stderr.match(/settled in \d+s: invariants hold/g)).toHaveLength(5);
      const report = JSON.parse(await readFile(join(dir.path, "bench-results", "chaos.json"), "utf8")) as {
        rounds: number;
        violations: string[];
        faults: Record<string, number>;
      };
      expect(report).toMatchObject({ rounds: 5, violations: [] });
      expect(Object.values(report.faults).reduce((a, b) => a + b, 0)).toBe(5);
    },
    25 * 60_000,
  );
});
