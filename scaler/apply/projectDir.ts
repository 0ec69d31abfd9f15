import { copyFile, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { FULL_CONFIG_KEY, stackFileName, STACKS_DIR } from "../../stacks/contract.js";
import { repoRoot } from "../tools/paths.js";

/**
 * A project directory of its own (for the demo, tests, or a read-only installation): this
 * installation's Pulumi.yaml, with its built program and node_modules linked, and an empty stacks/
 * for stack config files that the scaler and people edit.
 */
export async function prepareProjectDir(dir: string): Promise<void> {
  await mkdir(join(dir, "stacks"), { recursive: true });
  for (const link of ["dist", "node_modules"]) {
    // Again after a start that stopped halfway: the links are made anew.
    await rm(join(dir, link), { force: true });
    await symlink(join(repoRoot, link), join(dir, link));
  }
  await copyFile(join(repoRoot, "Pulumi.yaml"), join(dir, "Pulumi.yaml"));
}

/** Writes the stack config of one node group, in the stack named after it. */
export async function writeGroupStackConfig(
  dir: string,
  group: Record<string, unknown> & { name: string },
): Promise<string> {
  const path = join(dir, STACKS_DIR, stackFileName(group.name));
  await writeFile(path, stringify({ config: { [FULL_CONFIG_KEY]: [group] } }));
  return path;
}
