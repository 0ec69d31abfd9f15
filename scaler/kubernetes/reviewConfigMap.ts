/**
 * Review records in a ConfigMap, one key `<id>.json`, so every replica and `vpsie-autoscaler approvals`
 * run anywhere with the kubeconfig see the same ones. Merge patches touch one key each; the ConfigMap
 * is shipped by the install (its Role cannot create by name).
 */
import { CoreV1Api, type KubeConfig, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { parseReviewRecord, REVIEW_ID, type ReviewRecord } from "../review/records.js";
import { newestFirst, type ReviewStore } from "../review/store.js";

export function configMapReviews(kubeconfig: KubeConfig, namespace: string, name: string): ReviewStore {
  const core = kubeconfig.makeApiClient(CoreV1Api);
  const source = (key: string) => `ConfigMap ${namespace}/${name} key ${key}`;
  const patch = async (data: Record<string, string | null>) => {
    await core.patchNamespacedConfigMap(
      // A null value removes the key (JSON merge patch); the API's type knows only strings.
      { name, namespace, body: { data: data as Record<string, string> } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  };
  const data = async () => (await core.readNamespacedConfigMap({ name, namespace })).data ?? {};
  return {
    description: `the ConfigMap ${namespace}/${name}`,
    async list() {
      const records: ReviewRecord[] = [];
      const problems: string[] = [];
      for (const [key, text] of Object.entries(await data())) {
        try {
          records.push(parseReviewRecord(text, source(key)));
        } catch (err) {
          problems.push((err as Error).message);
        }
      }
      return { records: newestFirst(records), problems };
    },
    async get(id) {
      if (!REVIEW_ID.test(id)) return undefined;
      const text = (await data())[`${id}.json`];
      return text === undefined ? undefined : parseReviewRecord(text, source(`${id}.json`));
    },
    put: (record) => patch({ [`${record.id}.json`]: JSON.stringify(record) }),
    async remove(ids) {
      if (ids.length > 0) await patch(Object.fromEntries(ids.map((id) => [`${id}.json`, null])));
    },
  };
}
