/** Kubernetes Events from the scaler, in cluster-autoscaler's style (reportingComponent vpsie-autoscaler). */
import type { CoreV1Api } from "@kubernetes/client-node";
import type { EventRecorder, InvolvedObject } from "../controller/ports.js";

export const COMPONENT = "vpsie-autoscaler";

export class KubernetesEvents implements EventRecorder {
  readonly #core: CoreV1Api;

  constructor(core: CoreV1Api) {
    this.#core = core;
  }

  async record(
    object: InvolvedObject,
    reason: string,
    message: string,
    type: "Normal" | "Warning",
  ): Promise<void> {
    const namespace = object.namespace ?? "default";
    const time = new Date();
    await this.#core.createNamespacedEvent({
      namespace,
      body: {
        metadata: { generateName: `${object.name}.`, namespace },
        involvedObject: {
          kind: object.kind,
          name: object.name,
          namespace: object.namespace,
          apiVersion: "v1",
        },
        reason,
        message,
        type,
        source: { component: COMPONENT },
        reportingComponent: COMPONENT,
        firstTimestamp: time,
        lastTimestamp: time,
        count: 1,
      },
    });
  }
}
