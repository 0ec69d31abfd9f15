/**
 * The world as VPSie puts it on the wire: snake_case with some camelCase, prices as strings, flags as
 * 0/1, empty timestamps as null (../shared/reference/vpsie-api.md §3–§6), so clients meet the quirks.
 */
import type { EmulatorConfig } from "./config.js";
import type { Cluster, Group, WorkerNode } from "./world.js";

type Offer = EmulatorConfig["offers"][string][number];

function datacenterId(config: EmulatorConfig, dcIdentifier: string): number {
  return config.datacenters.find((d) => d.identifier === dcIdentifier)?.id ?? 0;
}

function offerOf(config: EmulatorConfig, cluster: Cluster, group: Group): Offer | undefined {
  return config.offers[cluster.dcIdentifier]?.find((o) => o.id === group.kubeSizeId);
}

function money(value: number): string {
  return value.toFixed(2);
}

export function clusterListItem(config: EmulatorConfig, cluster: Cluster) {
  const workers = cluster.nodes.filter((n) => n.nodeType === "slave");
  const sizes = workers.map((n) => {
    const group = cluster.groups.find((g) => g.id === n.groupId);
    return group ? offerOf(config, cluster, group) : undefined;
  });
  return {
    cluster_name: cluster.name,
    identifier: cluster.identifier,
    count: cluster.nodes.length,
    created_on: cluster.createdOn,
    updated_on: cluster.createdOn,
    created_by: cluster.account,
    nickname: cluster.name,
    cpu: sizes.reduce((sum, o) => sum + (o?.cpu ?? 0), 0),
    ram: sizes.reduce((sum, o) => sum + (o?.ramMb ?? 0), 0),
    traffic: "0",
    color: null,
    price: money(sizes.reduce((sum, o) => sum + (o?.priceMonthly ?? 0), 0)),
    managerCount: cluster.nodes.length - workers.length,
    slaveCount: String(workers.length),
    kube_version: cluster.kubeVersion,
  };
}

/** The SDK's node_type is an integer whose values no source names; these stand for them. */
export const EVIDENCE_NODE_TYPES = { master: 1, slave: 2 } as const;

export function clusterNode(config: EmulatorConfig, cluster: Cluster, node: WorkerNode) {
  const evidence = config.behaviour.profile === "evidence";
  // The evidence profile answers exactly the SDK's fields (vpsieinc/govpsie k8s.go Node): an integer
  // node_type, no identifier, no status.
  const sdkFields = {
    id: node.id,
    user_id: 1,
    hostname: node.hostname,
    default_ip: node.defaultIp,
    private_ip: node.privateIp,
    node_type: evidence ? EVIDENCE_NODE_TYPES[node.nodeType] : node.nodeType,
    node_id: String(node.id),
    datacenter_id: datacenterId(config, cluster.dcIdentifier),
    created_on: node.createdOn,
  };
  return evidence ? sdkFields : { ...sdkFields, identifier: node.identifier, status: node.status };
}

export function clusterDetail(config: EmulatorConfig, cluster: Cluster) {
  return {
    ...clusterListItem(config, cluster),
    nodes: cluster.nodes.map((n) => clusterNode(config, cluster, n)),
  };
}

export function nodeGroup(config: EmulatorConfig, cluster: Cluster, group: Group) {
  const offer = offerOf(config, cluster, group);
  return {
    id: group.id,
    group_name: group.name,
    identifier: group.identifier,
    boxsize_id: String(group.kubeSizeId),
    cpu: offer?.cpu ?? 0,
    ram: offer?.ramMb ?? 0,
    ssd: offer?.diskGb ?? 0,
    traffic: 0,
    nodes_count: cluster.nodes.filter((n) => n.groupId === group.id).length,
    is_active: 1,
    is_deleted: "0",
    user_id: 1,
    datacenter_id: datacenterId(config, cluster.dcIdentifier),
    project_id: 1,
    cluster_id: 1,
    dcIdentifier: cluster.dcIdentifier,
    notes: null,
    created_on: group.createdOn,
    last_updated: group.createdOn,
    dropped_on: null,
  };
}

export function offer(o: Offer) {
  return {
    id: o.id,
    name: o.name,
    cpu: o.cpu,
    ram: o.ramMb,
    disk: o.diskGb,
    price: money(o.priceMonthly),
    hourly_price: o.priceHourly,
  };
}

export function vm(config: EmulatorConfig, cluster: Cluster, node: WorkerNode) {
  const group = cluster.groups.find((g) => g.id === node.groupId);
  const size = group ? offerOf(config, cluster, group) : undefined;
  const running = node.status === "running";
  return {
    id: node.id,
    identifier: node.identifier,
    hostname: node.hostname,
    default_ip: node.defaultIp,
    default_ipv6: null,
    private_ip: node.privateIp,
    ram: size?.ramMb ?? 4096,
    cpu: size?.cpu ?? 2,
    ssd: size?.diskGb ?? 80,
    traffic: 0,
    boxsize_id: group?.kubeSizeId ?? null,
    datacenter_id: datacenterId(config, cluster.dcIdentifier),
    dcIdentifier: cluster.dcIdentifier,
    is_active: running ? 1 : 0,
    is_deleted: 0,
    is_suspended: 0,
    is_terminated: 0,
    is_locked: 0,
    power: running ? 1 : 0,
    state: running ? "running" : "provisioning",
    created_on: node.createdOn,
    last_updated: node.createdOn,
    dropped_on: null,
  };
}

export function datacenter(d: EmulatorConfig["datacenters"][number]) {
  return {
    dc_name: d.name,
    dc_image: null,
    state: d.country,
    country: d.country,
    is_active: 1,
    identifier: d.identifier,
    default_selected: 0,
    is_deleted: 0,
    is_fip_available: 1,
    is_bucket_available: 0,
    is_private: 0,
  };
}
