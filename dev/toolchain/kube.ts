import { join } from "node:path";
import { findTool } from "../../scaler/tools/binaries.js";
import { ToolMissingError } from "../../scaler/tools/errors.js";
import { cacheRoot } from "../../scaler/tools/paths.js";
import { cachedTool, goBuild, pinnedVersion, type Progress } from "./goBuild.js";

/** How to start each part of the local control plane: a command and the arguments before its flags. */
export interface ControlPlaneTools {
  kubernetesVersion: string;
  etcdVersion: string;
  kwokVersion: string;
  apiserver: string[];
  scheduler: string[];
  controllerManager: string[];
  etcd: string[];
  kwok: string[];
  /** kubectl of the same release, with its Kustomize: what the install tests apply deploy/ with. */
  kubectl: string[];
}

const KUBE_MODULE = "dev/go/kube";
const KWOK_MODULE = "dev/go/kwok";

export async function controlPlaneVersions(): Promise<
  Pick<ControlPlaneTools, "kubernetesVersion" | "etcdVersion" | "kwokVersion">
> {
  return {
    kubernetesVersion: await pinnedVersion(KUBE_MODULE, "k8s.io/kubernetes"),
    etcdVersion: await pinnedVersion(KUBE_MODULE, "go.etcd.io/etcd/server/v3"),
    kwokVersion: await pinnedVersion(KWOK_MODULE, "sigs.k8s.io/kwok"),
  };
}

async function find(env: NodeJS.ProcessEnv) {
  const versions = await controlPlaneVersions();
  const kube = cachedTool(env, "kube", versions.kubernetesVersion);
  const k8sTag = `Kubernetes v${versions.kubernetesVersion}`;
  const part = (name: string, subcommand: string, versionArgs = ["--version"], expected = k8sTag) =>
    findTool({ name, versionArgs, expected, cached: [kube, subcommand], env });
  return {
    versions,
    kube,
    apiserver: await part("kube-apiserver", "apiserver"),
    scheduler: await part("kube-scheduler", "scheduler"),
    controllerManager: await part("kube-controller-manager", "controller-manager"),
    etcd: await part("etcd", "etcd", ["--version"], `etcd Version: ${versions.etcdVersion}`),
    kwok: await findTool({
      name: "kwok",
      versionArgs: ["--version"],
      expected: `kwok version v${versions.kwokVersion}`,
      cached: [cachedTool(env, "kwok", versions.kwokVersion)],
      env,
    }),
    kubectl: await findTool({
      name: "kubectl",
      versionArgs: ["version", "--client"],
      expected: `Client Version: v${versions.kubernetesVersion}`,
      cached: [cachedTool(env, "kubectl", versions.kubernetesVersion)],
      env,
    }),
  };
}

/**
 * Finds kube-apiserver, kube-scheduler, kube-controller-manager, etcd and kwok at the pinned versions:
 * on PATH as they are, else the binaries `npm run tools` built into the cache. Builds nothing.
 */
export async function resolveControlPlane(env: NodeJS.ProcessEnv = process.env): Promise<ControlPlaneTools> {
  const found = await find(env);
  const { apiserver, scheduler, controllerManager, etcd, kwok, kubectl } = found;
  const missing = Object.entries({
    "kube-apiserver": apiserver,
    "kube-scheduler": scheduler,
    "kube-controller-manager": controllerManager,
    etcd,
    kwok,
    kubectl,
  })
    .filter(([, command]) => !command)
    .map(([name]) => name);
  if (!apiserver || !scheduler || !controllerManager || !etcd || !kwok || !kubectl) {
    throw new ToolMissingError(
      `the local Kubernetes control plane is missing ${missing.join(", ")} (Kubernetes v${found.versions.kubernetesVersion}, etcd ${found.versions.etcdVersion}, kwok v${found.versions.kwokVersion}), on PATH and in ${cacheRoot(env)}: run \`npm run tools\` to build them from Go modules`,
    );
  }
  return { ...found.versions, apiserver, scheduler, controllerManager, etcd, kwok, kubectl };
}

/** Builds what is missing into the cache: one multi-call binary for the Kubernetes parts and etcd, kwok, and kubectl. */
export async function ensureControlPlane(
  progress: Progress,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ControlPlaneTools> {
  const found = await find(env);
  const { kubernetesVersion, kwokVersion } = found.versions;
  const [major, minor] = kubernetesVersion.split(".");
  // Without these, /version reports v0.0.0-master and clients warn about the skew.
  const versionFlags = ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"]
    .map(
      (pkg) =>
        `-X ${pkg}.gitVersion=v${kubernetesVersion} -X ${pkg}.gitMajor=${major} -X ${pkg}.gitMinor=${minor}`,
    )
    .join(" ");
  if (!found.apiserver || !found.scheduler || !found.controllerManager || !found.etcd) {
    await goBuild(
      {
        label: `Kubernetes v${kubernetesVersion} control plane and etcd ${found.versions.etcdVersion}`,
        module: KUBE_MODULE,
        packages: ["."],
        ldflags: `-s -w ${versionFlags}`,
        outDir: join(cacheRoot(env), `kube-v${kubernetesVersion}`, "bin"),
        output: "kube",
      },
      progress,
    );
  }
  if (!found.kwok) {
    await goBuild(
      {
        label: `kwok v${kwokVersion}`,
        module: KWOK_MODULE,
        packages: ["."],
        ldflags: "-s -w",
        output: "kwok",
        outDir: join(cacheRoot(env), `kwok-v${kwokVersion}`, "bin"),
      },
      progress,
    );
  }
  if (!found.kubectl) {
    await goBuild(
      {
        label: `kubectl v${kubernetesVersion}`,
        module: KUBE_MODULE,
        packages: ["k8s.io/kubernetes/cmd/kubectl"],
        ldflags: `-s -w ${versionFlags}`,
        output: "kubectl",
        outDir: join(cacheRoot(env), `kubectl-v${kubernetesVersion}`, "bin"),
      },
      progress,
    );
  }
  return resolveControlPlane(env);
}
