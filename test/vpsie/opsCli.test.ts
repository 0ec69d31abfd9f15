import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_CLUSTER, DEMO_DC, DEMO_TOKEN } from "../../dev/testing/emulator.js";
import { runCli, startCli } from "../../dev/testing/cli.js";

describe("vpsie-autoscaler vpsie …, against `vpsie-autoscaler vpsie-sim`", () => {
  let sim: Awaited<ReturnType<typeof startCli>>;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    sim = await startCli(["vpsie-sim", "--port", "0"], /listening on (http:\/\/127\.0\.0\.1:\d+)/);
    const { VPSIE_TOKEN: _t, VPSIE_CLIENT_ID: _i, VPSIE_CLIENT_SECRET: _s, ...rest } = process.env;
    env = { ...rest, VPSIE_API_URL: sim.match[1], VPSIE_TOKEN: DEMO_TOKEN };
  });
  afterAll(() => sim?.stop());

  it("lists clusters as a table and as JSON", async () => {
    const table = await runCli(["vpsie", "clusters"], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^IDENTIFIER\s+NAME\s+NODES/);
    expect(table.stdout).toContain("HEL-Kubernetes-49ab");
    const json = await runCli(["vpsie", "clusters", "--output", "json"], env);
    expect(JSON.parse(json.stdout)).toEqual([expect.objectContaining({ identifier: DEMO_CLUSTER })]);
  });

  it("lists groups, nodes and offers", async () => {
    expect((await runCli(["vpsie", "groups", "--cluster", DEMO_CLUSTER], env)).stdout).toMatch(
      /^ID\s+NAME\s+SIZE/,
    );
    const nodes = await runCli(["vpsie", "nodes", "--cluster", DEMO_CLUSTER, "-o", "json"], env);
    expect(JSON.parse(nodes.stdout)).toEqual([expect.objectContaining({ nodeType: "master" })]);
    const offers = await runCli(["vpsie", "offers", "--dc", DEMO_DC], env);
    expect(offers.stdout).toContain("k8s-4c-8g");
  });

  it("prints VPSie's message and exits non-zero on an API error", async () => {
    const result = await runCli(["vpsie", "groups", "--cluster", "no-such-cluster"], env);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain("kubernetes not found");
    expect(result.stderr).not.toContain("    at ");
  });

  it("says which variable to set and exits 2 without credentials", async () => {
    const { VPSIE_TOKEN: _t, ...noToken } = env;
    const result = await runCli(["vpsie", "clusters"], noToken);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/set VPSIE_TOKEN .* or VPSIE_CLIENT_ID and VPSIE_CLIENT_SECRET/);
  });

  it("exits 2 naming the field of a bad emulator configuration", async () => {
    const result = await runCli(["vpsie-sim", "--config", "/nonexistent/sim.yaml"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("cannot read --config /nonexistent/sim.yaml");
  });
});
