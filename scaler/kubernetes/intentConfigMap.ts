/**
 * Update intents in a ConfigMap, one key `<stack>.json`, for replicas that share no disk: the replica
 * that takes over reads what the one that died was doing, and recovers its update once the heartbeat
 * has gone stale. Merge patches touch one key each, so heartbeats never conflict with each other.
 */
import { CoreV1Api, type KubeConfig, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { type Intent, type IntentStore, parseIntent } from "../apply/intents.js";

export function configMapIntents(kubeconfig: KubeConfig, namespace: string, name: string): IntentStore {
  const core = kubeconfig.makeApiClient(CoreV1Api);
  const key = (stack: string) => `${stack}.json`;
  const patch = async (data: Record<string, string | null>) => {
    await core.patchNamespacedConfigMap(
      // A null value removes the key (JSON merge patch); the API's type knows only strings.
      { name, namespace, body: { data: data as Record<string, string> } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  };
  return {
    read: async (stack) =>
      parseIntent((await core.readNamespacedConfigMap({ name, namespace })).data?.[key(stack)]),
    write: (intent: Intent) => patch({ [key(intent.stack)]: JSON.stringify(intent) }),
    remove: (stack) => patch({ [key(stack)]: null }),
  };
}
