import { chmod, mkdir, readFile, readlink, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { basename, delimiter, dirname, join } from "node:path";
import { isExecutable, onPath, versionOutput } from "./binaries.js";
import { ToolMissingError } from "./errors.js";
import { goBuild, type Progress } from "./goBuild.js";
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

const PULUMI_MODULE = "tools/pulumi";

/** The CLI must match the SDK exactly: the Automation API and the engine speak one protocol version. */
export function requiredPulumiVersion(): string {
  return installedVersion("@pulumi/pulumi");
}

function cachedPulumiDir(version: string, env: NodeJS.ProcessEnv): string {
  return join(cacheRoot(env), `pulumi-v${version}`, "bin");
}

async function reportedVersion(binary: string): Promise<string | undefined> {
  return (await versionOutput([binary, "version"]))?.replace(/^v/, "");
}

/** Plugins the engine never downloads; it looks for them next to the (symlink-resolved) `pulumi`. */
const BUNDLED_PLUGINS = ["pulumi-language-nodejs", "pulumi-resource-pulumi-nodejs"];

function pathEntries(pulumi: string): string[] {
  // Plugins run `node`: it must be the Node.js the SDK supports, the one running us.
  return [dirname(pulumi), dirname(process.execPath)];
}

async function missingPlugins(pulumi: string): Promise<string[]> {
  const missing: string[] = [];
  for (const plugin of BUNDLED_PLUGINS) {
    if (!(await isExecutable(join(dirname(pulumi), plugin)))) missing.push(plugin);
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
    const reported = await reportedVersion(candidate);
    const real = await realpath(candidate);
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

/**
 * Installs the plugins the engine treats as bundled next to the cached CLI: the SDK's dynamic-provider
 * plugin, and our language host (the Go one cannot be fetched here). Both load Pulumi from the project
 * they serve, so one copy serves every checkout.
 */
async function installBundledPlugins(binDir: string): Promise<void> {
  const sdkDir = join(repoRoot, "node_modules", "@pulumi", "pulumi");
  const dynamicProvider = await readFile(join(sdkDir, "pulumi-resource-pulumi-nodejs"), "utf8");
  const languageHost = await readFile(
    join(repoRoot, "dist", "scaler", "toolchain", "languageHost.js"),
    "utf8",
  );
  const files: Record<string, string> = {
    "pulumi-resource-pulumi-nodejs": dynamicProvider,
    "pulumi-language-nodejs": `#!/usr/bin/env node\n${languageHost.replace(/\n\/\/# sourceMappingURL=.*$/, "")}`,
  };
  for (const [name, text] of Object.entries(files)) {
    const path = join(binDir, name);
    const current = await readFile(path, "utf8").catch(() => undefined);
    if (current !== text) await writeFile(path, text);
    await chmod(path, 0o755);
  }
}

/** Builds the CLI into the cache when no matching one exists, and keeps its plugins current. */
export async function ensurePulumi(
  progress: Progress,
  env: NodeJS.ProcessEnv = process.env,
): Promise<PulumiTools> {
  const version = requiredPulumiVersion();
  const cacheDir = cachedPulumiDir(version, env);
  try {
    const found = await resolvePulumi(env);
    if (dirname(found.pulumi) !== cacheDir) return found;
  } catch (err) {
    if (!(err instanceof ToolMissingError)) throw err;
  }
  if (await isExecutable(join(cacheDir, "pulumi"))) {
    await installBundledPlugins(cacheDir);
    const cached = await resolvePulumi(env).catch(() => undefined);
    if (cached) return cached;
  }
  await goBuild(
    {
      label: `pulumi v${version}`,
      module: PULUMI_MODULE,
      packages: ["github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"],
      tags: ["osusergo", "grpcnotrace"],
      // Without the version ldflag the Automation API refuses the CLI ("Failed to parse Pulumi CLI version").
      ldflags: `-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v${version}`,
      outDir: cacheDir,
    },
    progress,
  );
  await installBundledPlugins(cacheDir);
  return resolvePulumi(env);
}

async function linkTo(target: string, link: string): Promise<void> {
  try {
    if ((await readlink(link)) === target) return;
  } catch {
    // absent, or not a link: replaced below
  }
  await rm(link, { force: true });
  await symlink(target, link);
}

/**
 * Links the CLI into `node_modules/.bin`, so that `npx pulumi preview` in the checkout runs it on this
 * project's Node.js, as a person would. Its plugins are found beside the link's target.
 */
export async function linkPulumiIntoCheckout(tools: PulumiTools): Promise<string> {
  const link = join(repoRoot, "node_modules", ".bin", "pulumi");
  await mkdir(dirname(link), { recursive: true });
  await linkTo(tools.pulumi, link);
  return link;
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
