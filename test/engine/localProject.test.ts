import { execFile } from "node:child_process";
import { copyFile, rm } from "node:fs/promises";
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
    // As the guide says: the example's node group, with its two member keys.
    await copyFile(
      join(repoRoot, "stacks", "Pulumi.example.yaml"),
      join(repoRoot, "stacks", `Pulumi.${stackName}.yaml`),
    );
  });

  afterAll(async () => {
    await npxPulumi("stack", "rm", "--yes", "--force", stackName).catch(() => undefined);
    await rm(join(repoRoot, "stacks", `Pulumi.${stackName}.yaml`), { force: true });
    await dir?.remove();
  });

  it("previews the stack program with the engine and the Node.js language host", async () => {
    const { stdout } = await npxPulumi("preview", "--stack", stackName, "--diff");
    expect(stdout).toContain(`vpsie-autoscaler-${stackName}`);
    // The stack, the node group and one node per member key, each by name.
    expect(stdout).toMatch(/\+ 4 to create/);
    expect(stdout).toMatch(
      /\+ pulumi-nodejs:dynamic\/vpsie:NodeGroup: \(create\)[\s\S]*urn:[^\n]*::general\b/,
    );
    for (const key of ["general-7f3a", "general-b41c"]) expect(stdout).toMatch(new RegExp(`::${key}\\b`));
    expect(stdout).not.toContain("warning");
  });
});
