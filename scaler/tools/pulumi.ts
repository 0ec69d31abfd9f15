import { existsSync } from "node:fs";
import { readFile, realpath, stat } from "node:fs/promises";
import { basename, delimiter, dirname, join } from "node:path";
import { isExecutable, onPath, versionOutput } from "./binaries.js";
import { ToolMissingError } from "./errors.js";
import { cacheRoot, installedVersion, repoRoot } from "./paths.js";

/** The Pulumi engine and the plugins it needs, as found on this machine. */
export interface PulumiTools {
  version: string;
  /** Absolute path of the `pulumi` CLI. */
  pulumi: string;
  /** The installation root (`<root>/bin/pulumi`), as the Automation API's `PulumiCommand.get` takes it. */
  root: string;
  /** Directories to put first on PATH for the CLI: its plugins and the Node.js that runs them. */
  pathEntries: string[];
}

/** The Go module that pins the CLI to the SDK's version and holds the plugin launcher (the image builds it too). */
export const PULUMI_MODULE = "provider/pulumi/engine";

/** The CLI must match the SDK exactly: the Automation API and the engine speak one protocol version. */
export function requiredPulumiVersion(): string {
  return installedVersion("@pulumi/pulumi");
}

export function cachedPulumiDir(version: string, env: NodeJS.ProcessEnv): string {
  return join(cacheRoot(env), `pulumi-v${version}`, "bin");
}

/**
 * The version stamp `npm run tools` and the image write beside the CLI they built (`pulumi.version`):
 * trusted while it is newer than the binary, so commands need not run `pulumi version` (0.3 s) first.
 */
export const VERSION_STAMP = "pulumi.version";

async function reportedVersion(binary: string): Promise<string | undefined> {
  const stamp = join(dirname(binary), VERSION_STAMP);
  const [stamped, built] = await Promise.all([stat(stamp).catch(() => undefined), stat(binary)]);
  if (stamped && stamped.mtimeMs >= built.mtimeMs)
    return (await readFile(stamp, "utf8")).trim().replace(/^v/, "");
  return (await versionOutput([binary, "version"]))?.replace(/^v/, "");
}

/**
 * Plugins the engine never downloads; it looks for them next to the (symlink-resolved) `pulumi`. Each is
 * the launcher, which starts the script of the same name + `.mjs` beside it, compiled from these files.
 */
export const BUNDLED_PLUGIN_SCRIPTS: Record<string, string> = {
  "pulumi-language-nodejs": join("dist", "provider", "pulumi", "plugins", "languageHost.js"),
  "pulumi-resource-pulumi-nodejs": join("dist", "provider", "pulumi", "plugins", "dynamicProviderHost.js"),
};

function pathEntries(pulumi: string): string[] {
  // Plugins run `node`: it must be the Node.js the SDK supports, the one running us.
  return [dirname(pulumi), dirname(process.execPath)];
}

async function missingPlugins(pulumi: string): Promise<string[]> {
  const missing: string[] = [];
  for (const plugin of Object.keys(BUNDLED_PLUGIN_SCRIPTS)) {
    const dir = dirname(pulumi);
    if (!(await isExecutable(join(dir, plugin))) || !existsSync(join(dir, `${plugin}.mjs`)))
      missing.push(plugin);
  }
  return missing;
}

/**
 * Finds the Pulumi CLI of the SDK's version: a `pulumi` on PATH at that version is used as is,
 * otherwise the one built into the cache. Builds nothing; says how to get the tools when missing.
 */
export async function resolvePulumi(env: NodeJS.ProcessEnv = process.env): Promise<PulumiTools> {
  const version = requiredPulumiVersion();
  const candidates = [...(await onPath("pulumi", env)), join(cachedPulumiDir(version, env), "pulumi")];
  const seen: string[] = [];
  for (const candidate of candidates) {
    if (!(await isExecutable(candidate))) continue;
    const real = await realpath(candidate);
    const reported = await reportedVersion(real);
    const missing = await missingPlugins(real);
    if (reported === version && basename(dirname(real)) === "bin" && missing.length === 0) {
      return { version, pulumi: real, root: dirname(dirname(real)), pathEntries: pathEntries(real) };
    }
    const why =
      reported === version ? `without ${missing.join(" and ") || "a bin/ directory"} beside it` : "";
    seen.push(`${candidate} (${reported ? `v${reported}` : "no version"}${why ? `, ${why}` : ""})`);
  }
  const also = seen.length ? ` Found only: ${seen.join(", ")}.` : "";
  throw new ToolMissingError(
    `the pulumi CLI v${version} (the version of the installed @pulumi/pulumi) was not found on PATH or in ${cachedPulumiDir(version, env)}.${also} Run \`npm run tools\` to build it from Go modules.`,
  );
}

/** The environment under which the CLI finds its plugins and never reaches for the network. */
export function pulumiProcessEnv(
  tools: PulumiTools,
  base: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) if (value !== undefined) env[key] = value;
  env.PATH = [...tools.pathEntries, base.PATH ?? ""].join(delimiter);
  // The dynamic-provider plugin resolves @pulumi/pulumi from its working directory, which for an
  // inline program is a temporary one: point it at this project's copy.
  env.NODE_PATH = [join(repoRoot, "node_modules"), base.NODE_PATH ?? ""].filter(Boolean).join(delimiter);
  env.PULUMI_SKIP_UPDATE_CHECK = "true";
  env.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION = "true";
  env.PULUMI_DISABLE_REGISTRY_RESOLVE = "true";
  return env;
}
