/**
 * `vpsie-autoscaler doctor`: a read-only preflight against a real account and cluster. It checks what
 * `run` needs (credentials, each managed group's cluster and size, the Kubernetes permissions, the
 * state backend and passphrase, the tools), and reports which of VPSie's answer shapes this account
 * shows where the public sources disagree (../shared/reference/turn2-findings.md §2): whether nodes
 * carry an identifier, the form of node_type, the case of hostnames, which VM prefix answers, and how
 * the token exchange writes the expiry. Nothing is created, changed or deleted.
 */
import { AuthorizationV1Api, type KubeConfig } from "@kubernetes/client-node";
import { VpsieClient } from "../../provider/vpsie/client.js";
import type { Credentials } from "../../provider/vpsie/credentials.js";
import { roleOf } from "../../provider/vpsie/workers.js";
import type { NodeGroupConfig } from "../../stacks/contract.js";

export type FindingStatus = "ok" | "info" | "warning" | "blocking";

export interface Finding {
  area: "credentials" | "node groups" | "api shape" | "kubernetes" | "state" | "tools";
  check: string;
  status: FindingStatus;
  detail: string;
}

/**
 * The API calls `run` makes, as SelfSubjectAccessReviews (what deploy/base's RBAC grants): in its
 * namespace only the objects the install ships, by name (their default names).
 */
export const RUN_PERMISSIONS: Array<{
  verb: string;
  resource: string;
  group?: string;
  subresource?: string;
  namespaced?: boolean;
  name?: string;
}> = [
  ...["get", "list", "watch", "update", "delete"].map((verb) => ({ verb, resource: "nodes" })),
  ...["get", "list", "watch"].map((verb) => ({ verb, resource: "pods" })),
  { verb: "create", resource: "pods", subresource: "eviction" },
  ...["list", "watch"].map((verb) => ({ verb, resource: "poddisruptionbudgets", group: "policy" })),
  { verb: "create", resource: "events" },
  ...["get", "update"].map((verb) => ({
    verb,
    resource: "leases",
    group: "coordination.k8s.io",
    namespaced: true,
    name: "vpsie-autoscaler",
  })),
  ...["vpsie-autoscaler-status", "vpsie-autoscaler-stacks"].flatMap((name) =>
    ["get", "update"].map((verb) => ({ verb, resource: "configmaps", namespaced: true, name })),
  ),
  ...["get", "patch"].map((verb) => ({
    verb,
    resource: "configmaps",
    namespaced: true,
    name: "vpsie-autoscaler-intents",
  })),
];

function problem(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Credentials, the managed groups, and the shapes this account's API answers in. */
export async function vpsieFindings(options: {
  credentials: Credentials;
  apiUrl: string;
  groups: NodeGroupConfig[];
}): Promise<Finding[]> {
  const findings: Finding[] = [];
  const client = new VpsieClient({
    credentials: options.credentials,
    apiUrl: options.apiUrl,
    maxAttempts: 2,
  });
  let clusters;
  try {
    clusters = await client.listClusters();
    findings.push({
      area: "credentials",
      check: `${options.credentials.kind === "token" ? "access token" : "client credentials"} at ${options.apiUrl}`,
      status: "ok",
      detail: `${clusters.length} Kubernetes cluster(s) visible`,
    });
  } catch (err) {
    findings.push({
      area: "credentials",
      check: `sign in at ${options.apiUrl}`,
      status: "blocking",
      detail: problem(err),
    });
    return findings;
  }
  if (options.credentials.kind === "client") {
    findings.push({
      area: "api shape",
      check: "token expiry format",
      status:
        client.tokenExpiryFormat === "missing" || client.tokenExpiryFormat === "unparseable"
          ? "warning"
          : "info",
      detail: `${client.tokenExpiryFormat ?? "unknown"} (an unreadable expiry is taken as one hour)`,
    });
  }
  for (const prefix of ["/api/v2/vm", "/apps/v2/vm"]) {
    const vms = await new VpsieClient({
      credentials: options.credentials,
      apiUrl: options.apiUrl,
      vmPrefix: prefix,
      maxAttempts: 1,
    })
      .listVms()
      .then((list) => `answers (${list.length} VMs)`)
      .catch((err: unknown) => `does not answer: ${problem(err)}`);
    findings.push({
      area: "api shape",
      check: `VM list at ${prefix}`,
      status: prefix === "/api/v2/vm" && !vms.startsWith("answers") ? "blocking" : "info",
      detail: vms,
    });
  }

  for (const cluster of new Set(options.groups.map((g) => g.cluster))) {
    const detail = await client.getCluster(cluster).catch((err: unknown) => err as Error);
    if (!detail || detail instanceof Error) {
      findings.push({
        area: "node groups",
        check: `cluster ${cluster}`,
        status: "blocking",
        detail: detail
          ? problem(detail)
          : "VPSie knows no such cluster: see `vpsie-autoscaler vpsie clusters`",
      });
      continue;
    }
    findings.push({
      area: "node groups",
      check: `cluster ${cluster}`,
      status: "ok",
      detail: `${detail.name}, ${detail.nodes.length} node(s)`,
    });
    const nodes = detail.nodes;
    const withIdentifier = nodes.filter((n) => n.identifier).length;
    findings.push({
      area: "api shape",
      check: "nodes[].identifier",
      status: "info",
      detail:
        nodes.length === 0
          ? "no nodes to tell"
          : `${withIdentifier} of ${nodes.length} node(s) carry one${withIdentifier < nodes.length ? " (the VM list by hostname stands in)" : ""}`,
    });
    const types = [...new Set(nodes.map((n) => `${n.nodeType ?? "(none)"} → ${roleOf(n)}`))];
    findings.push({
      area: "api shape",
      check: "node_type values (→ as read)",
      status: nodes.some((n) => roleOf(n) === "unknown") ? "warning" : "info",
      detail: types.join(", ") || "no nodes to tell",
    });
    const mixed = nodes.filter((n) => n.hostname !== n.hostname.toLowerCase()).length;
    findings.push({
      area: "api shape",
      check: "hostname case",
      status: "info",
      detail: `${mixed} of ${nodes.length} hostname(s) in mixed case (matched to Kubernetes Nodes without case)`,
    });
    const vpsieGroups = await client.listNodeGroups(cluster).catch(() => []);
    for (const group of options.groups.filter((g) => g.cluster === cluster)) {
      const found = vpsieGroups.find((g) => g.name === group.name);
      const sameSize = vpsieGroups.find((g) => g.kubeSizeId === group.kubeSizeId);
      findings.push({
        area: "node groups",
        check: `group ${group.name} (size ${group.kubeSizeId})`,
        status:
          found && found.kubeSizeId !== group.kubeSizeId
            ? "blocking"
            : sameSize && sameSize.name !== group.name
              ? "blocking"
              : "ok",
        detail: found
          ? found.kubeSizeId === group.kubeSizeId
            ? `exists at VPSie (id ${found.id}, ${found.nodeCount} node(s))`
            : `exists at VPSie with size ${found.kubeSizeId}, not ${group.kubeSizeId}`
          : sameSize && sameSize.name !== group.name
            ? `VPSie's group ${sameSize.name} has size ${group.kubeSizeId} already: a cluster allows one group per size`
            : "not created yet: the first scale-up creates it",
      });
    }
  }
  return findings;
}

/** Whether the scaler's account may make each call `run` makes. */
export async function kubernetesFindings(kubeconfig: KubeConfig, namespace: string): Promise<Finding[]> {
  const api = kubeconfig.makeApiClient(AuthorizationV1Api);
  const findings: Finding[] = [];
  for (const p of RUN_PERMISSIONS) {
    const what = `${p.verb} ${p.group ? `${p.group}/` : ""}${p.resource}${p.subresource ? `/${p.subresource}` : ""}${p.name ? ` ${p.name}` : ""}${p.namespaced ? ` in ${namespace}` : ""}`;
    try {
      const review = await api.createSelfSubjectAccessReview({
        body: {
          spec: {
            resourceAttributes: {
              verb: p.verb,
              resource: p.resource,
              group: p.group ?? "",
              subresource: p.subresource,
              namespace: p.namespaced ? namespace : undefined,
              name: p.name,
            },
          },
        },
      });
      findings.push({
        area: "kubernetes",
        check: what,
        status: review.status?.allowed ? "ok" : "blocking",
        detail: review.status?.allowed
          ? "allowed"
          : `denied${review.status?.reason ? `: ${review.status.reason}` : ""}`,
      });
    } catch (err) {
      findings.push({ area: "kubernetes", check: what, status: "blocking", detail: problem(err) });
    }
  }
  return findings;
}
