/** How commands that talk to a cluster read their flags: the kubeconfig, and `<namespace>/<name>` objects. */
import { existsSync } from "node:fs";
import type { KubeConfig } from "@kubernetes/client-node";
import { UsageError } from "./usageError.js";

export function namespacedName(
  flag: string,
  value: string | undefined,
  example: string,
): { namespace: string; name: string } | undefined {
  if (value === undefined) return undefined;
  const [namespace, name, ...rest] = value.split("/");
  if (!namespace || !name || rest.length > 0)
    throw new UsageError(`${flag} ${value}: expected <namespace>/<name>, e.g. kube-system/${example}`);
  return { namespace, name };
}

/** `--kubeconfig FILE`, else the in-cluster service account, else $KUBECONFIG or ~/.kube/config. */
export async function loadKubeconfig(path: string | undefined): Promise<KubeConfig> {
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kubeconfig = new KubeConfig();
  if (path) {
    if (!existsSync(path)) throw new UsageError(`--kubeconfig ${path} does not exist`);
    try {
      kubeconfig.loadFromFile(path);
    } catch (err) {
      throw new UsageError(`--kubeconfig ${path} is not a kubeconfig: ${(err as Error).message}`);
    }
  } else if (process.env.KUBERNETES_SERVICE_HOST) {
    kubeconfig.loadFromCluster();
  } else {
    kubeconfig.loadFromDefault();
  }
  if (!kubeconfig.getCurrentCluster())
    throw new UsageError("no Kubernetes cluster configured: pass --kubeconfig, or run in a cluster");
  return kubeconfig;
}
