import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { applierDirs } from "../../scaler/apply/applier.js";
import { prepareProjectDir, writeGroupStackConfig } from "../../scaler/apply/projectDir.js";
import { resolvePulumi } from "../../scaler/tools/pulumi.js";
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
  /** The CLI flags that point a command at this project, its work directory and its state. */
  flags: string[];
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
  await prepareProjectDir(dir);
  await mkdir(backendDir, { recursive: true });
  const url = backendUrl ?? `file://${backendDir}`;
  return {
    dir,
    workDir,
    backendDir,
    engine: {
      projectDir: dir,
      backendUrl: url,
      ...applierDirs(workDir),
      passphrase: "test-passphrase",
      tools: await resolvePulumi(),
    },
    flags: ["--project-dir", dir, "--work-dir", workDir, "--backend", url],
    writeGroup: (group) => writeGroupStackConfig(dir, group as Record<string, unknown> & { name: string }),
    remove: () => root.remove(),
  };
}
