/**
 * What people see in the cluster: Kubernetes Events on pods (TriggeredScaleUp, NotTriggerScaleUp) and
 * nodes (ScaleDown, ScaleDownBlocked, ScaleDownFailed, ScaleDownDone), deduplicated over 5 minutes as
 * cluster-autoscaler does, and a status ConfigMap in the style of cluster-autoscaler-status.
 */
import { type CoreV1Api, type V1ConfigMap } from "@kubernetes/client-node";
import type { Plan } from "../decision/plan.js";
import type { NodeGroup } from "../decision/types.js";

const DEDUP_MS = 5 * 60_000;
const COMPONENT = "vpsie-autoscaler";

export interface InvolvedObject {
  kind: "Pod" | "Node";
  name: string;
  namespace?: string;
}

export class Reporter {
  readonly #core: CoreV1Api;
  readonly #statusNamespace: string;
  readonly #statusName: string;
  readonly #log: (m: string) => void;
  readonly #recent = new Map<string, number>();

  constructor(
    core: CoreV1Api,
    options: { statusNamespace: string; statusName: string; log: (m: string) => void },
  ) {
    this.#core = core;
    this.#statusNamespace = options.statusNamespace;
    this.#statusName = options.statusName;
    this.#log = options.log;
  }

  async event(
    object: InvolvedObject,
    reason: string,
    message: string,
    type: "Normal" | "Warning" = "Normal",
  ): Promise<void> {
    const key = `${object.kind}/${object.namespace ?? ""}/${object.name}/${reason}/${message}`;
    const now = Date.now();
    if (now - (this.#recent.get(key) ?? 0) < DEDUP_MS) return;
    this.#recent.set(key, now);
    for (const [k, at] of this.#recent) if (now - at > DEDUP_MS) this.#recent.delete(k);
    const namespace = object.namespace ?? "default";
    const time = new Date();
    try {
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
    } catch (err) {
      this.#log(
        `could not record event ${reason} on ${object.kind} ${object.name}: ${(err as Error).message}`,
      );
    }
  }

  /** This plan's events: pods that triggered a scale-up or cannot be helped (and why), nodes kept from removal (and why). */
  async planEvents(plan: Plan): Promise<void> {
    for (const up of plan.scaleUp) {
      for (const pod of up.pods) {
        const [namespace, name] = pod.split("/") as [string, string];
        await this.event(
          { kind: "Pod", namespace, name },
          "TriggeredScaleUp",
          `pod triggered scale-up: group ${up.group}, sizes (current/new): ${up.from}/${up.to}`,
        );
      }
    }
    // Nodes that would go but for something a person can change (a budget, an annotation, the minimum).
    for (const node of plan.nodes) {
      if (
        node.removable ||
        !node.group ||
        /^(requests are|not in a node group|node group \S+ is not one|not simulated)/.test(node.reason)
      )
        continue;
      await this.event({ kind: "Node", name: node.node }, "ScaleDownBlocked", node.reason);
    }
    for (const none of plan.noScaleUp) {
      const [namespace, name] = none.pod.split("/") as [string, string];
      const why = Object.entries(none.reasons)
        .map(([group, reason]) => `${group}: ${reason}`)
        .join("; ");
      await this.event(
        { kind: "Pod", namespace, name },
        "NotTriggerScaleUp",
        `pod didn't trigger scale-up: ${why}`,
      );
    }
  }

  /** Writes the status ConfigMap: health, and per node group its limits, size and what is under way. */
  async status(plan: Plan, groups: NodeGroup[], sizes: Map<string, number>): Promise<void> {
    const lines = [
      `Cluster-wide:`,
      `  Health: ${plan.halted ? `Unhealthy (${plan.halted})` : "Healthy"}`,
      `  ScaleUp: ${plan.scaleUp.length ? plan.scaleUp.map((u) => `${u.group} ${u.from}→${u.to}`).join(", ") : "NoActivity"}`,
      `  ScaleDown: ${plan.scaleDown.length ? plan.scaleDown.map((d) => `${d.node} (${d.group})`).join(", ") : plan.scaleDownPaused ? `NoCandidates (${plan.scaleDownPaused})` : "NoCandidates"}`,
      `  PendingPodsWithoutScaleUp: ${plan.noScaleUp.length}`,
      ``,
      `NodeGroups:`,
      ...groups.flatMap((g) => {
        const backoff = plan.timers.backoff[g.name];
        return [
          `  Name: ${g.name}`,
          `    Size: current=${sizes.get(g.name) ?? 0} upcoming=${g.upcoming.length} min=${g.minNodes} max=${g.maxNodes}`,
          `    Backoff: ${backoff && backoff.until > Date.now() ? `until ${new Date(backoff.until).toISOString()} (${backoff.reason})` : "none"}`,
        ];
      }),
    ];
    const body: V1ConfigMap = {
      metadata: {
        name: this.#statusName,
        namespace: this.#statusNamespace,
        annotations: { "autoscaler.vpsie.com/last-updated": new Date().toISOString() },
      },
      data: { status: `${lines.join("\n")}\n` },
    };
    try {
      await this.#core.replaceNamespacedConfigMap({
        name: this.#statusName,
        namespace: this.#statusNamespace,
        body,
      });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) {
        this.#log(`could not write the status ConfigMap: ${(err as Error).message}`);
        return;
      }
      await this.#core
        .createNamespacedConfigMap({ namespace: this.#statusNamespace, body })
        .catch((e: unknown) => this.#log(`could not create the status ConfigMap: ${(e as Error).message}`));
    }
  }
}
