/**
 * What the console shows, read where it lives: the node groups from their stack config files, their
 * price from VPSie (when its credentials are there), each stack's history from the Pulumi backend, the
 * reviews from their store. `run` adds what only the running scaler knows (backoff).
 */
import { configuredGroups } from "../controller/catalog.js";
import type { PriceList } from "../cost/priceList.js";
import { readStackHistory } from "../pulumi/history.js";
import type { EngineOptions } from "../pulumi/workspace.js";
import type { ReviewStore } from "../review/store.js";

export interface GroupRow {
  name: string;
  members: number;
  minNodes: number;
  maxNodes: number;
  /** $/h of one node, and of the group's members, when VPSie tells the price. */
  pricePerHour?: number;
  costPerHour?: number;
  /** Why the group backs off now, when the running scaler says so. */
  backoff?: string;
}

export interface HistoryRow {
  group: string;
  version: number;
  kind: string;
  result: string;
  message: string;
  startTime: string;
  endTime?: string;
  resourceChanges: Record<string, number>;
}

export interface ConsoleData {
  groups(): Promise<GroupRow[]>;
  /** One page (from 1) of a group's stack history, newest first. */
  history(group: string, page: number, pageSize: number): Promise<HistoryRow[]>;
  readonly reviews: ReviewStore;
}

export interface ProjectConsoleOptions extends EngineOptions {
  projectDir: string;
  /** A project directory of the console's own to read history through (see readStackHistory). */
  readerDir: string;
  reviews: ReviewStore;
  prices?: PriceList;
  /** The running scaler's backoff per group, when the console is served by `run`. */
  backoff?: () => Record<string, string>;
}

export function projectConsoleData(options: ProjectConsoleOptions): ConsoleData {
  return {
    reviews: options.reviews,
    async groups() {
      const backoff = options.backoff?.() ?? {};
      const rows: GroupRow[] = [];
      for (const config of await configuredGroups(options.projectDir)) {
        const price = await options.prices?.hourly(config).catch(() => undefined);
        rows.push({
          name: config.name,
          members: config.nodes.length,
          minNodes: config.minNodes,
          maxNodes: config.maxNodes,
          ...(price !== undefined && { pricePerHour: price, costPerHour: price * config.nodes.length }),
          ...(backoff[config.name] && { backoff: backoff[config.name] }),
        });
      }
      return rows;
    },
    async history(group, page, pageSize) {
      return (await readStackHistory(options, group, pageSize, page)).map((h) => ({
        group,
        version: h.version,
        kind: h.kind,
        result: h.result,
        message: h.message,
        startTime: new Date(h.startTime).toISOString(),
        ...(h.endTime && { endTime: new Date(h.endTime).toISOString() }),
        resourceChanges: h.resourceChanges ?? {},
      }));
    },
  };
}
