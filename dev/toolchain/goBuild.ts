import { execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { ToolMissingError } from "../../scaler/tools/errors.js";
import { cacheRoot, repoRoot } from "../../scaler/tools/paths.js";

const execFileAsync = promisify(execFile);

export type Progress = (message: string) => void;

export interface GoBuild {
  /** What is being built, for progress lines. */
  label: string;
  /** The committed wrapper module, relative to the repository root. */
  module: string;
  packages: string[];
  ldflags: string;
  tags?: string[];
  /** Directory that receives the binaries; written only when the whole build succeeded. */
  outDir: string;
  /** The binary's name when one main package is built under another name (default: the package's). */
  output?: string;
}

/** The version of `path` a committed wrapper module pins: one place to change each tool's version. */
export async function pinnedVersion(module: string, path: string): Promise<string> {
  const goMod = await readFile(join(repoRoot, module, "go.mod"), "utf8");
  const escaped = path.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  const version = new RegExp(`^\\s*(?:require\\s+)?${escaped} v(\\S+)`, "m").exec(goMod)?.[1];
  if (!version) throw new Error(`${module}/go.mod does not pin ${path}`);
  return version;
}

/** Where `npm run tools` keeps a built tool: `<cache>/<name>-v<version>/bin/<name>`. */
export function cachedTool(env: NodeJS.ProcessEnv, name: string, version: string): string {
  return join(cacheRoot(env), `${name}-v${version}`, "bin", name);
}

function compareGoVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

async function requireGo(moduleDir: string): Promise<string> {
  const goMod = await readFile(join(moduleDir, "go.mod"), "utf8");
  const needed = /^go (\S+)$/m.exec(goMod)?.[1] ?? "0";
  let found: string;
  try {
    found = (await execFileAsync("go", ["env", "GOVERSION"], { env: goEnv() })).stdout
      .trim()
      .replace(/^go/, "");
  } catch {
    throw new ToolMissingError(
      `the Go toolchain (go ${needed} or newer) is needed to build tools from Go modules, and \`go\` is not on PATH: install Go, then run \`npm run tools\` again`,
    );
  }
  if (compareGoVersions(found, needed) < 0) {
    throw new ToolMissingError(
      `go ${found} is too old to build ${moduleDir}: it needs go ${needed} or newer (GOTOOLCHAIN=local, no toolchain download)`,
    );
  }
  return found;
}

function goEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    CGO_ENABLED: "0",
    // The only network here is the module proxy; a toolchain switch would try to download Go itself.
    GOTOOLCHAIN: "local",
    GOFLAGS: "-buildvcs=false -mod=readonly",
  };
}

function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}

/** Builds binaries from a committed wrapper module, reporting progress while `go` works. */
export async function goBuild(build: GoBuild, progress: Progress): Promise<void> {
  const moduleDir = join(repoRoot, build.module);
  const goVersion = await requireGo(moduleDir);
  await mkdir(dirname(build.outDir), { recursive: true });
  const staging = await mkdtemp(`${build.outDir}.partial-`);
  const args = [
    "build",
    "-trimpath",
    "-ldflags",
    build.ldflags,
    "-o",
    build.output ? join(staging, build.output) : `${staging}/`,
  ];
  if (build.tags?.length) args.push("-tags", build.tags.join(","));
  args.push(...build.packages);

  const started = Date.now();
  progress(
    `building ${build.label} with go ${goVersion} (a cold build downloads modules and compiles for minutes)`,
  );
  const ticker = setInterval(
    () => progress(`still building ${build.label}: ${formatDuration(Date.now() - started)} so far`),
    30_000,
  );
  const output: string[] = [];
  try {
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn("go", args, { cwd: moduleDir, env: goEnv(), stdio: ["ignore", "pipe", "pipe"] });
      const keep = (chunk: Buffer) => {
        output.push(chunk.toString());
        if (output.length > 200) output.splice(0, output.length - 200);
      };
      child.stdout.on("data", keep);
      child.stderr.on("data", keep);
      child.on("error", reject);
      child.on("exit", (exitCode) => resolve(exitCode ?? 1));
    });
    if (code !== 0) {
      throw new Error(
        `go build of ${build.label} failed (exit ${code}):\n${output.join("").split("\n").slice(-40).join("\n")}`,
      );
    }
    await rm(build.outDir, { recursive: true, force: true });
    await rename(staging, build.outDir);
    progress(`built ${build.label} in ${formatDuration(Date.now() - started)}`);
  } finally {
    clearInterval(ticker);
    await rm(staging, { recursive: true, force: true });
  }
}
