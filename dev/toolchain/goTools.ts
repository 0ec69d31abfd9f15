/**
 * Tools an operator runs beside the scaler, built from the Go module proxy into the tool cache like the
 * control plane: helm (the chart's install test) and promtool (the alert rules' checks and unit tests).
 */
import { dirname } from "node:path";
import { findTool } from "../../scaler/tools/binaries.js";
import { ToolMissingError } from "../../scaler/tools/errors.js";
import { cacheRoot } from "../../scaler/tools/paths.js";
import { cachedTool, goBuild, pinnedVersion, type Progress } from "./goBuild.js";

interface GoTool {
  name: string;
  /** The committed wrapper module whose go.mod pins the tool (and names it in a `tool` directive). */
  module: string;
  /** The module path whose pinned version is the tool's. */
  modulePath: string;
  package: string;
  versionArgs: string[];
  /** What the version command prints for the pinned module version. */
  expected: (moduleVersion: string) => string;
  /** `pinned` reads another module's version from the wrapper module. */
  ldflags: (moduleVersion: string, pinned: (path: string) => Promise<string>) => Promise<string>;
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

export interface ResolvedGoTool {
  name: string;
  version: string;
  command: string[];
}

async function find(tool: GoTool, env: NodeJS.ProcessEnv) {
  const version = await pinnedVersion(tool.module, tool.modulePath);
  const command = await findTool({
    name: tool.name,
    versionArgs: tool.versionArgs,
    expected: tool.expected(version),
    cached: [cachedTool(env, tool.name, version)],
    env,
  });
  return { version, command };
}

/** The tool at its pinned version, on PATH or in the cache. Builds nothing. */
export async function resolveGoTool(
  tool: GoTool,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ResolvedGoTool> {
  const { version, command } = await find(tool, env);
  if (!command)
    throw new ToolMissingError(
      `${tool.name} (${tool.modulePath} v${version}) is missing, on PATH and in ${cacheRoot(env)}: run \`npm run tools\` to build it from Go modules`,
    );
  return { name: tool.name, version, command };
}

/** Builds the tool into the cache when it is missing. */
export async function ensureGoTool(
  tool: GoTool,
  progress: Progress,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ResolvedGoTool> {
  const { version, command } = await find(tool, env);
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
  return resolveGoTool(tool, env);
}
