/**
 * Tools built from the Go module proxy into the tool cache like the control plane: helm (the chart's
 * install test), promtool (the alert rules' checks and unit tests), and Karpenter's kwok provider (the
 * peer benchmark).
 */
import { execFile } from "node:child_process";
import { cp, mkdir, rename } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { findTool, isExecutable } from "../../scaler/tools/binaries.js";
import { ToolMissingError } from "../../scaler/tools/errors.js";
import { cacheRoot, repoRoot } from "../../scaler/tools/paths.js";
import { cachedTool, goBuild, pinnedVersion, type Progress } from "./goBuild.js";

const run = promisify(execFile);

interface GoTool {
  name: string;
  /** The committed wrapper module whose go.mod pins the tool (and names it in a `tool` directive). */
  module: string;
  /** The module path whose pinned version is the tool's. */
  modulePath: string;
  package: string;
  /**
   * The version command; without one (a binary that prints none), only the cached build is used, whose
   * directory is named by its version.
   */
  versionArgs?: string[];
  /** What the version command prints for the pinned module version. */
  expected: (moduleVersion: string) => string;
  /** `pinned` reads another module's version from the wrapper module. */
  ldflags: (moduleVersion: string, pinned: (path: string) => Promise<string>) => Promise<string>;
  /** Directories of the tool's module copied beside the binary (`<cache>/<name>-v<version>/<dir>`). */
  files?: Record<string, string[]>;
}

export const HELM: GoTool = {
  name: "helm",
  module: "dev/go/helm",
  modulePath: "helm.sh/helm/v3",
  package: "helm.sh/helm/v3/cmd/helm",
  versionArgs: ["version", "--short"],
  expected: (v) => `v${v}`,
  // What helm's Makefile sets: without the Kubernetes version, `helm template` assumes 1.20 and
  // refuses charts that need newer.
  ldflags: async (v, pinned) => {
    // client-go v0.37.x is Kubernetes 1.37.
    const minor = (await pinned("k8s.io/client-go")).split(".")[1];
    return [
      "-s -w",
      `-X helm.sh/helm/v3/internal/version.version=v${v}`,
      ...["pkg/chartutil", "pkg/lint/rules"].flatMap((pkg) => [
        `-X helm.sh/helm/v3/${pkg}.k8sVersionMajor=1`,
        `-X helm.sh/helm/v3/${pkg}.k8sVersionMinor=${minor}`,
      ]),
    ].join(" ");
  },
};

/** Prometheus tags v3.x as module versions v0.3xx.y: v0.316.0 is Prometheus 3.16.0. */
function prometheusRelease(moduleVersion: string): string {
  const [, minor = "0", patch = "0"] = moduleVersion.split(".");
  return `${minor.slice(0, 1)}.${Number(minor.slice(1))}.${patch}`;
}

export const PROMTOOL: GoTool = {
  name: "promtool",
  module: "dev/go/prometheus",
  modulePath: "github.com/prometheus/prometheus",
  package: "github.com/prometheus/prometheus/cmd/promtool",
  versionArgs: ["--version"],
  expected: (v) => `promtool, version ${prometheusRelease(v)}`,
  ldflags: async (v) => `-s -w -X github.com/prometheus/common/version.Version=${prometheusRelease(v)}`,
};

/** Karpenter's kwok provider: Karpenter's controllers with an in-cluster "cloud" that creates kwok Nodes. */
export const KARPENTER: GoTool = {
  name: "karpenter-kwok",
  module: "dev/go/karpenter",
  modulePath: "sigs.k8s.io/karpenter",
  package: "sigs.k8s.io/karpenter/kwok",
  expected: (v) => `v${v}`,
  ldflags: async (v) => `-s -w -X sigs.k8s.io/karpenter/pkg/operator.Version=v${v}`,
  // Its CRDs (NodePool, NodeClaim, NodeOverlay; KWOKNodeClass), which ship only inside the module.
  files: { crds: ["pkg/apis/crds", "kwok/apis/crds"] },
};

export interface ResolvedGoTool {
  name: string;
  version: string;
  command: string[];
  /** Where the copied module files are (`files`), when the tool has any. */
  home: string;
}

async function find(tool: GoTool, env: NodeJS.ProcessEnv) {
  const version = await pinnedVersion(tool.module, tool.modulePath);
  const cached = cachedTool(env, tool.name, version);
  const command = tool.versionArgs
    ? await findTool({
        name: tool.name,
        versionArgs: tool.versionArgs,
        expected: tool.expected(version),
        cached: [cached],
        env,
      })
    : (await isExecutable(cached))
      ? [cached]
      : undefined;
  return { version, command, home: dirname(dirname(cached)) };
}

/** The tool at its pinned version, on PATH or in the cache. Builds nothing. */
export async function resolveGoTool(
  tool: GoTool,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ResolvedGoTool> {
  const { version, command, home } = await find(tool, env);
  if (!command)
    throw new ToolMissingError(
      `${tool.name} (${tool.modulePath} v${version}) is missing, on PATH and in ${cacheRoot(env)}: run \`npm run tools\` to build it from Go modules`,
    );
  return { name: tool.name, version, command, home };
}

/** Builds the tool into the cache when it is missing. */
export async function ensureGoTool(
  tool: GoTool,
  progress: Progress,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ResolvedGoTool> {
  const { version, command, home } = await find(tool, env);
  if (!command) {
    await goBuild(
      {
        label: `${tool.name} (${tool.modulePath} v${version})`,
        module: tool.module,
        packages: [tool.package],
        ldflags: await tool.ldflags(version, (path) => pinnedVersion(tool.module, path)),
        output: tool.name,
        outDir: dirname(cachedTool(env, tool.name, version)),
      },
      progress,
    );
  }
  for (const [into, from] of Object.entries(tool.files ?? {})) {
    if (await isExecutable(join(home, into))) continue;
    const moduleDir = (
      await run("go", ["list", "-m", "-f", "{{.Dir}}", tool.modulePath], {
        cwd: join(repoRoot, tool.module),
        env: { ...process.env, GOTOOLCHAIN: "local", GOFLAGS: "-mod=readonly" },
      })
    ).stdout.trim();
    await mkdir(`${join(home, into)}.partial`, { recursive: true });
    for (const dir of from)
      await cp(join(moduleDir, dir), `${join(home, into)}.partial`, { recursive: true });
    await rename(`${join(home, into)}.partial`, join(home, into));
  }
  return resolveGoTool(tool, env);
}
