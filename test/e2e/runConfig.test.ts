import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../dev/testing/cli.js";
import { type TestEmulator, testEmulator } from "../../dev/testing/emulator.js";
import { tempDir } from "../../dev/testing/tempDir.js";

describe("vpsie-autoscaler run refuses an invalid configuration", () => {
  let sim: TestEmulator;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let kubeconfig: string;
  beforeAll(async () => {
    sim = await testEmulator();
    dir = await tempDir("run-config");
    kubeconfig = join(dir.path, "kubeconfig");
    await writeFile(
      kubeconfig,
      "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
    );
  });
  afterAll(async () => {
    await sim.stop();
    await dir.remove();
  });

  const env = () => ({
    ...process.env,
    VPSIE_API_URL: sim.url,
    VPSIE_TOKEN: "demo-token",
    PULUMI_CONFIG_PASSPHRASE: "x",
  });
  const cases: Array<[string, string[], () => NodeJS.ProcessEnv, RegExp]> = [
    [
      "a kubeconfig that does not exist",
      ["--kubeconfig", "/nonexistent/kubeconfig"],
      env,
      /--kubeconfig \/nonexistent\/kubeconfig does not exist/,
    ],
    [
      "a scan interval out of range",
      ["--scan-interval", "0"],
      env,
      /--scan-interval.*expected whole seconds from 1 to 59/,
    ],
    [
      "a kubeconfig that is not one",
      ["--kubeconfig", "/dev/null"],
      env,
      /--kubeconfig \/dev\/null is not a kubeconfig/,
    ],
    [
      "a backend that is not a DIY backend",
      ["--backend", "https://app.pulumi.com"],
      env,
      /--backend https:\/\/app.pulumi.com: use a DIY backend URL/,
    ],
  ];
  for (const [what, args, envOf, message] of cases) {
    it(`exits 2 for ${what}, naming it, without calling VPSie`, async () => {
      const before = (await sim.requests()).length;
      const result = await runCli(["run", "--kubeconfig", kubeconfig, ...args], envOf());
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toContain("    at ");
      expect((await sim.requests()).length).toBe(before);
    });
  }

  it("exits 2 naming the field of a bad configuration file, without calling VPSie", async () => {
    const config = join(dir.path, "scaler.yaml");
    await writeFile(config, "scaleDown:\n  utilizationThreshold: 2\n");
    const before = (await sim.requests()).length;
    const result = await runCli(["run", "--kubeconfig", kubeconfig, "--config", config], env());
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/scaler\.yaml: scaleDown\.utilizationThreshold: /);
    expect((await sim.requests()).length).toBe(before);
  });

  it("exits 2 naming the variables when VPSie credentials are missing", async () => {
    const { VPSIE_TOKEN: _t, ...withoutToken } = env();
    const result = await runCli(["run", "--kubeconfig", kubeconfig], withoutToken);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/set VPSIE_TOKEN/);
  });
});
