import { copyFile, mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { applierDirs } from "../../scaler/apply/applier.js";
import { resolvePulumi } from "../../scaler/toolchain/pulumi.js";
import { repoRoot } from "../../scaler/toolchain/paths.js";
import { tempDir } from "./tempDir.js";

export interface TestProject {
  dir: string;
  workDir: string;
  backendDir: string;
  engine: {
    projectDir: string;
    backendUrl: string;
    pulumiHome: string;
    stateDir: string;
    passphrase: string;
    tools: Awaited<ReturnType<typeof resolvePulumi>>;
  };
  writeGroup: (group: Record<string, unknown>) => Promise<string>;
  remove: () => Promise<void>;
}

/**
 * A copy of the project (Pulumi.yaml, the built program and node_modules linked) with its own
 * stacks/ directory, work directory and file:// state, so tests edit stack config freely.
 */
export async function testProject(name: string, backendUrl?: string): Promise<TestProject> {
  const root = await tempDir(`project-${name}`);
  const dir = join(root.path, "project");
  const workDir = join(root.path, "work");
  const backendDir = join(root.path, "state");
  await mkdir(join(dir, "stacks"), { recursive: true });
  await mkdir(backendDir, { recursive: true });
  await copyFile(join(repoRoot, "Pulumi.yaml"), join(dir, "Pulumi.yaml"));
  await symlink(join(repoRoot, "dist"), join(dir, "dist"));
  await symlink(join(repoRoot, "node_modules"), join(dir, "node_modules"));
  await writeFile(
    join(dir, "package.json"),
    JSON.stringify({ name: "vpsie-autoscaler-test-project", type: "module" }),
  );
  return {
    dir,
    workDir,
    backendDir,
    engine: {
      projectDir: dir,
      backendUrl: backendUrl ?? `file://${backendDir}`,
      ...applierDirs(workDir),
      passphrase: "test-passphrase",
      tools: await resolvePulumi(),
    },
    writeGroup: async (group) => {
      const path = join(dir, "stacks", `Pulumi.${String(group.name)}.yaml`);
      await writeFile(path, stringify({ config: { "vpsie-autoscaler:nodeGroups": [group] } }));
      return path;
    },
    remove: () => root.remove(),
  };
}
