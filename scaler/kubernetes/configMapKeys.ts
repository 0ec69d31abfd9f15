/**
 * A ConfigMap used as a small key-value store (intents, reviews): every key read at once, and merge
 * patches that each touch only the keys they name, so writers of different keys never conflict.
 */
import { CoreV1Api, type KubeConfig, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";

export interface ConfigMapKeys {
  read(): Promise<Record<string, string>>;
  /** Sets keys; a null value removes its key. */
  patch(data: Record<string, string | null>): Promise<void>;
}

export function configMapKeys(kubeconfig: KubeConfig, namespace: string, name: string): ConfigMapKeys {
  const core = kubeconfig.makeApiClient(CoreV1Api);
  return {
    read: async () => (await core.readNamespacedConfigMap({ name, namespace })).data ?? {},
    async patch(data) {
      await core.patchNamespacedConfigMap(
        // A null value removes the key (JSON merge patch); the API's type knows only strings.
        { name, namespace, body: { data: data as Record<string, string> } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    },
  };
}
