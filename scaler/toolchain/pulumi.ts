import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, readFile, realpath, rm, writeFile } from "node:fs/promises";
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

/**
 * Plugins the engine never downloads; it looks for them next to the (symlink-resolved) `pulumi`. Each is
 * the launcher, which starts the script of the same name + `.mjs` beside it, compiled from these files.
 */
export const BUNDLED_PLUGIN_SCRIPTS: Record<string, string> = {
  "pulumi-language-nodejs": join("dist", "scaler", "toolchain", "languageHost.js"),
  "pulumi-resource-pulumi-nodejs": join("dist", "scaler", "toolchain", "dynamicProviderHost.js"),
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

const LAUNCHER_SOURCE = join(PULUMI_MODULE, "nodeplugin", "main.go");

/** The launcher is rebuilt when its source changes, without rebuilding the CLI. */
async function launcherDir(env: NodeJS.ProcessEnv): Promise<string> {
  const source = await readFile(join(repoRoot, LAUNCHER_SOURCE));
  const digest = createHash("sha256").update(source).digest("hex").slice(0, 12);
  return join(cacheRoot(env), `nodeplugin-${digest}`);
}

async function writeIfChanged(path: string, content: Buffer, mode: number): Promise<void> {
  const current = await readFile(path).catch(() => undefined);
  if (!current?.equals(content)) {
    await rm(path, { force: true });
    await writeFile(path, content);
  }
  await chmod(path, mode);
}

/**
 * Installs the plugins the engine treats as bundled next to the cached CLI: the compiled launcher
 * under each plugin's name, and beside it the script it starts (the SDK's dynamic provider, and our
 * language host: the Go one cannot be fetched here). The scripts load Pulumi from the project they
 * serve, so one copy serves every checkout. The container image has the same layout.
 */
async function installBundledPlugins(binDir: string, progress: Progress, env: NodeJS.ProcessEnv) {
  const launcher = await launcherDir(env);
  if (!(await isExecutable(join(launcher, "nodeplugin")))) {
    await goBuild(
      {
        label: "the Node.js plugin launcher",
        module: PULUMI_MODULE,
        packages: ["./nodeplugin"],
        ldflags: "-s -w",
        outDir: launcher,
      },
      progress,
    );
  }
  const binary = await readFile(join(launcher, "nodeplugin"));
  for (const [plugin, script] of Object.entries(BUNDLED_PLUGIN_SCRIPTS)) {
    const text = (await readFile(join(repoRoot, script), "utf8")).replace(/\n\/\/# sourceMappingURL=.*$/, "");
    await writeIfChanged(join(binDir, `${plugin}.mjs`), Buffer.from(text), 0o644);
    await writeIfChanged(join(binDir, plugin), binary, 0o755);
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
    await installBundledPlugins(cacheDir, progress, env);
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
  await installBundledPlugins(cacheDir, progress, env);
  return resolvePulumi(env);
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
