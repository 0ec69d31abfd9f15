import { KubeConfig } from "@kubernetes/client-node";
import { clusterDown, clusterUp, type ClusterRecord } from "../localcluster/controlPlane.js";
import { resolveControlPlane } from "../toolchain/kube.js";
import { tempDir } from "./tempDir.js";

export interface TestCluster {
  record: ClusterRecord;
  kubeconfig: KubeConfig;
  stop: () => Promise<void>;
}

/** A real control plane of its own for one test file; stop it in afterAll. */
export async function startCluster(name: string): Promise<TestCluster> {
  const dir = await tempDir(`cluster-${name}`);
  const tools = await resolveControlPlane();
  const record = await clusterUp(dir.path, tools, () => undefined, { timeoutMs: 90_000 });
  const kubeconfig = new KubeConfig();
  kubeconfig.loadFromFile(record.kubeconfig);
  return {
    record,
    kubeconfig,
    stop: async () => {
      await clusterDown(dir.path, () => undefined);
      await dir.remove();
    },
  };
}

/** Polls until `probe` returns a value, or fails after the timeout saying what it waited for. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
