/**
 * The apply layer, the only way the scaler changes infrastructure. A scale request becomes: stack
 * config edit → preview (its diff kept) → update with a message saying why → the created and deleted
 * nodes and the history entry. One stack per node group, so groups never wait for each other; one
 * update at a time per stack, with requests that queue up merged into the next update.
 */
import type { Stack } from "@pulumi/pulumi/automation/index.js";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ClaimTimings } from "../../provider/pulumi/claims.js";
import { VpsieClient } from "../../provider/vpsie/client.js";
import { sameHost, type WorkerRef } from "../../provider/vpsie/workers.js";
import {
  type NodeGroupConfig,
  nodeGroupUrn,
  nodesInState,
  nodeUrn,
  PROJECT,
  RESOURCE_TYPES,
} from "../../stacks/contract.js";
import { declareNodeGroups, type ProgramScope } from "../../stacks/program.js";
import { costChange, type CostChange, describeCostChange } from "../decision/cost.js";
import { PriceList } from "../cost/priceList.js";
import {
  isStackBusy,
  runPreview,
  runUpdate,
  StackMissingError,
  TargetsIncompleteError,
  type UpdateOutcome,
} from "../pulumi/engine.js";
import { hostProviders } from "../pulumi/hostedProviders.js";
import { type EngineOptions, selectProjectStack } from "../pulumi/workspace.js";
import {
  fileIntents,
  INTENT_STALE_MS,
  intentAbandoned,
  intentIsOurs,
  type IntentStore,
  withIntent,
} from "./intents.js";
import { describeLock, listLocks } from "./locks.js";
import { recoverStack, type RecoveryReport } from "./recovery.js";
import type { ScalerMetrics } from "../observability/metrics.js";
import {
  newNodeKey,
  type PublishStackConfig,
  readNodeGroups,
  stackConfigPath,
  writeMembers,
} from "./stackConfig.js";
import type { UpdateLink } from "./stackStore.js";

/** How many changed keys an update's message names before it summarises the rest. */
const MESSAGE_KEYS = 10;

export interface ScaleRequest {
  /** The node group; its stack has the same name. */
  group: string;
  /** Nodes to add. */
  add: number;
  /** Member keys to remove (drained nodes). */
  remove: string[];
  /** Existing workers no key holds, each to take into a new key (reconciliation). */
  adopt?: WorkerRef[];
  /** Why, in words people read in the stack history: pods waiting, nodes unneeded. */
  reason: string;
  /**
   * A person's change to the group's settings (a commit), applied by an update of the group itself even
   * when no member changes, so the stack history records it and names it.
   */
  settings?: { ref: string };
  /** The new member keys a reviewed preview named: the update adds exactly these. */
  keys?: string[];
  /** The update plan the reviewed preview saved (`pulumi up --plan`): nothing beyond it runs. */
  plan?: string;
  /** Who approved the reviewed action, for the update's message. */
  approvedBy?: string;
}

/** What an update would do, previewed before anything is published or changed (shadow mode, review). */
export interface ActionPreview {
  group: string;
  from: number;
  to: number;
  /** The new member keys the update would add, and the keys it would remove. */
  added: string[];
  removed: string[];
  /** The members the preview started from: an approval applies only while they are unchanged. */
  members: string[];
  /** The update's message, as the stack history would keep it. */
  message: string;
  changes: Record<string, number>;
  diff: string;
  cost?: CostChange;
  /** When nothing would be applied: why. */
  skipped?: string;
}

/** The stack-history entry of an update, as the update's own events report it. */
export interface UpdateRecord {
  kind: "update";
  result: "succeeded";
  message: string;
  startTime: string;
  endTime: string;
  resourceChanges: Record<string, number>;
}

export interface ScaleResult {
  group: string;
  from: number;
  to: number;
  created: Array<{ key: string; hostname?: string }>;
  deleted: string[];
  /** Keys that took an existing worker (reconciliation), among `created`. */
  adopted?: string[];
  /** The update's message, as the stack history keeps it. */
  message: string;
  /** What the update changed, from its own engine events: the counts and the diff people review. */
  preview: { changes: Record<string, number>; output: string };
  history?: UpdateRecord;
  /** When nothing was applied: why (limits a person set, keys already gone, …). */
  skipped?: string;
  /** Requests merged into this update. */
  requests: number;
}

export class StackLockedError extends Error {
  override name = "StackLockedError";
}

export interface ApplierOptions extends EngineOptions {
  /** The project: Pulumi.yaml and stacks/Pulumi.<stack>.yaml. */
  projectDir: string;
  /** The scaler's own directory for update intents (unless `intents` says where); persistent, so a restart finds them. */
  stateDir: string;
  /** How long to wait for a lock someone else holds before reporting it (default 2 min). */
  lockWaitMs?: number;
  /** Progress lines, with the fields a structured log keeps: the stack, and the update's message. */
  progress?: (message: string, fields: { stack: string; update?: string }) => void;
  /** The VPSie client the providers this process hosts use (default: from the environment). */
  client?: VpsieClient;
  /** How long a create looks for its new worker (tests shorten it). */
  claimTimings?: Partial<ClaimTimings>;
  metrics?: ScalerMetrics;
  /** Where update intents are kept when not in files under stateDir (in a cluster: a ConfigMap). */
  intents?: IntentStore;
  /** Where a stack's new member list must be durable before its update runs (in a cluster: a ConfigMap or Git). */
  publishStackConfig?: PublishStackConfig;
  /** After an update: tells the store that keeps history which update carried out its change. */
  linkUpdate?: (stack: string, link: UpdateLink) => Promise<void>;
  /** Where a node's $/h comes from, for the cost in every update's message (default: VPSie's offers). */
  prices?: PriceList;
}

interface Queued {
  request: ScaleRequest;
  count: number;
  waiters: Array<{ resolve: (r: ScaleResult) => void; reject: (e: unknown) => void }>;
}

function merge(a: ScaleRequest, b: ScaleRequest): ScaleRequest {
  return {
    group: a.group,
    add: a.add + b.add,
    remove: [...new Set([...a.remove, ...b.remove])],
    adopt: [...(a.adopt ?? []), ...(b.adopt ?? [])],
    reason: a.reason === b.reason ? a.reason : `${a.reason}; ${b.reason}`,
    settings: b.settings ?? a.settings,
    // A reviewed action names its keys and plan; the actuator sends it only when its group is idle.
    keys: a.keys ?? b.keys,
    plan: a.plan ?? b.plan,
    approvedBy: a.approvedBy ?? b.approvedBy,
  };
}

export class Applier {
  readonly #options: ApplierOptions;
  readonly #running = new Map<string, Promise<void>>();
  readonly #queued = new Map<string, Queued>();
  readonly #intents: IntentStore;
  #client?: VpsieClient;
  #prices?: PriceList;

  constructor(options: ApplierOptions) {
    this.#options = options;
    this.#client = options.client;
    this.#intents = options.intents ?? fileIntents(options.stateDir);
  }

  #progress(stack: string, message: string, update?: string): void {
    this.#options.progress?.(message, update ? { stack, update } : { stack });
  }

  /** Applies the request, merged with others for the same group that queue behind a running update. */
  apply(request: ScaleRequest): Promise<ScaleResult> {
    return new Promise((resolve, reject) => {
      const queued = this.#queued.get(request.group);
      if (queued) {
        queued.request = merge(queued.request, request);
        queued.count += 1;
        queued.waiters.push({ resolve, reject });
      } else {
        this.#queued.set(request.group, { request, count: 1, waiters: [{ resolve, reject }] });
      }
      if (!this.#running.has(request.group)) this.#drain(request.group);
    });
  }

  #drain(group: string): void {
    const next = this.#queued.get(group);
    if (!next) return;
    this.#queued.delete(group);
    const run = this.#update(next.request, next.count).then(
      (result) => next.waiters.forEach((w) => w.resolve(result)),
      (err: unknown) => next.waiters.forEach((w) => w.reject(err)),
    );
    this.#running.set(
      group,
      run.finally(() => {
        this.#running.delete(group);
        this.#drain(group);
      }),
    );
  }

  #vpsie(): VpsieClient {
    this.#client ??= VpsieClient.fromEnv();
    return this.#client;
  }

  #priceList(): PriceList {
    this.#prices ??= this.#options.prices ?? new PriceList(this.#vpsie());
    return this.#prices;
  }

  /** The cost change of a new member list, when VPSie tells the group's price (else none is claimed). */
  async #cost(group: NodeGroupConfig, to: number): Promise<CostChange | undefined> {
    const price = await this.#priceList()
      .hourly(group)
      .catch(() => undefined);
    return price === undefined ? undefined : costChange(price, group.nodes.length, to);
  }

  /** The update's message: what changes, why, what it costs, and who approved it. */
  #describe(
    group: NodeGroupConfig,
    plan: MemberPlan,
    request: ScaleRequest,
    cost: CostChange | undefined,
  ): string {
    if (plan.skipped) return `settings ${group.name}: ${request.reason}`;
    const adoptedKeys = Object.keys(plan.adopted);
    const changed = [
      ...plan.added.map((k) => `+${k}`),
      ...adoptedKeys.map((k) => `+${k}=${plan.adopted[k]?.hostname ?? "?"}`),
      ...plan.removed.map((k) => `-${k}`),
    ];
    // The history's list of resource changes names every key; the message stays readable in a table.
    const changes =
      changed.length > MESSAGE_KEYS
        ? `${changed.slice(0, MESSAGE_KEYS).join(" ")} … ${changed.length - MESSAGE_KEYS} more`
        : changed.join(" ");
    return [
      `${actionKind(plan)} ${group.name} ${group.nodes.length} → ${plan.members.length} (${changes}): ${request.reason}`,
      plan.note ? ` [${plan.note}]` : "",
      cost ? ` (${describeCostChange(cost)})` : "",
      request.approvedBy ? ` (approved by ${request.approvedBy})` : "",
    ].join("");
  }

  /**
   * What the update of `request` would do, as a preview of the engine's, without publishing the member
   * list or changing anything. With `savePlan`, the preview is saved as an update plan there, which
   * `apply` with the same keys and `plan` then holds the update to.
   */
  async preview(request: ScaleRequest, savePlan?: string): Promise<ActionPreview> {
    const group = (await readNodeGroups(this.#options.projectDir, request.group)).find(
      (g) => g.name === request.group,
    );
    if (!group) throw new Error(`stack ${request.group} declares no node group ${request.group}`);
    const plan = this.#members(group, request);
    const cost = await this.#cost(group, plan.members.length);
    const base = {
      group: group.name,
      from: group.nodes.length,
      to: plan.members.length,
      added: plan.added,
      removed: plan.removed,
      members: group.nodes,
      cost,
    };
    if (plan.skipped) return { ...base, message: "", changes: {}, diff: "", skipped: plan.skipped };
    const message = this.#describe(group, plan, request, cost);
    const scope = { only: plan.added, adopt: plan.adopted };
    const targets = this.#targets(group, plan.added, plan.removed, false);
    // The engine previews with the new member list in the stack's config, as the update will run
    // (the config is part of the provider's inputs, which a saved plan holds the update to). Only this
    // copy of the file changes, for the preview: nothing is published, and the group is busy meanwhile.
    const path = stackConfigPath(this.#options.projectDir, group.name);
    const original = await readFile(path, "utf8");
    await writeMembers(this.#options.projectDir, group.name, group.name, plan.members, message);
    const preview = async () =>
      runPreview(this.#options, {
        projectDir: this.#options.projectDir,
        stack: group.name,
        message,
        targets,
        savePlan,
        program: async () => declareNodeGroups(scope),
        env: await this.#hosted(),
      });
    try {
      const outcome = await preview().catch(async (err: unknown) => {
        if (!(err instanceof StackMissingError)) throw err;
        await this.#stack(group.name);
        return preview();
      });
      return { ...base, message, changes: outcome.resourceChanges, diff: outcome.diff };
    } finally {
      await writeFile(path, original);
    }
  }

  /** The CLI environment that attaches the engine to the providers this process hosts. */
  #hosted(): Promise<Record<string, string>> {
    return hostProviders(this.#options.projectDir, this.#vpsie(), this.#options.claimTimings);
  }

  async #stack(group: string): Promise<Stack> {
    return selectProjectStack({ ...this.#options, stackName: group, env: await this.#hosted() });
  }

  /** Recovers an update a previous scaler left unfinished; runs once per stack per process, and on demand. */
  async recover(group: string): Promise<RecoveryReport | undefined> {
    const intent = await this.#intents.read(group);
    if (!intent || !intentAbandoned(intent)) return undefined;
    const config = (await readNodeGroups(this.#options.projectDir, group)).find((g) => g.name === group);
    if (!config) return undefined;
    const report = await recoverStack({
      stack: await this.#stack(group),
      stackName: group,
      group: config,
      backendUrl: this.#options.backendUrl,
      intents: this.#intents,
      client: this.#vpsie(),
      progress: (m) => this.#progress(group, m),
    });
    if (!report.skipped)
      await this.#link(group, `recovery: finish the interrupted update (${intent.message})`);
    return report;
  }

  /** Links the stack's latest update to the store's change it carried out (the commit), when the store keeps history. */
  async #link(group: string, message: string, ref?: string): Promise<void> {
    const { linkUpdate } = this.#options;
    if (!linkUpdate) return;
    try {
      const [latest] = await (await this.#stack(group)).history(1, 1);
      await linkUpdate(group, {
        version: latest?.version || undefined,
        startTime: latest?.startTime ? new Date(latest.startTime).toISOString() : undefined,
        message,
        ref,
      });
    } catch (err) {
      // The update stands: only the cross-reference is missing, and the next link of the stack's adds it.
      this.#progress(
        group,
        `stack ${group}: could not link the update to its commit: ${(err as Error).message}`,
      );
    }
  }

  /** Member key → node name (the worker's hostname), from the Node resources in the group's state. */
  async nodeNames(group: string): Promise<Record<string, string>> {
    const exported = await (await this.#stack(group)).exportStack();
    const { nodes } = nodesInState(exported.deployment);
    return Object.fromEntries(nodes.flatMap((n) => (n.hostname ? [[n.key, n.hostname]] : [])));
  }

  /**
   * Before an update: an intent another scaler left means its update may still run. Waits while its
   * heartbeat is fresh (another replica's update, or one that stopped less than INTENT_STALE_MS ago),
   * then recovers what it left, so that its lock is never taken for a person's and never broken early.
   */
  async #afterPredecessor(group: string): Promise<void> {
    const deadline = Date.now() + INTENT_STALE_MS + 30_000;
    for (let reported = false; ; reported = true) {
      const intent = await this.#intents.read(group);
      if (!intent || intentIsOurs(intent)) return;
      if (intentAbandoned(intent)) {
        await this.recover(group);
        return;
      }
      if (Date.now() > deadline)
        throw new StackLockedError(
          `stack ${group}: an update by ${intent.host} (pid ${intent.pid}, "${intent.message}") has kept its heartbeat since ${intent.startedAt}; not starting another`,
        );
      if (!reported)
        this.#progress(
          group,
          `stack ${group}: an update by ${intent.host} (pid ${intent.pid}) started ${intent.startedAt}; waiting for it to finish or be abandoned`,
        );
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }

  /** Runs `work`; while a lock someone else holds blocks it, waits within the bound, reporting who holds it. */
  async #withLockWait<T>(group: string, work: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + (this.#options.lockWaitMs ?? 120_000);
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await work();
        this.#options.metrics?.lockHeld.set({ group }, 0);
        return result;
      } catch (err) {
        if (!isStackBusy(err)) throw err;
        const locks = (await listLocks(this.#options.backendUrl, PROJECT, group)) ?? [];
        const oldest = Math.min(Date.now(), ...locks.map((l) => Date.parse(l.timestamp) || Date.now()));
        this.#options.metrics?.lockHeld.set({ group }, (Date.now() - oldest) / 1000);
        const holders = locks.map(describeLock).join(", ") || "an unknown holder";
        if (Date.now() > deadline) {
          throw new StackLockedError(
            `stack ${group} is locked by ${holders}; waited ${Math.round((this.#options.lockWaitMs ?? 120_000) / 1000)}s and gave up (the lock is never broken for a person: they finish, or run \`pulumi cancel\`)`,
          );
        }
        if (attempt === 0) {
          this.#options.metrics?.lockWaits.inc({ group });
          this.#progress(group, `stack ${group} is locked by ${holders}: waiting`);
        }
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  }

  async #update(request: ScaleRequest, requests: number): Promise<ScaleResult> {
    const { projectDir } = this.#options;
    await this.#afterPredecessor(request.group);
    // A person's edits win: re-read the group as it is now, and touch only its member list.
    const group = (await readNodeGroups(projectDir, request.group)).find((g) => g.name === request.group);
    if (!group) throw new Error(`stack ${request.group} declares no node group ${request.group}`);
    if (request.adopt?.length) {
      // Another update (a person's) may have taken the worker since reconciliation looked.
      const held = Object.values(await this.nodeNames(group.name));
      request = {
        ...request,
        adopt: request.adopt.filter((w) => !held.some((h) => sameHost(h, w.hostname))),
      };
    }
    const plan = this.#members(group, request);
    const base = {
      group: group.name,
      from: group.nodes.length,
      requests,
      preview: { changes: {}, output: "" },
    };
    if (plan.skipped && !request.settings)
      return {
        ...base,
        to: group.nodes.length,
        created: [],
        deleted: [],
        message: "",
        skipped: plan.skipped,
      };

    const adoptedKeys = Object.keys(plan.adopted);
    const kind = actionKind(plan);
    const message = this.#describe(group, plan, request, await this.#cost(group, plan.members.length));
    const endTimer = this.#options.metrics?.updateDuration.startTimer({ group: group.name, kind });
    let published = false;
    try {
      // The intent first: a scaler that dies once the new member list is published (a commit pushed)
      // leaves an intent, and the next one finishes that update instead of planning it again.
      const result = await withIntent(this.#intents, group.name, message, async () => {
        const ref = plan.skipped
          ? request.settings?.ref
          : await writeMembers(
              projectDir,
              group.name,
              group.name,
              plan.members,
              message,
              this.#options.publishStackConfig,
            );
        published = true;
        // The stack history names the commit; the commit's note names the update.
        const recorded = ref && !plan.skipped ? `${message} (commit ${ref.slice(0, 7)})` : message;
        this.#progress(group.name, `updating stack ${group.name}: ${recorded}`, recorded);
        const outcome = await this.#withLockWait(group.name, () =>
          this.#targetedUpdate(
            group,
            recorded,
            plan.added,
            plan.removed,
            plan.adopted,
            !!plan.skipped,
            request.plan,
          ),
        );
        await this.#link(group.name, recorded, ref || undefined);
        const created = [...plan.added, ...adoptedKeys].map((key) => {
          const step = outcome.steps.find(
            (s) => s.type === RESOURCE_TYPES.node && s.urn === nodeUrn(group.name, key) && !s.failed,
          );
          const hostname = step?.outputs?.hostname;
          return { key, hostname: typeof hostname === "string" ? hostname : undefined };
        });
        this.#progress(group.name, `done: ${recorded}`, recorded);
        return {
          ...base,
          to: plan.members.length,
          created,
          deleted: plan.removed,
          adopted: adoptedKeys,
          message: recorded,
          preview: { changes: outcome.resourceChanges, output: outcome.diff },
          history: {
            kind: "update" as const,
            result: "succeeded" as const,
            message: recorded,
            startTime: outcome.startTime.toISOString(),
            endTime: outcome.endTime.toISOString(),
            resourceChanges: outcome.resourceChanges,
          },
        };
      });
      endTimer?.({ result: "succeeded" });
      return result;
    } catch (err) {
      endTimer?.({ result: "failed" });
      if (published && !plan.skipped)
        await this.#restoreMembers(group, [...plan.added, ...adoptedKeys], plan.removed, err as Error).catch(
          (restoreError: unknown) =>
            // The keys stay as published; the group's next action, or recovery, settles them.
            this.#progress(
              group.name,
              `stack ${group.name}: could not restore the member list after the failed update: ${(restoreError as Error).message}`,
            ),
        );
      throw err;
    }
  }

  /**
   * The update of a scale action: only the new nodes declared, and only they and the removed ones
   * targeted (and the group, when it gets its first nodes and may not exist yet), so the engine leaves
   * the other nodes alone. A stack that is new is created first; one whose state lacks what its config
   * names (a person's edit) gets an update of every member instead.
   */
  async #targetedUpdate(
    group: NodeGroupConfig,
    message: string,
    added: string[],
    removed: string[],
    adopted: Record<string, WorkerRef>,
    settings = false,
    plan?: string,
  ): Promise<UpdateOutcome> {
    const declared = [...added, ...Object.keys(adopted)];
    const targets = this.#targets(group, declared, removed, settings);
    const update = async (scope: ProgramScope, urns: string[]) =>
      runUpdate(this.#options, {
        projectDir: this.#options.projectDir,
        stack: group.name,
        message,
        plan,
        targets: urns,
        program: async () => declareNodeGroups(scope),
        env: await this.#hosted(),
      });
    // A settings change targets the group, and the engine would destroy a targeted group's children
    // that the program does not declare: they are declared, untargeted, and so kept as they are.
    const scope = settings ? { adopt: adopted } : { only: declared, adopt: adopted };
    try {
      return await update(scope, targets);
    } catch (err) {
      if (err instanceof StackMissingError) {
        await this.#stack(group.name);
        return update(scope, targets);
      }
      if (err instanceof TargetsIncompleteError) {
        this.#progress(
          group.name,
          `stack ${group.name}: its state lacks resources its config names; updating every member (${err.message})`,
        );
        return update({ adopt: adopted }, []);
      }
      throw err;
    }
  }

  /** The URNs a scoped update of these keys targets. */
  #targets(group: NodeGroupConfig, declared: string[], removed: string[], settings: boolean): string[] {
    const targets = [...declared, ...removed].map((key) => nodeUrn(group.name, key));
    if (group.nodes.length === 0 || settings) targets.push(nodeGroupUrn(group.name, group.name));
    // An empty target list would be no target at all: every undeclared node would be deleted.
    if (targets.length === 0) throw new Error(`stack ${group.name}: a scoped update without targets`);
    return targets;
  }

  /** The new member list, within the limits a person set (min/max), and what was left out and why. */
  #members(group: NodeGroupConfig, request: ScaleRequest): MemberPlan {
    const removable = request.remove.filter((k) => group.nodes.includes(k));
    const notes: string[] = [];
    if (removable.length < request.remove.length)
      notes.push(`not members: ${request.remove.filter((k) => !removable.includes(k)).join(", ")}`);
    const room = Math.max(0, group.maxNodes - (group.nodes.length - removable.length));
    const add = Math.min(request.add, room);
    if (add < request.add)
      notes.push(`maxNodes ${group.maxNodes} allows ${add} of ${request.add} new node(s)`);
    const floor = Math.max(0, group.nodes.length + add - group.minNodes);
    const removed = removable.slice(0, floor);
    if (removed.length < removable.length)
      notes.push(`minNodes ${group.minNodes} keeps ${removable.slice(floor).join(", ")}`);
    const taken = new Set(group.nodes);
    const reviewed = (request.keys ?? []).filter((k) => !taken.has(k));
    const newKey = () => {
      const key = reviewed.shift() ?? newNodeKey(group.name, taken);
      taken.add(key);
      return key;
    };
    const added = Array.from({ length: add }, newKey);
    // A worker that exists bills whether or not the group has room for it: adopted beyond maxNodes too.
    const adopted: Record<string, WorkerRef> = Object.fromEntries(
      (request.adopt ?? []).map((ref) => [newKey(), ref]),
    );
    const members = [...group.nodes.filter((k) => !removed.includes(k)), ...added, ...Object.keys(adopted)];
    const note = notes.join("; ") || undefined;
    const skipped =
      added.length === 0 && removed.length === 0 && Object.keys(adopted).length === 0
        ? `nothing to apply${note ? `: ${note}` : ""}`
        : undefined;
    return { members, added, removed, adopted, note, skipped };
  }

  /** After a failed update: keys whose nodes exist stay members, the others go back to what they were. */
  async #restoreMembers(
    group: NodeGroupConfig,
    added: string[],
    removed: string[],
    error: Error,
  ): Promise<void> {
    const stack = await this.#stack(group.name);
    const exported = await stack.exportStack().catch(() => undefined);
    const { nodes, pending } = nodesInState(exported?.deployment);
    const inState = new Set(nodes.map((n) => n.key));
    // A create that failed stays a pending operation in the state; its key goes, and a worker VPSie
    // made for it after all is one no key claims, which reconciliation adopts (see scaler/controller).
    const failedCreates = new Set(
      pending.filter((p) => p.pending === "creating" && added.includes(p.key)).map((p) => p.urn),
    );
    if (exported && failedCreates.size > 0) {
      const deployment = exported.deployment as { pending_operations?: Array<{ resource: { urn: string } }> };
      deployment.pending_operations = (deployment.pending_operations ?? []).filter(
        (op) => !failedCreates.has(op.resource.urn),
      );
      await stack.importStack(exported);
    }
    const current = (await readNodeGroups(this.#options.projectDir, group.name)).find(
      (g) => g.name === group.name,
    );
    if (!current) return;
    const members = [
      ...current.nodes.filter((k) => !added.includes(k) || inState.has(k)),
      ...removed.filter((k) => inState.has(k) && !current.nodes.includes(k)),
    ];
    const why = error.message.split("\n")[0]?.slice(0, 200) ?? "";
    await writeMembers(
      this.#options.projectDir,
      group.name,
      group.name,
      members,
      `restore ${group.name} ${current.nodes.length} → ${members.length} after a failed update: ${why}`,
      this.#options.publishStackConfig,
    );
  }
}

/** A scale request turned into the group's new member list. */
interface MemberPlan {
  members: string[];
  added: string[];
  removed: string[];
  adopted: Record<string, WorkerRef>;
  /** What the limits a person set left out, and why. */
  note?: string;
  /** When nothing would change: why. */
  skipped?: string;
}

function actionKind(plan: MemberPlan): string {
  if (plan.skipped) return "settings";
  if (Object.keys(plan.adopted).length > 0 && plan.added.length === 0 && plan.removed.length === 0)
    return "adopt";
  if (plan.added.length > 0 && plan.removed.length === 0) return "scale-up";
  return plan.added.length === 0 ? "scale-down" : "scale";
}

/** Where an applier keeps its files under one directory of the scaler's: CLI home and intents. */
export function applierDirs(workDir: string): { pulumiHome: string; stateDir: string } {
  return { pulumiHome: join(workDir, "pulumi-home"), stateDir: join(workDir, "scaler") };
}
