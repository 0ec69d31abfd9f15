/**
 * Kubernetes objects (as the API and `kubectl get -o json` give them) into the decision core's plain
 * data, checked once here. Errors name the object and the field.
 */
import { z } from "zod";
import { parseCpu, parseQuantity, QuantityError } from "../units/quantity.js";
import { NO_RESOURCES, addResources } from "./predicates.js";
import type { Node, Pod, PodDisruptionBudget, Resources, Snapshot } from "./types.js";

export class SnapshotError extends Error {
  override name = "SnapshotError";
}

const Metadata = z.object({
  name: z.string(),
  namespace: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().nullish(),
  ownerReferences: z
    .array(z.object({ kind: z.string(), name: z.string(), controller: z.boolean().optional() }))
    .optional(),
});

const Quantities = z.record(z.string(), z.union([z.string(), z.number()])).optional();
const Requirement = z.object({
  key: z.string(),
  operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]),
  values: z.array(z.string()).optional(),
});
const Selector = z.object({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z.array(Requirement).optional(),
});
const TaintSchema = z.object({
  key: z.string(),
  value: z.string().optional(),
  effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
});

const Container = z.object({
  name: z.string(),
  resources: z.object({ requests: Quantities }).optional(),
  ports: z
    .array(
      z.object({
        hostPort: z.number().optional(),
        protocol: z.string().optional(),
        hostIP: z.string().optional(),
      }),
    )
    .optional(),
  restartPolicy: z.string().optional(),
});

const NodeObject = z.object({
  kind: z.literal("Node"),
  metadata: Metadata,
  spec: z
    .object({ unschedulable: z.boolean().optional(), taints: z.array(TaintSchema).optional() })
    .optional(),
  status: z
    .object({
      allocatable: Quantities,
      capacity: Quantities,
      conditions: z.array(z.object({ type: z.string(), status: z.string() })).optional(),
    })
    .optional(),
});

const PodObject = z.object({
  kind: z.literal("Pod"),
  metadata: Metadata,
  spec: z.object({
    nodeName: z.string().optional(),
    containers: z.array(Container),
    initContainers: z.array(Container).optional(),
    overhead: Quantities,
    nodeSelector: z.record(z.string(), z.string()).optional(),
    tolerations: z
      .array(
        z.object({
          key: z.string().optional(),
          operator: z.enum(["Exists", "Equal"]).optional(),
          value: z.string().optional(),
          effect: z.string().optional(),
        }),
      )
      .optional(),
    affinity: z
      .object({
        nodeAffinity: z
          .object({
            requiredDuringSchedulingIgnoredDuringExecution: z
              .object({
                nodeSelectorTerms: z.array(
                  z.object({
                    matchExpressions: z.array(Requirement).optional(),
                    matchFields: z.array(Requirement).optional(),
                  }),
                ),
              })
              .optional(),
          })
          .optional(),
        podAntiAffinity: z
          .object({
            requiredDuringSchedulingIgnoredDuringExecution: z
              .array(
                z.object({
                  labelSelector: Selector.optional(),
                  namespaces: z.array(z.string()).optional(),
                  topologyKey: z.string(),
                }),
              )
              .optional(),
          })
          .optional(),
      })
      .optional(),
    topologySpreadConstraints: z
      .array(
        z.object({
          maxSkew: z.number().int().positive(),
          topologyKey: z.string(),
          whenUnsatisfiable: z.enum(["DoNotSchedule", "ScheduleAnyway"]),
          labelSelector: Selector.optional(),
        }),
      )
      .optional(),
    priority: z.number().int().optional(),
    volumes: z
      .array(
        z.object({
          name: z.string(),
          hostPath: z.unknown().optional(),
          emptyDir: z.object({ medium: z.string().optional() }).nullish(),
        }),
      )
      .optional(),
  }),
  status: z
    .object({
      phase: z.string().optional(),
      startTime: z.string().optional(),
      conditions: z
        .array(
          z.object({
            type: z.string(),
            status: z.string(),
            reason: z.string().optional(),
            lastTransitionTime: z.string().nullish(),
          }),
        )
        .optional(),
    })
    .optional(),
});

const PdbObject = z.object({
  kind: z.literal("PodDisruptionBudget"),
  metadata: Metadata,
  spec: z.object({ selector: Selector.optional() }),
  status: z.object({ disruptionsAllowed: z.number().int().optional() }).optional(),
});

function time(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? undefined : parsed;
}

function resources(
  quantities: Record<string, string | number> | undefined,
  field: string,
  podCount = 0,
): Resources {
  const q = quantities ?? {};
  const read = (name: string, parse: (v: string | number) => number) => {
    const value = q[name];
    if (value === undefined) return 0;
    try {
      return parse(value);
    } catch (err) {
      throw new SnapshotError(`${field}.${name}: ${(err as QuantityError).message}`);
    }
  };
  return {
    cpu: read("cpu", parseCpu),
    memory: read("memory", parseQuantity),
    ephemeralStorage: read("ephemeral-storage", parseQuantity),
    pods: q.pods === undefined ? podCount : read("pods", parseQuantity),
  };
}

function maxResources(a: Resources, b: Resources): Resources {
  return {
    cpu: Math.max(a.cpu, b.cpu),
    memory: Math.max(a.memory, b.memory),
    ephemeralStorage: Math.max(a.ephemeralStorage, b.ephemeralStorage),
    pods: Math.max(a.pods, b.pods),
  };
}

/**
 * What the scheduler reserves for a pod: the larger of its containers' sum and each init container
 * (plus the restartable "sidecar" init containers started before it), then the pod overhead.
 */
export function podRequests(spec: z.infer<typeof PodObject>["spec"], where: string): Resources {
  let containers = NO_RESOURCES;
  spec.containers.forEach((c, i) => {
    containers = addResources(
      containers,
      resources(c.resources?.requests, `${where}.spec.containers[${i}].resources.requests`),
    );
  });
  let sidecars = NO_RESOURCES;
  let initPeak = NO_RESOURCES;
  (spec.initContainers ?? []).forEach((c, i) => {
    const own = resources(c.resources?.requests, `${where}.spec.initContainers[${i}].resources.requests`);
    if (c.restartPolicy === "Always") {
      sidecars = addResources(sidecars, own);
      initPeak = maxResources(initPeak, sidecars);
    } else {
      initPeak = maxResources(initPeak, addResources(own, sidecars));
    }
  });
  const total = maxResources(addResources(containers, sidecars), initPeak);
  return { ...addResources(total, resources(spec.overhead, `${where}.spec.overhead`)), pods: 1 };
}

function parsed<T>(schema: z.ZodType<T>, item: unknown, where: string): T {
  const result = schema.safeParse(item);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new SnapshotError(`${where}.${issue?.path.join(".") ?? ""}: ${issue?.message}`);
}

function describe(item: unknown, index: number): string {
  const meta = (item as { kind?: string; metadata?: { namespace?: string; name?: string } }) ?? {};
  const name = [meta.metadata?.namespace, meta.metadata?.name].filter(Boolean).join("/");
  return `items[${index}] (${meta.kind ?? "unknown kind"}${name ? ` ${name}` : ""})`;
}

/**
 * Taints the node lifecycle controller keeps on a node until it has seen it Ready. cluster-autoscaler's
 * readiness (utils/kubernetes/ready.go) counts a node carrying one as not ready: between kubelet
 * reporting Ready and the taint's removal, pods still cannot land there, and a planner that saw a
 * Ready but tainted node added another node for the same pending pods.
 */
const NOT_READY_TAINTS = new Set(["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]);

export function nodeFromKubernetes(item: unknown, where: string): Node {
  const n = parsed(NodeObject, item, where);
  const quantities = n.status?.allocatable ?? n.status?.capacity;
  const taints = n.spec?.taints ?? [];
  return {
    name: n.metadata.name,
    labels: n.metadata.labels ?? {},
    annotations: n.metadata.annotations ?? {},
    taints,
    unschedulable: n.spec?.unschedulable ?? false,
    ready:
      (n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false) &&
      !taints.some((t) => NOT_READY_TAINTS.has(t.key)),
    allocatable: resources(quantities, `${where}.status.allocatable`),
    createdAt: time(n.metadata.creationTimestamp) ?? 0,
  };
}

export function podFromKubernetes(item: unknown, where: string): Pod {
  const p = parsed(PodObject, item, where);
  const controller = p.metadata.ownerReferences?.find((o) => o.controller);
  const annotations = p.metadata.annotations ?? {};
  const unschedulable = p.status?.conditions?.find(
    (c) => c.type === "PodScheduled" && c.status === "False" && c.reason === "Unschedulable",
  );
  const namespace = p.metadata.namespace ?? "default";
  return {
    namespace,
    name: p.metadata.name,
    labels: p.metadata.labels ?? {},
    annotations,
    nodeName: p.spec.nodeName || undefined,
    requests: podRequests(p.spec, where),
    hostPorts: p.spec.containers.flatMap((c) =>
      (c.ports ?? []).flatMap((port) =>
        port.hostPort
          ? [{ port: port.hostPort, protocol: port.protocol ?? "TCP", hostIP: port.hostIP ?? "0.0.0.0" }]
          : [],
      ),
    ),
    nodeSelector: p.spec.nodeSelector ?? {},
    nodeAffinity:
      p.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms,
    tolerations: p.spec.tolerations ?? [],
    antiAffinity: (
      p.spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []
    ).map((t) => ({
      labelSelector: t.labelSelector,
      namespaces: t.namespaces ?? [],
      topologyKey: t.topologyKey,
    })),
    topologySpread: (p.spec.topologySpreadConstraints ?? []).map((c) => ({
      ...c,
      labelSelector: c.labelSelector,
    })),
    controller: controller ? { kind: controller.kind, name: controller.name } : undefined,
    isDaemonSet: controller?.kind === "DaemonSet",
    isMirror: "kubernetes.io/config.mirror" in annotations,
    priority: p.spec.priority ?? 0,
    localVolumes: (p.spec.volumes ?? [])
      .filter(
        (v) =>
          v.hostPath !== undefined ||
          (v.emptyDir !== undefined && v.emptyDir !== null && v.emptyDir.medium !== "Memory"),
      )
      .map((v) => v.name),
    createdAt: time(p.metadata.creationTimestamp) ?? 0,
    startedAt: time(p.status?.startTime),
    unschedulableSince: unschedulable
      ? (time(unschedulable.lastTransitionTime) ?? time(p.metadata.creationTimestamp) ?? 0)
      : undefined,
    finished: p.status?.phase === "Succeeded" || p.status?.phase === "Failed",
    terminating: Boolean(p.metadata.deletionTimestamp),
  };
}

export function pdbFromKubernetes(item: unknown, where: string): PodDisruptionBudget {
  const b = parsed(PdbObject, item, where);
  return {
    namespace: b.metadata.namespace ?? "default",
    name: b.metadata.name,
    selector: {
      matchLabels: b.spec.selector?.matchLabels,
      matchExpressions: b.spec.selector?.matchExpressions,
    },
    disruptionsAllowed: b.status?.disruptionsAllowed ?? 0,
  };
}

/** The snapshot in `kubectl get nodes,pods,pdb -A -o json` (a v1 List); other kinds in it are ignored. */
export function snapshotFromList(list: unknown): Snapshot {
  const top = list as { kind?: unknown; items?: unknown };
  if (typeof list !== "object" || list === null || top.kind !== "List" || !Array.isArray(top.items)) {
    const kind = typeof top?.kind === "string" ? top.kind : typeof list;
    throw new SnapshotError(
      `kind: expected a v1 List with items, as \`kubectl get nodes,pods,pdb -A -o json\` prints, but got ${kind}`,
    );
  }
  const snapshot: Snapshot = { nodes: [], pods: [], pdbs: [] };
  top.items.forEach((item: unknown, index) => {
    const where = describe(item, index);
    const kind = (item as { kind?: string })?.kind;
    if (kind === "Node") snapshot.nodes.push(nodeFromKubernetes(item, where));
    else if (kind === "Pod") snapshot.pods.push(podFromKubernetes(item, where));
    else if (kind === "PodDisruptionBudget") snapshot.pdbs.push(pdbFromKubernetes(item, where));
  });
  return snapshot;
}
