import { execFile } from "node:child_process";
import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

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

/**
 * The first command whose version output contains `expected`, of the tool's copies on PATH and then
 * the one `npm run tools` builds into the cache: the one way every tool is found.
 */
export async function findTool(spec: {
  name: string;
  versionArgs: string[];
  expected: string;
  /** The cached build, as a command (a multi-call binary's subcommand included). */
  cached: string[];
  env: NodeJS.ProcessEnv;
}): Promise<string[] | undefined> {
  const candidates = [...(await onPath(spec.name, spec.env)).map((p) => [p]), spec.cached];
  for (const command of candidates) {
    if (!command[0] || !(await isExecutable(command[0]))) continue;
    if ((await versionOutput([...command, ...spec.versionArgs]))?.includes(spec.expected)) return command;
  }
  return undefined;
}
