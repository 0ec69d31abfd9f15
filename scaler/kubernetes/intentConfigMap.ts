/**
 * Update intents in a ConfigMap, one key `<stack>.json`, for replicas that share no disk: the replica
 * that takes over reads what the one that died was doing, and recovers its update once the heartbeat
 * has gone stale. Merge patches touch one key each, so heartbeats never conflict with each other.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { type Intent, type IntentStore, parseIntent } from "../apply/intents.js";
import { configMapKeys } from "./configMapKeys.js";

export function configMapIntents(kubeconfig: KubeConfig, namespace: string, name: string): IntentStore {
  const keys = configMapKeys(kubeconfig, namespace, name);
  const key = (stack: string) => `${stack}.json`;
  return {
    read: async (stack) => parseIntent((await keys.read())[key(stack)]),
    write: (intent: Intent) => keys.patch({ [key(intent.stack)]: JSON.stringify(intent) }),
    remove: (stack) => keys.patch({ [key(stack)]: null }),
  };
}
