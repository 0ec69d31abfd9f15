/**
 * Which node of a VPSie cluster is which, with or without the fields the predecessor expected.
 *
 * The evidence (../shared/reference/turn2-findings.md §2) differs from what our first client assumed:
 * the SDK's node has no `identifier`, `node_type` is an integer whose values no source names, and
 * hostnames come in mixed case while Kubernetes Node names are lower case. So a worker is identified by
 * whatever its listing carries (uuid, numeric id, node_id) and by its hostname compared without case,
 * its uuid and size come from the VM list when the node listing lacks them, and a node is only ever
 * treated as a worker when something positively says so: never a master by accident.
 */
import type { ClusterNode, Vm } from "./model.js";

export type NodeRole = "master" | "worker" | "unknown";

/** A node of a cluster, with what is known of it from the node listing and the VM list. */
export interface Worker {
  /** Numeric id from the node listing. */
  id?: number;
  nodeId?: string;
  /** The VM's uuid: from the node listing when VPSie sends it, else from the VM of the same hostname. */
  identifier?: string;
  hostname: string;
  role: NodeRole;
  /** As VPSie sent it, for `doctor`. */
  nodeType?: string;
  /** The Kubernetes size of its VM (one group per size in a cluster), when the VM list says it. */
  kubeSizeId?: number;
  status?: string;
  createdOn?: string;
  defaultIp?: string;
  privateIp?: string;
}

/** What a resource remembers of its worker; any one field that matches identifies it. */
export interface WorkerRef {
  identifier?: string;
  id?: number;
  hostname?: string;
}

/** Hostnames compare without case: VPSie quotes `HEL-Kubernetes-…`, Kubernetes names it `hel-kubernetes-…`. */
export function sameHost(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
}

const MASTER_WORDS = /^(master|manager|control-?plane)$/i;
const WORKER_WORDS = /^(slave|worker)$/i;

/**
 * A node's role: from a node_type word when VPSie sends one; for a numeric node_type (whose meaning no
 * source documents) from the hostname VPSie gives masters (`…-master-…`) and workers (`…-slave-…`).
 */
export function roleOf(node: Pick<ClusterNode, "nodeType" | "hostname">): NodeRole {
  const type = node.nodeType?.trim() ?? "";
  if (MASTER_WORDS.test(type)) return "master";
  if (WORKER_WORDS.test(type)) return "worker";
  if (/master/i.test(node.hostname)) return "master";
  if (/slave|worker/i.test(node.hostname)) return "worker";
  return "unknown";
}

/** The nodes of a cluster joined with the VM list by hostname (case-insensitive). */
export function workersOf(nodes: ClusterNode[], vms: Vm[]): Worker[] {
  const byHost = new Map(vms.map((vm) => [vm.hostname.toLowerCase(), vm]));
  return nodes.map((node) => {
    const vm = byHost.get(node.hostname.toLowerCase());
    return {
      id: node.id,
      nodeId: node.nodeId,
      identifier: node.identifier ?? vm?.identifier,
      hostname: node.hostname,
      role: roleOf(node),
      nodeType: node.nodeType,
      kubeSizeId: vm?.kubeSizeId,
      status: node.status,
      createdOn: node.createdOn,
      defaultIp: node.defaultIp ?? vm?.defaultIp,
      privateIp: node.privateIp ?? vm?.privateIp,
    };
  });
}

/** Whether `worker` is the one `ref` remembers: the same uuid, numeric id or hostname. */
export function isWorker(ref: WorkerRef, worker: Worker): boolean {
  if (ref.identifier && worker.identifier) return ref.identifier === worker.identifier;
  if (ref.id !== undefined && worker.id !== undefined) return ref.id === worker.id;
  return sameHost(ref.hostname, worker.hostname);
}

/**
 * A stable name for a worker across listings, for sets of seen and claimed workers: what the node
 * listing itself always carries (the numeric id, else the hostname), not the uuid, which may come from
 * the VM list only once the VM is listed there.
 */
export function workerKey(worker: WorkerRef): string {
  if (worker.id !== undefined) return `id:${worker.id}`;
  if (worker.hostname) return `host:${worker.hostname.toLowerCase()}`;
  return `uuid:${worker.identifier ?? ""}`;
}
