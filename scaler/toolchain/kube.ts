import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { isExecutable, onPath, versionOutput } from "./binaries.js";
import { ToolMissingError } from "./errors.js";
import { goBuild, type Progress } from "./goBuild.js";
import { cacheRoot, repoRoot } from "./paths.js";

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

const KUBE_MODULE = "tools/kube";
const KWOK_MODULE = "tools/kwok";

/** The versions are those the committed wrapper modules pin: one place to change them. */
async function pinnedVersion(module: string, path: string): Promise<string> {
  const goMod = await readFile(join(repoRoot, module, "go.mod"), "utf8");
  const escaped = path.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  const version = new RegExp(`^\\s*(?:require\\s+)?${escaped} v(\\S+)`, "m").exec(goMod)?.[1];
  if (!version) throw new Error(`${module}/go.mod does not pin ${path}`);
  return version;
}

export async function controlPlaneVersions(): Promise<
  Pick<ControlPlaneTools, "kubernetesVersion" | "etcdVersion" | "kwokVersion">
> {
  return {
    kubernetesVersion: await pinnedVersion(KUBE_MODULE, "k8s.io/kubernetes"),
    etcdVersion: await pinnedVersion(KUBE_MODULE, "go.etcd.io/etcd/server/v3"),
    kwokVersion: await pinnedVersion(KWOK_MODULE, "sigs.k8s.io/kwok"),
  };
}

function cached(env: NodeJS.ProcessEnv, name: string, version: string): string {
  return join(cacheRoot(env), `${name}-v${version}`, "bin", name);
}

/** The first command whose version output contains `expected`: PATH first, then the cache. */
async function firstMatching(
  candidates: string[][],
  versionArgs: string[],
  expected: string,
): Promise<string[] | undefined> {
  for (const command of candidates) {
    if (!command[0] || !(await isExecutable(command[0]))) continue;
    if ((await versionOutput([...command, ...versionArgs]))?.includes(expected)) return command;
  }
  return undefined;
}

async function find(env: NodeJS.ProcessEnv) {
  const versions = await controlPlaneVersions();
  const kube = cached(env, "kube", versions.kubernetesVersion);
  const k8sTag = `Kubernetes v${versions.kubernetesVersion}`;
  const fromPath = async (name: string) => (await onPath(name, env)).map((p) => [p]);
  return {
    versions,
    kube,
    apiserver: await firstMatching(
      [...(await fromPath("kube-apiserver")), [kube, "apiserver"]],
      ["--version"],
      k8sTag,
    ),
    scheduler: await firstMatching(
      [...(await fromPath("kube-scheduler")), [kube, "scheduler"]],
      ["--version"],
      k8sTag,
    ),
    controllerManager: await firstMatching(
      [...(await fromPath("kube-controller-manager")), [kube, "controller-manager"]],
      ["--version"],
      k8sTag,
    ),
    etcd: await firstMatching(
      [...(await fromPath("etcd")), [kube, "etcd"]],
      ["--version"],
      `etcd Version: ${versions.etcdVersion}`,
    ),
    kwok: await firstMatching(
      [...(await fromPath("kwok")), [cached(env, "kwok", versions.kwokVersion)]],
      ["--version"],
      `kwok version v${versions.kwokVersion}`,
    ),
    kubectl: await firstMatching(
      [...(await fromPath("kubectl")), [cached(env, "kubectl", versions.kubernetesVersion)]],
      ["version", "--client"],
      `Client Version: v${versions.kubernetesVersion}`,
    ),
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
