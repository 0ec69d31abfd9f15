/**
 * The exactly-once invariant of a node group, as the tests and the chaos campaign check it: the
 * group's workers at VPSie, the Node resources in its stack's state and its member keys are the same
 * set, with no operation left pending. Hostnames compare without case (VPSie's may be mixed case).
 */
import { readNodeGroups } from "../../scaler/apply/stackConfig.js";
import { type EngineOptions, selectProjectStack } from "../../scaler/pulumi/workspace.js";
import { nodesInState, type NodeGroupConfig } from "../../stacks/contract.js";
import type { VpsieClient } from "../../provider/vpsie/client.js";

export interface GroupAccount {
  /** Member keys in the stack config. */
  keys: string[];
  /** Node resources in the state: key → hostname (lower case). */
  state: Record<string, string | undefined>;
  /** Operations the engine left pending. */
  pending: string[];
  /** The group's workers at VPSie (its size, no master): hostnames, lower case. */
  workers: string[];
}

export async function accountFor(
  client: VpsieClient,
  engine: EngineOptions & { projectDir: string },
  group: Pick<NodeGroupConfig, "name" | "cluster" | "kubeSizeId">,
): Promise<GroupAccount> {
  const workers = (await client.listWorkers(group.cluster))
    .filter((w) => w.role !== "master" && w.kubeSizeId === group.kubeSizeId)
    .map((w) => w.hostname.toLowerCase())
    .sort();
  const stack = await selectProjectStack({ ...engine, stackName: group.name });
  const { nodes, pending } = nodesInState((await stack.exportStack()).deployment);
  const config = (await readNodeGroups(engine.projectDir, group.name)).find((g) => g.name === group.name);
  return {
    keys: [...(config?.nodes ?? [])].sort(),
    state: Object.fromEntries(nodes.map((n) => [n.key, n.hostname?.toLowerCase()])),
    pending: pending.map((p) => `${p.pending} ${p.key}`),
    workers,
  };
}

/** What differs from exactly once, in words; [] when workers == Node resources == member keys. */
export function exactlyOnceViolations(account: GroupAccount): string[] {
  const violations: string[] = [];
  const stateKeys = Object.keys(account.state).sort();
  const stateHosts = Object.values(account.state)
    .map((h) => h ?? "(no hostname)")
    .sort();
  if (account.pending.length > 0) violations.push(`pending operations: ${account.pending.join(", ")}`);
  if (JSON.stringify(stateKeys) !== JSON.stringify(account.keys))
    violations.push(`member keys ${account.keys.join(",")} but Node resources ${stateKeys.join(",")}`);
  const orphans = account.workers.filter((w) => !stateHosts.includes(w));
  if (orphans.length > 0) violations.push(`workers no Node resource holds (orphans): ${orphans.join(", ")}`);
  const ghosts = stateHosts.filter((h) => !account.workers.includes(h));
  if (ghosts.length > 0) violations.push(`Node resources without a worker: ${ghosts.join(", ")}`);
  if (new Set(stateHosts).size !== stateHosts.length)
    violations.push(`a worker held by two Node resources: ${stateHosts.join(", ")}`);
  return violations;
}
