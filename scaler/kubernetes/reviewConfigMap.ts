/**
 * Review records in a ConfigMap, one key `<id>.json`, so every replica and `vpsie-autoscaler approvals`
 * run anywhere with the kubeconfig see the same ones. Merge patches touch one key each; the ConfigMap
 * is shipped by the install (its Role cannot create by name).
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { parseReviewRecord, REVIEW_ID } from "../review/records.js";
import { parseRecords, type ReviewStore } from "../review/store.js";
import { configMapKeys } from "./configMapKeys.js";

export function configMapReviews(kubeconfig: KubeConfig, namespace: string, name: string): ReviewStore {
  const keys = configMapKeys(kubeconfig, namespace, name);
  const source = (key: string) => `ConfigMap ${namespace}/${name} key ${key}`;
  return {
    description: `the ConfigMap ${namespace}/${name}`,
    async list() {
      const data = Object.entries(await keys.read());
      return parseRecords(data.map(([key, text]) => ({ source: source(key), read: async () => text })));
    },
    async get(id) {
      if (!REVIEW_ID.test(id)) return undefined;
      const text = (await keys.read())[`${id}.json`];
      return text === undefined ? undefined : parseReviewRecord(text, source(`${id}.json`));
    },
    put: (record) => keys.patch({ [`${record.id}.json`]: JSON.stringify(record) }),
    async remove(ids) {
      if (ids.length > 0) await keys.patch(Object.fromEntries(ids.map((id) => [`${id}.json`, null])));
    },
  };
}
