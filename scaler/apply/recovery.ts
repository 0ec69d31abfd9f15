/**
 * Recovery after a scaler died in the middle of an update (kill -9, node loss): clears the lock it
 * left, turns its pending operations into what really happened at VPSie, refreshes, and finishes the
 * update, so that no worker is left unknown to the state and none is created twice.
 */
import type { Stack } from "@pulumi/pulumi/automation/index.js";
import type { VpsieClient } from "../../provider/vpsie/client.js";
import type { ClusterNode } from "../../provider/vpsie/model.js";
import type { NodeGroupConfig } from "../../stacks/nodeGroupsConfig.js";
import { intentAbandoned, type IntentStore } from "./intents.js";
import { describeLock, listLocks } from "./locks.js";
import { PROJECT } from "./stackConfig.js";

const NODE_TYPE = "pulumi-nodejs:dynamic/vpsie:Node";

interface ResourceState {
  urn: string;
  type: string;
  id?: string;
  custom?: boolean;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  [key: string]: unknown;
}

interface Deployment {
  resources?: ResourceState[];
  pending_operations?: Array<{ resource: ResourceState; type: string }>;
  [key: string]: unknown;
}

export interface RecoveryReport {
  /** Locks removed because the scaler that took them is gone. */
  clearedLocks: string[];
  /** Pending creates whose worker was found at VPSie and written into the state, by key. */
  adopted: Array<{ key: string; identifier: string; hostname: string }>;
  /** Pending creates that VPSie never carried out. */
  dropped: string[];
  /** Workers of the group that no key claims, deleted so that none is orphaned. */
  deletedOrphans: string[];
  /** Why recovery did nothing, when it did nothing. */
  skipped?: string;
}

function keyOf(urn: string): string {
  return urn.split("::").at(-1) ?? urn;
}

/** The group's workers at VPSie: one group per size in a cluster, so the VM's size says whose it is. */
async function groupWorkers(client: VpsieClient, group: NodeGroupConfig): Promise<ClusterNode[]> {
  const cluster = await client.getCluster(group.cluster);
  const workers = (cluster?.nodes ?? []).filter((n) => n.nodeType !== "master" && n.identifier);
  const sized: ClusterNode[] = [];
  for (const worker of workers) {
    const vm = await client.getVm(worker.identifier ?? "");
    if (vm?.kubeSizeId === group.kubeSizeId) sized.push(worker);
  }
  return sized;
}

export async function recoverStack(options: {
  stack: Stack;
  stackName: string;
  group: NodeGroupConfig;
  backendUrl: string;
  intents: IntentStore;
  client: VpsieClient;
  progress: (message: string) => void;
}): Promise<RecoveryReport> {
  const { stack, stackName, group, client, progress } = options;
  const report: RecoveryReport = { clearedLocks: [], adopted: [], dropped: [], deletedOrphans: [] };
  const intent = await options.intents.read(stackName);
  if (!intent) return { ...report, skipped: "no unfinished update of ours" };
  if (!intentAbandoned(intent))
    return { ...report, skipped: `an update by ${intent.host} (pid ${intent.pid}) is still running` };
  progress(
    `recovering stack ${stackName}: an update started ${intent.startedAt} by ${intent.host} did not finish ("${intent.message}")`,
  );

  const locks = (await listLocks(options.backendUrl, PROJECT, stackName)) ?? [];
  const foreign = locks.filter((lock) => lock.hostname !== intent.host);
  if (foreign.length > 0) {
    return {
      ...report,
      skipped: `the stack is also locked by ${foreign.map(describeLock).join(", ")}: left for them`,
    };
  }
  if (locks.length > 0) {
    await stack.cancel();
    report.clearedLocks = locks.map(describeLock);
    progress(`cleared the lock left by the crashed update: ${report.clearedLocks.join(", ")}`);
  }

  const exported = await stack.exportStack();
  const deployment = exported.deployment as Deployment;
  const pending = deployment.pending_operations ?? [];
  if (pending.length > 0) {
    let resources = deployment.resources ?? [];
    const known = new Set(resources.filter((r) => r.type === NODE_TYPE).map((r) => r.id));
    const workers = await groupWorkers(client, group);
    const orphans = workers.filter((w) => !known.has(w.identifier));
    for (const op of pending) {
      if (op.resource.type !== NODE_TYPE) continue;
      const key = keyOf(op.resource.urn);
      if (op.type === "creating") {
        const orphan = orphans.shift();
        if (!orphan?.identifier) {
          report.dropped.push(key);
          continue;
        }
        const inputs = op.resource.inputs ?? {};
        resources.push({
          ...op.resource,
          id: orphan.identifier,
          outputs: {
            ...inputs,
            identifier: orphan.identifier,
            hostname: orphan.hostname,
            defaultIp: orphan.defaultIp,
            privateIp: orphan.privateIp,
          },
        });
        report.adopted.push({ key, identifier: orphan.identifier, hostname: orphan.hostname });
      } else if (
        op.type === "deleting" &&
        op.resource.id &&
        !workers.some((w) => w.identifier === op.resource.id)
      ) {
        resources = resources.filter((r) => r.urn !== op.resource.urn);
      }
    }
    for (const orphan of orphans) {
      await client.deleteWorker(group.cluster, orphan.identifier ?? "");
      report.deletedOrphans.push(orphan.hostname);
    }
    deployment.resources = resources;
    deployment.pending_operations = [];
    await stack.importStack(exported);
    progress(
      `pending operations resolved: adopted ${report.adopted.map((a) => `${a.key}=${a.hostname}`).join(", ") || "none"}; dropped ${report.dropped.join(", ") || "none"}; deleted orphans ${report.deletedOrphans.join(", ") || "none"}`,
    );
  }
  await stack.refresh({ message: `recovery: refresh after an interrupted update (${intent.message})` });
  // Finish what the interrupted update set out to do: the stack config already says it.
  await stack.up({ message: `recovery: finish the interrupted update (${intent.message})` });
  await options.intents.remove(stackName);
  return report;
}
