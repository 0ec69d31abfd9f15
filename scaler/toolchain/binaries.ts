import { execFile } from "node:child_process";
import { constants } from "node:fs";
import { access, mkdir, readlink, realpath, rm, symlink } from "node:fs/promises";
import { delimiter, dirname, join } from "node:path";
import { promisify } from "node:util";
import { repoRoot } from "./paths.js";

const execFileAsync = promisify(execFile);

/**
 * Links a built tool into the checkout's `node_modules/.bin`, so that `npx <name> …` runs it on this
 * project's Node.js, as a person would. A link, so that the tool still finds what lies beside it.
 */
export async function linkIntoCheckout(name: string, tool: string): Promise<string> {
  // The tool may have been found through this very link.
  const target = await realpath(tool);
  const link = join(repoRoot, "node_modules", ".bin", name);
  await mkdir(dirname(link), { recursive: true });
  if ((await readlink(link).catch(() => undefined)) !== target) {
    await rm(link, { force: true });
    await symlink(target, link);
  }
  return link;
}

export async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Every executable of this name on PATH, in PATH order. */
export async function onPath(name: string, env: NodeJS.ProcessEnv): Promise<string[]> {
  const found: string[] = [];
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir && (await isExecutable(join(dir, name)))) found.push(join(dir, name));
  }
  return found;
}

/** What a binary prints for its version command, or undefined when it cannot run. */
export async function versionOutput(command: string[]): Promise<string | undefined> {
  const [file, ...args] = command;
  if (!file) return undefined;
  try {
    const { stdout, stderr } = await execFileAsync(file, args, {
      timeout: 20_000,
      env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" },
    });
    return `${stdout}${stderr}`.trim();
  } catch {
    return undefined;
  }
}
