import { execFile } from "node:child_process";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../scaler/tools/paths.js";
import { tempDir } from "../../dev/testing/tempDir.js";

const execFileAsync = promisify(execFile);

/**
 * A person in a checkout, after the README's install command, runs `npx pulumi preview` against a
 * local stack of the root Pulumi.yaml. This test does the same, with its own state directory.
 */
describe("pulumi preview from the repository root", () => {
  const stackName = `engine-test-${process.pid}`;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let env: NodeJS.ProcessEnv;

  const npxPulumi = (...args: string[]) =>
    execFileAsync("npx", ["--no-install", "pulumi", ...args, "--non-interactive"], { cwd: repoRoot, env });

  beforeAll(async () => {
    dir = await tempDir("local-project");
    env = {
      ...process.env,
      PULUMI_BACKEND_URL: `file://${dir.path}`,
      PULUMI_HOME: join(dir.path, ".pulumi"),
      PULUMI_CONFIG_PASSPHRASE: "local-project-test",
      PULUMI_SKIP_UPDATE_CHECK: "true",
    };
    await npxPulumi("stack", "init", stackName);
  });

  afterAll(async () => {
    await npxPulumi("stack", "rm", "--yes", "--force", stackName).catch(() => undefined);
    await rm(join(repoRoot, "stacks", `Pulumi.${stackName}.yaml`), { force: true });
    await dir?.remove();
  });

  it("previews the stack program with the engine and the Node.js language host", async () => {
    const { stdout } = await npxPulumi("preview", "--stack", stackName, "--diff");
    expect(stdout).toContain(`vpsie-autoscaler-${stackName}`);
    expect(stdout).toMatch(/\+ 1 to create/);
    expect(stdout).not.toContain("warning");
  });
});
