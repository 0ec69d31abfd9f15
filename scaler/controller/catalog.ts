/**
 * The node groups as the controller needs them each loop: their stack config (re-read every time, so
 * a person's edits count at once), their nodes' size from VPSie, and which member key is which node.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { VpsieClient } from "../../provider/vpsie/client.js";
import { sameHost } from "../../provider/vpsie/workers.js";
import { groupStacks, type NodeGroupConfig, STACKS_DIR } from "../../stacks/contract.js";
import type { NodeGroup, Resources } from "../decision/types.js";
import type { GroupSource } from "./ports.js";
import { readNodeGroups } from "../apply/stackConfig.js";
import { PriceList } from "../cost/priceList.js";

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const SIZE_TTL_MS = 5 * 60_000;

/** The node groups the project declares: one stack config file per group in stacks/ (the example excluded). */
export async function configuredGroups(projectDir: string): Promise<NodeGroupConfig[]> {
  const files = await readdir(join(projectDir, STACKS_DIR)).catch(() => [] as string[]);
  const groups: NodeGroupConfig[] = [];
  for (const stack of groupStacks(files))
    groups.push(...(await readNodeGroups(projectDir, stack)).filter((g) => g.name === stack));
  return groups;
}

export class GroupCatalog implements GroupSource {
  readonly #projectDir: string;
  readonly #client: VpsieClient;
  readonly #sizes = new Map<string, { at: number; capacity: Resources }>();
  /** Member key → node name (the VPSie hostname), as the stack outputs and apply results say. */
  readonly hostnames = new Map<string, string>();
  /** When each member key was first seen without a registered node. */
  readonly #waitingSince = new Map<string, number>();

  readonly #prices: PriceList;

  constructor(projectDir: string, client: VpsieClient, prices: PriceList = new PriceList(client)) {
    this.#projectDir = projectDir;
    this.#client = client;
    this.#prices = prices;
  }

  /** $/h of one node of the group, when VPSie tells it; a failed listing leaves it unknown this loop. */
  async #price(config: NodeGroupConfig, log: (m: string) => void): Promise<number | undefined> {
    try {
      return await this.#prices.hourly(config);
    } catch (err) {
      log(`node group ${config.name}: its price is unknown this loop: ${(err as Error).message}`);
      return undefined;
    }
  }

  /** The configured groups: one stack config file per group in stacks/ (the example excluded). */
  configs(): Promise<NodeGroupConfig[]> {
    return configuredGroups(this.#projectDir);
  }

  async #capacity(group: NodeGroupConfig, now: number): Promise<Resources | undefined> {
    const cached = this.#sizes.get(group.name);
    if (cached && now - cached.at < SIZE_TTL_MS) return cached.capacity;
    const vpsie = (await this.#client.listNodeGroups(group.cluster)).find((g) => g.name === group.name);
    if (!vpsie?.cpu || !vpsie.ramMb) return cached?.capacity;
    const capacity = {
      cpu: vpsie.cpu * 1000,
      memory: vpsie.ramMb * MiB,
      ephemeralStorage: (vpsie.diskGb ?? 20) * GiB,
      pods: 110,
    };
    this.#sizes.set(group.name, { at: now, capacity });
    return capacity;
  }

  /** The decision core's node groups; groups whose size VPSie cannot tell yet are left out, with the reason logged. */
  async decisionGroups(
    configs: NodeGroupConfig[],
    registered: ReadonlySet<string>,
    now: number,
    log: (m: string) => void,
  ): Promise<NodeGroup[]> {
    const groups: NodeGroup[] = [];
    for (const config of configs) {
      const capacity = await this.#capacity(config, now);
      if (!capacity) {
        log(
          `node group ${config.name}: VPSie has no group of that name yet, so its node size is unknown; it is not scaled until it exists`,
        );
        continue;
      }
      const isRegistered = (key: string) => registered.has((this.hostnames.get(key) ?? "").toLowerCase());
      const upcoming = config.nodes
        .filter((key) => !isRegistered(key))
        .map((key) => {
          if (!this.#waitingSince.has(key)) this.#waitingSince.set(key, now);
          return { key, requestedAt: this.#waitingSince.get(key) ?? now };
        });
      for (const key of config.nodes) if (isRegistered(key)) this.#waitingSince.delete(key);
      groups.push({
        name: config.name,
        minNodes: config.minNodes,
        maxNodes: config.maxNodes,
        capacity,
        labels: config.labels,
        taints: config.taints,
        priority: 0,
        pricePerHour: await this.#price(config, log),
        upcoming,
      });
    }
    return groups;
  }

  /** The member key of a Node: VPSie quotes hostnames in mixed case, Kubernetes names them in lower case. */
  keyOf(nodeName: string): string | undefined {
    for (const [key, hostname] of this.hostnames) if (sameHost(hostname, nodeName)) return key;
    return undefined;
  }
}
