/**
 * Recovery after a scaler died in the middle of an update (kill -9, node loss): clears the lock it
 * left, turns its pending operations into what really happened at VPSie, refreshes, and finishes the
 * update, so that no worker is left unknown to the state and none is created twice.
 */
import type { Stack } from "@pulumi/pulumi/automation/index.js";
import { nodeResourceId } from "../../provider/pulumi/providers.js";
import type { VpsieClient } from "../../provider/vpsie/client.js";
import { isWorker, type Worker } from "../../provider/vpsie/workers.js";
import { keyOfUrn, type NodeGroupConfig, PROJECT, RESOURCE_TYPES } from "../../stacks/contract.js";
import { intentAbandoned, type IntentStore } from "./intents.js";
import { describeLock, listLocks } from "./locks.js";

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
  /**
   * Whether it added nodes to the group (workers adopted, or created by the update it finished): a
   * scale-up, whose delay before any scale-down starts now, as after the scaler's own.
   */
  nodesAdded?: boolean;
}

/** The group's workers at VPSie: one group per size in a cluster, so the VM's size says whose it is. */
export async function groupWorkers(client: VpsieClient, group: NodeGroupConfig): Promise<Worker[]> {
  return (await client.listWorkers(group.cluster)).filter(
    (w) => w.role !== "master" && w.kubeSizeId === group.kubeSizeId,
  );
}

/** Whether the worker is the one a Node resource's state remembers. */
function claimedBy(resource: ResourceState, worker: Worker): boolean {
  const outputs = resource.outputs ?? {};
  const text = (v: unknown) => (typeof v === "string" ? v : undefined);
  return isWorker(
    {
      identifier:
        text(outputs.identifier) ?? (resource.id && !resource.id.includes(":") ? resource.id : undefined),
      id: typeof outputs.workerId === "number" ? outputs.workerId : undefined,
      hostname: text(outputs.hostname),
    },
    worker,
  );
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
    const nodes = resources.filter((r) => r.type === RESOURCE_TYPES.node);
    const workers = await groupWorkers(client, group);
    const orphans = workers.filter((w) => !nodes.some((r) => claimedBy(r, w)));
    for (const op of pending) {
      if (op.resource.type !== RESOURCE_TYPES.node) continue;
      const key = keyOfUrn(op.resource.urn);
      if (op.type === "creating") {
        const orphan = orphans.shift();
        if (!orphan) {
          report.dropped.push(key);
          continue;
        }
        const inputs = op.resource.inputs ?? {};
        resources.push({
          ...op.resource,
          id: nodeResourceId(orphan),
          outputs: JSON.parse(
            JSON.stringify({
              ...inputs,
              identifier: orphan.identifier,
              workerId: orphan.id,
              hostname: orphan.hostname,
              defaultIp: orphan.defaultIp,
              privateIp: orphan.privateIp,
            }),
          ) as Record<string, unknown>,
        });
        report.adopted.push({ key, identifier: nodeResourceId(orphan), hostname: orphan.hostname });
      } else if (op.type === "deleting" && !workers.some((w) => claimedBy(op.resource, w))) {
        resources = resources.filter((r) => r.urn !== op.resource.urn);
      }
    }
    for (const orphan of orphans) {
      await client.deleteWorker(group.cluster, orphan);
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
  const finished = await stack.up({ message: `recovery: finish the interrupted update (${intent.message})` });
  await options.intents.remove(stackName);
  return {
    ...report,
    nodesAdded: report.adopted.length > 0 || (finished.summary.resourceChanges?.create ?? 0) > 0,
  };
}
