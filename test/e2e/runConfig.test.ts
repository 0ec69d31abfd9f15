import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, startCli } from "../../dev/testing/cli.js";
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
      "a Git repository URL that carries credentials",
      ["--git-repo", "https://scaler:s3cret@git.example.com/cluster.git"],
      env,
      /--git-repo: the URL carries credentials; put the token in VPSIE_AUTOSCALER_GIT_TOKEN/,
    ],
    [
      "a Git repository over SSH",
      ["--git-repo", "ssh://git@git.example.com/cluster.git"],
      env,
      /--git-repo: ssh: is not supported: the scaler speaks Git over HTTP\(S\) only/,
    ],
    [
      "both a Git repository and a stacks ConfigMap",
      ["--git-repo", "https://git.example.com/cluster.git", "--stack-configmap", "kube-system/stacks"],
      env,
      /--git-repo and --stack-configmap both say where the stack config files are: keep one/,
    ],
    [
      "an audit console other hosts could reach, without a token",
      ["--console-address", "0.0.0.0:8086"],
      env,
      /the console on 0\.0\.0\.0:8086 would be reachable from other hosts: set VPSIE_AUTOSCALER_CONSOLE_TOKEN, or listen on 127\.0\.0\.1/,
    ],
    [
      "a review ConfigMap that is not namespace/name",
      ["--review-configmap", "reviews"],
      env,
      /--review-configmap reviews: expected <namespace>\/<name>/,
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

  // Found by the chaos campaign: both replicas exited with code 2, as if misconfigured, when the API
  // server restarted while they read the stacks ConfigMap at start.
  it("keeps running, and tries again every loop, when the stacks ConfigMap cannot be read at start because the API server does not answer", async () => {
    const scaler = await startCli(
      [
        "run",
        "--kubeconfig",
        kubeconfig,
        "--stack-configmap",
        "kube-system/vpsie-autoscaler-stacks",
        "--project-dir",
        join(dir.path, "project"),
        "--work-dir",
        join(dir.path, "work"),
        "--metrics-address",
        "127.0.0.1:0",
      ],
      /stack config not read yet, trying again every loop/,
      env(),
    );
    try {
      await new Promise((r) => setTimeout(r, 3_000));
      expect(scaler.child.exitCode).toBeNull();
    } finally {
      scaler.child.kill("SIGKILL");
    }
  });
});
