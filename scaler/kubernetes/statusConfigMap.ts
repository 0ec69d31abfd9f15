/** The status ConfigMap (in the style of cluster-autoscaler-status), with the time it was last written. */
import { ApiException, type CoreV1Api, type V1ConfigMap } from "@kubernetes/client-node";
import type { StatusWriter } from "../controller/ports.js";

export const LAST_UPDATED_ANNOTATION = "autoscaler.vpsie.com/last-updated";

export class StatusConfigMap implements StatusWriter {
  readonly #core: CoreV1Api;
  readonly #namespace: string;
  readonly #name: string;

  constructor(core: CoreV1Api, namespace: string, name: string) {
    this.#core = core;
    this.#namespace = namespace;
    this.#name = name;
  }

  get object(): { namespace: string; name: string } {
    return { namespace: this.#namespace, name: this.#name };
  }

  async write(status: string, extra: Record<string, string> = {}): Promise<void> {
    const body: V1ConfigMap = {
      metadata: {
        name: this.#name,
        namespace: this.#namespace,
        annotations: { [LAST_UPDATED_ANNOTATION]: new Date().toISOString() },
      },
      data: { status, ...extra },
    };
    try {
      await this.#core.replaceNamespacedConfigMap({ name: this.#name, namespace: this.#namespace, body });
    } catch (err) {
      if (!(err instanceof ApiException && err.code === 404)) throw err;
      await this.#core.createNamespacedConfigMap({ namespace: this.#namespace, body });
    }
  }
}
