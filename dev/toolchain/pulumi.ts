/**
 * Builds the Pulumi CLI into the tool cache from the Go module that pins it to the SDK's version, and
 * installs beside it the plugins the engine treats as bundled (the launcher under each plugin's name,
 * and the script it starts). Development only: the image builds the same module in its Go stage.
 */
import { createHash } from "node:crypto";
import { chmod, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { isExecutable, versionOutput } from "../../scaler/tools/binaries.js";
import { ToolMissingError } from "../../scaler/tools/errors.js";
import { cacheRoot, repoRoot } from "../../scaler/tools/paths.js";
import {
  BUNDLED_PLUGIN_SCRIPTS,
  cachedPulumiDir,
  PULUMI_MODULE,
  type PulumiTools,
  requiredPulumiVersion,
  resolvePulumi,
  VERSION_STAMP,
} from "../../scaler/tools/pulumi.js";
import { goBuild, type Progress } from "./goBuild.js";

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
    if ((await versionOutput([join(cacheDir, "pulumi"), "version"])) === `v${version}`)
      await writeFile(join(cacheDir, VERSION_STAMP), `v${version}\n`);
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
  await writeFile(join(cacheDir, VERSION_STAMP), `v${version}\n`);
  await installBundledPlugins(cacheDir, progress, env);
  return resolvePulumi(env);
}
