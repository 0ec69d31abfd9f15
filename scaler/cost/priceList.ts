/**
 * What one node of a node group costs per hour: VPSie's hourly price of the group's Kubernetes size
 * ("offer") in the datacenter VPSie reports for the group. Asked of VPSie at most every few minutes per
 * cluster and datacenter; a price VPSie does not tell stays unknown (undefined), never guessed.
 */
import type { VpsieClient } from "../../provider/vpsie/client.js";
import type { NodeGroupConfig } from "../../stacks/contract.js";

const TTL_MS = 5 * 60_000;
/** VPSie's monthly prices are for 730 hours (24 × 365 / 12), as its hourly ones are derived. */
const HOURS_PER_MONTH = 730;

type Group = Pick<NodeGroupConfig, "name" | "cluster" | "kubeSizeId">;

export class PriceList {
  readonly #client: VpsieClient;
  readonly #now: () => number;
  readonly #datacenters = new Map<
    string,
    { at: number; byGroup: Map<string, string | undefined>; cluster?: string }
  >();
  readonly #offers = new Map<string, { at: number; hourly: Map<number, number | undefined> }>();

  constructor(client: VpsieClient, now: () => number = Date.now) {
    this.#client = client;
    this.#now = now;
  }

  /** $/h of one node of the group; undefined while VPSie has no such group or no price for its size. */
  async hourly(group: Group): Promise<number | undefined> {
    const dc = await this.#datacenter(group);
    if (!dc) return undefined;
    let offers = this.#offers.get(dc);
    if (!offers || this.#now() - offers.at > TTL_MS) {
      const listed = await this.#client.listOffers(dc);
      offers = {
        at: this.#now(),
        hourly: new Map(
          listed.map((o) => [
            o.id,
            o.priceHourly ?? (o.priceMonthly === undefined ? undefined : o.priceMonthly / HOURS_PER_MONTH),
          ]),
        ),
      };
      this.#offers.set(dc, offers);
    }
    return offers.hourly.get(group.kubeSizeId);
  }

  /**
   * The group's datacenter as VPSie lists the group; before the group exists (its first scale-up), the
   * datacenter of the cluster's other groups, else of the VM of one of its nodes: a cluster is in one.
   */
  async #datacenter(group: Group): Promise<string | undefined> {
    let cached = this.#datacenters.get(group.cluster);
    // A group VPSie does not list yet takes the cluster's datacenter until the listing is renewed.
    if (!cached || this.#now() - cached.at > TTL_MS) {
      const groups = await this.#client.listNodeGroups(group.cluster);
      cached = {
        at: this.#now(),
        byGroup: new Map(groups.map((g) => [g.name, g.datacenterIdentifier])),
        cluster: groups.find((g) => g.datacenterIdentifier)?.datacenterIdentifier ?? cached?.cluster,
      };
      cached.cluster ??= await this.#clusterDatacenter(group.cluster);
      this.#datacenters.set(group.cluster, cached);
    }
    return cached.byGroup.get(group.name) ?? cached.cluster;
  }

  async #clusterDatacenter(cluster: string): Promise<string | undefined> {
    const node = (await this.#client.getCluster(cluster))?.nodes.find((n) => n.identifier);
    return node?.identifier ? (await this.#client.getVm(node.identifier))?.datacenterIdentifier : undefined;
  }
}
