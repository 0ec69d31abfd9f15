import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../scaler/tools/paths.js";
import { tempDir } from "../../dev/testing/tempDir.js";

const run = promisify(execFile);

interface PeerResult {
  autoscaler: string;
  pods: number;
  healthySeconds: number;
  scaleOut: { nodes: number; bySize: Record<string, number>; dollarsPerHour: number; cpuReservation: number };
  scaleInPods: number;
  settleSeconds: number;
  scaleIn: { nodes: number; dollarsPerHour: number };
  controller: { peakPssMiB: number; cpuSeconds: number };
}

/**
 * The peer benchmark at CI's size (`npm run bench:peer` runs Karpenter's 1,000 pods): both autoscalers,
 * each on its own control plane, through the scale-out and the scale-in, so the harness cannot rot.
 */
describe("npm run bench:peer, small", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let results: PeerResult[];
  let table: string;

  beforeAll(async () => {
    dir = await tempDir("bench-peer");
    const { stdout } = await run(
      process.execPath,
      [
        join(repoRoot, "dist", "dev", "bench", "peer.js"),
        "--pods",
        "40",
        "--consolidate-after",
        "5",
        "--quiet",
        "20",
        "--max-minutes",
        "5",
      ],
      { cwd: dir.path, timeout: 900_000, maxBuffer: 16 * 1024 * 1024 },
    );
    table = stdout;
    results = (
      JSON.parse(await readFile(join(dir.path, "bench-results", "peer.json"), "utf8")) as {
        results: PeerResult[];
      }
    ).results;
  }, 960_000);

  afterAll(async () => {
    await dir?.remove();
  });

  it("brings every pod to Running with each autoscaler, on nodes of the shared catalogue", () => {
    expect(results.map((r) => r.autoscaler)).toEqual(["ours", "karpenter"]);
    for (const r of results) {
      expect(r.pods).toBe(40);
      expect(r.scaleOut.nodes).toBeGreaterThan(0);
      // Every node is one of the catalogue's sizes, priced.
      expect(
        Object.keys(r.scaleOut.bySize).every((s) => s.startsWith("k8s-")),
        JSON.stringify(r.scaleOut),
      ).toBe(true);
      expect(r.scaleOut.dollarsPerHour).toBeGreaterThan(0);
      expect(r.scaleOut.cpuReservation).toBeGreaterThan(0);
    }
  });

  it("scales in to 70 % of the replicas without adding cost, and measures each controller", () => {
    for (const r of results) {
      expect(r.scaleInPods).toBe(28);
      expect(r.scaleIn.dollarsPerHour).toBeLessThanOrEqual(r.scaleOut.dollarsPerHour);
      expect(r.controller.peakPssMiB).toBeGreaterThan(20);
      expect(r.controller.cpuSeconds).toBeGreaterThan(0);
    }
    expect(table).toMatch(/time to all pods Running \(s\)/);
    expect(table).toMatch(/ours \/ karpenter/);
  });
});
