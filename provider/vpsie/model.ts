/**
 * VPSie's wire shapes, parsed once at the boundary into camelCase domain types.
 *
 * The API mixes encodings (../shared/reference/vpsie-api.md §3.2): numbers may arrive as strings, flags
 * as 0/1, "1" or booleans, and timestamps as strings that may be empty or null. Unknown fields are
 * dropped; missing optional ones stay undefined.
 */
import { z } from "zod";

const num = z.union([z.number(), z.string().regex(/^-?\d+(\.\d+)?$/)]).transform(Number);
const optionalNum = z
  .union([num, z.null(), z.literal("")])
  .optional()
  .transform((v) => (v === null || v === "" ? undefined : v));
const flag = z
  .union([z.boolean(), z.number(), z.string()])
  .transform((v) => v === true || v === 1 || v === "1");
const optionalText = z
  .union([z.string(), z.number(), z.null()])
  .optional()
  .transform((v) => (v === null || v === undefined || v === "" ? undefined : String(v)));
const text = z.union([z.string(), z.number()]).transform(String);

export const Envelope = z.object({
  error: z.union([z.boolean(), z.number(), z.string()]).optional(),
  code: optionalNum,
  message: optionalText,
  data: z.unknown().optional(),
  /** A number, or (vpsie/govpsie services_test.go) an array of `{count}`: not read, never refused. */
  total: z.unknown().optional(),
});
export type Envelope = z.output<typeof Envelope>;

const clusterShape = {
  identifier: text,
  cluster_name: text,
  nickname: optionalText,
  count: optionalNum,
  managerCount: optionalNum,
  slaveCount: optionalNum,
  cpu: optionalNum,
  ram: optionalNum,
  price: optionalNum,
  kube_version: optionalText,
  created_on: optionalText,
};

function toCluster(c: z.output<z.ZodObject<typeof clusterShape>>) {
  return {
    identifier: c.identifier,
    name: c.cluster_name,
    nickname: c.nickname,
    nodeCount: c.count ?? 0,
    managerCount: c.managerCount,
    workerCount: c.slaveCount,
    cpu: c.cpu,
    ramMb: c.ram,
    priceMonthly: c.price,
    kubeVersion: c.kube_version,
    createdOn: c.created_on,
  };
}

export const ClusterWire = z.object(clusterShape).transform(toCluster);
export type Cluster = z.output<typeof ClusterWire>;

/**
 * A node of a cluster. The SDK's shape (vpsieinc/govpsie k8s.go `Node`) has no `identifier` and an
 * integer `node_type`; only the predecessor expects a uuid and "master"/"slave". Both are read; which
 * node is which is decided in workers.ts, and hostnames keep VPSie's case (compare them with sameHost).
 */
export const ClusterNodeWire = z
  .object({
    id: optionalNum,
    identifier: optionalText,
    hostname: text,
    default_ip: optionalText,
    ip: optionalText,
    private_ip: optionalText,
    node_type: optionalText,
    node_id: optionalText,
    role: optionalText,
    status: optionalText,
    datacenter_id: optionalNum,
    created_on: optionalText,
  })
  .transform((n) => ({
    id: n.id,
    identifier: n.identifier,
    nodeId: n.node_id,
    hostname: n.hostname,
    defaultIp: n.default_ip ?? n.ip,
    privateIp: n.private_ip,
    /** As VPSie sent it: "master", "slave", or a number as text. */
    nodeType: n.node_type ?? n.role,
    status: n.status,
    datacenterId: n.datacenter_id,
    createdOn: n.created_on,
  }));
export type ClusterNode = z.output<typeof ClusterNodeWire>;

/** Cluster detail: clients have seen the nodes as `nodes[]`, and as `slaves[]` plus `masters[]`. */
export const ClusterDetailWire = z
  .object({
    ...clusterShape,
    nodes: z.array(ClusterNodeWire).optional(),
    slaves: z.array(ClusterNodeWire).optional(),
    masters: z.array(ClusterNodeWire).optional(),
  })
  .transform((detail) => ({
    ...toCluster(detail),
    nodes: [...(detail.nodes ?? []), ...(detail.slaves ?? []), ...(detail.masters ?? [])],
  }));
export type ClusterDetail = z.output<typeof ClusterDetailWire>;

export const NodeGroupWire = z
  .object({
    id: num,
    identifier: text,
    group_name: text,
    boxsize_id: num,
    cpu: optionalNum,
    ram: optionalNum,
    ssd: optionalNum,
    traffic: optionalNum,
    nodes_count: optionalNum,
    is_active: flag.optional(),
    is_deleted: flag.optional(),
    dcIdentifier: optionalText,
    cluster_id: optionalNum,
    datacenter_id: optionalNum,
    notes: optionalText,
    created_on: optionalText,
  })
  .transform((g) => ({
    id: g.id,
    identifier: g.identifier,
    name: g.group_name,
    kubeSizeId: g.boxsize_id,
    cpu: g.cpu,
    ramMb: g.ram,
    diskGb: g.ssd,
    nodeCount: g.nodes_count ?? 0,
    active: g.is_active ?? true,
    deleted: g.is_deleted ?? false,
    datacenterIdentifier: g.dcIdentifier,
    clusterId: g.cluster_id,
    createdOn: g.created_on,
  }));
export type NodeGroup = z.output<typeof NodeGroupWire>;

export const OfferWire = z
  .object({
    id: num,
    name: text,
    cpu: num,
    ram: num,
    disk: optionalNum,
    price: optionalNum,
    hourly_price: optionalNum,
  })
  .transform((o) => ({
    id: o.id,
    name: o.name,
    cpu: o.cpu,
    ramMb: o.ram,
    diskGb: o.disk,
    priceMonthly: o.price,
    priceHourly: o.hourly_price,
  }));
export type Offer = z.output<typeof OfferWire>;

/** The add-worker answer: bare `true`, or the new node. */
export const AddedWorkerWire = z.union([
  z.literal(true).transform(() => undefined),
  z
    .object({ id: optionalNum, identifier: optionalText, hostname: optionalText, status: optionalText })
    .transform((n) => ({ id: n.id, identifier: n.identifier, hostname: n.hostname, status: n.status })),
]);
export type AddedWorker = NonNullable<z.output<typeof AddedWorkerWire>>;

export const VmWire = z
  .object({
    id: optionalNum,
    identifier: text,
    hostname: text,
    default_ip: optionalText,
    private_ip: optionalText,
    cpu: optionalNum,
    ram: optionalNum,
    ssd: optionalNum,
    boxsize_id: optionalNum,
    dcIdentifier: optionalText,
    is_active: flag.optional(),
    is_deleted: flag.optional(),
    is_suspended: flag.optional(),
    is_locked: flag.optional(),
    power: flag.optional(),
    state: optionalText,
    created_on: optionalText,
  })
  .transform((v) => ({
    id: v.id,
    identifier: v.identifier,
    hostname: v.hostname,
    defaultIp: v.default_ip,
    privateIp: v.private_ip,
    cpu: v.cpu,
    ramMb: v.ram,
    ssdGb: v.ssd,
    kubeSizeId: v.boxsize_id,
    datacenterIdentifier: v.dcIdentifier,
    active: v.is_active ?? false,
    deleted: v.is_deleted ?? false,
    suspended: v.is_suspended ?? false,
    locked: v.is_locked ?? false,
    poweredOn: v.power,
    state: v.state,
    createdOn: v.created_on,
  }));
export type Vm = z.output<typeof VmWire>;

export const DatacenterWire = z
  .object({
    identifier: text,
    dc_name: text,
    country: optionalText,
    state: optionalText,
    is_active: flag.optional(),
    is_deleted: flag.optional(),
  })
  .transform((d) => ({
    identifier: d.identifier,
    name: d.dc_name,
    country: d.country,
    region: d.state,
    active: d.is_active ?? true,
    deleted: d.is_deleted ?? false,
  }));
export type Datacenter = z.output<typeof DatacenterWire>;

const TokenPart = z.object({ token: z.string().min(1), expires: optionalText });

/** Token exchange: the SDK's `{token: {access}}`, or the predecessor's `{accessToken}`. */
export const TokenResponseWire = z
  .union([
    z.object({ token: z.object({ access: TokenPart }) }).transform((r) => r.token.access),
    z.object({ accessToken: TokenPart }).transform((r) => r.accessToken),
    z
      .object({ data: z.object({ token: z.object({ access: TokenPart }) }) })
      .transform((r) => r.data.token.access),
  ])
  .transform((access) => ({ token: access.token, expires: access.expires }));
export type TokenResponse = z.output<typeof TokenResponseWire>;
