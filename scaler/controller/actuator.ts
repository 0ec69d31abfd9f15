/**
 * The actuator carries out what the loop decided, one action per node group at a time: scale-ups as
 * updates that add member keys; scale-downs as a drain followed by an update that removes exactly the
 * drained node's key and the deletion of its Node object; and the removal of nodes that never
 * registered. Each action ends in a typed outcome the loop and the reporter act on.
 */
import type { ScaleRequest, ScaleResult } from "../apply/applier.js";
import { VpsieQuotaError } from "../../provider/vpsie/errors.js";
import type { WorkerRef } from "../../provider/vpsie/workers.js";
import { podKey, type Pod } from "../decision/types.js";
import type { ApplyLayer, GroupSource, Log, NodeOperations } from "./ports.js";
import type { CostChange } from "../decision/cost.js";
import type { Held, ReviewGate } from "../review/gate.js";
import type { ProposedAction } from "../review/policy.js";
import type { ReviewRecord } from "../review/records.js";

export type ActionOutcome =
  | { kind: "ScaledUp"; group: string; result: ScaleResult }
  | { kind: "ScaleUpFailed"; group: string; error: Error; quota: boolean }
  | { kind: "ScaleDownStarted"; group: string; node: string; reason: string }
  | { kind: "ScaledDown"; group: string; node: string; key: string; empty: boolean; result: ScaleResult }
  | { kind: "Drained"; group: string; node: string; evicted: number }
  | { kind: "DrainFailed"; group: string; node: string; reason: string }
  | { kind: "ScaleDownFailed"; group: string; node: string; error: Error }
  | { kind: "UnregisteredRemoved"; group: string; key: string; result: ScaleResult }
  | { kind: "UnregisteredRemovalFailed"; group: string; key: string; error: Error }
  | { kind: "Adopted"; group: string; worker: string; result: ScaleResult }
  | { kind: "AdoptionFailed"; group: string; worker: string; error: Error }
  | { kind: "GoneNodeRemoved"; group: string; node: string }
  | { kind: "SettingsApplied"; group: string; result: ScaleResult }
  | { kind: "SettingsFailed"; group: string; ref: string; error: Error }
  | { kind: "ReviewHeld"; group: string; held: Held }
  | { kind: "ReviewFailed"; group: string; error: Error }
  | { kind: "ReviewSettled"; group: string; record: ReviewRecord };

export interface ActuatorOptions {
  apply: ApplyLayer;
  nodes: NodeOperations;
  catalog: GroupSource;
  log: Log;
  onOutcome: (outcome: ActionOutcome) => void;
  /** Shadow mode and approvals: actions it holds are recorded instead of applied. */
  review?: ReviewGate;
}

function list(items: string[], max = 5): string {
  return items.length <= max
    ? items.join(", ")
    : `${items.slice(0, max).join(", ")} and ${items.length - max} more`;
}

/** Why a scale-down's update runs: the nodes drained, the pods they moved, and why they were unneeded. */
function drainedReason(nodes: string[], moved: string[], reason: string | undefined): string {
  const what = `${nodes.length === 1 ? "node" : "empty nodes"} ${list(nodes)} drained`;
  return `${what}${moved.length ? ` (moved ${list(moved)})` : ""}: ${reason}`;
}

export class Actuator {
  readonly #o: ActuatorOptions;
  readonly #inFlight = new Set<string>();
  readonly #draining = new Set<string>();
  /** The pending pods each scale-up under way was started for. */
  readonly #awaiting = new Map<string, string[]>();
  /** Actions under way: settle() lets them finish, so no update is left half-applied. */
  readonly #actions = new Set<Promise<unknown>>();

  constructor(options: ActuatorOptions) {
    this.#o = options;
  }

  /** Node groups with an action under way: the loop plans nothing for them meanwhile. */
  get busyGroups(): ReadonlySet<string> {
    return this.#inFlight;
  }

  /**
   * Pending pods a scale-up under way is adding nodes for ("namespace/name"). Until its update has
   * written the group's new members they are nowhere in the plan's view, so the loop leaves these pods
   * out: planned again, they would make another group grow for them too.
   */
  get podsAwaitingNodes(): ReadonlySet<string> {
    return new Set([...this.#awaiting.values()].flat());
  }

  /** Nodes being drained: the loop leaves them out of its snapshot. */
  get drainingNodes(): ReadonlySet<string> {
    return this.#draining;
  }

  /** Resolves when every action under way has ended. */
  async settle(): Promise<void> {
    while (this.#actions.size > 0) await Promise.allSettled([...this.#actions]);
  }

  #track(group: string, work: () => Promise<void>): void {
    this.#inFlight.add(group);
    const action = work()
      // Each action reports its own failures; one that escapes is logged, never left to end the process.
      .catch((err: unknown) =>
        this.#o.log("error", `an action on ${group} failed: ${(err as Error).message}`, { group }),
      )
      .finally(() => {
        this.#inFlight.delete(group);
        this.#actions.delete(action);
      });
    this.#actions.add(action);
  }

  /**
   * Whether the review gate holds the action (shadow mode, or an approval it waits for): then it is
   * recorded, not applied. A gate that cannot record it holds it too: nothing runs unreviewed.
   */
  async #held(action: ProposedAction, request: ScaleRequest): Promise<boolean> {
    const { review } = this.#o;
    if (!review) return false;
    try {
      const held = await review.hold(action, request);
      if (held) this.#o.onOutcome({ kind: "ReviewHeld", group: action.group, held });
      return held !== undefined;
    } catch (err) {
      const error = err as Error;
      this.#o.log(
        "error",
        `could not record the review of ${action.kind} ${action.group}: ${error.message}`,
        {
          group: action.group,
        },
      );
      this.#o.onOutcome({ kind: "ReviewFailed", group: action.group, error });
      return true;
    }
  }

  scaleUp(group: string, add: number, pods: string[], reason: string, cost?: CostChange): void {
    if (this.#inFlight.has(group)) return;
    const why = `${list(pods)}: ${reason}`;
    this.#awaiting.set(group, pods);
    this.#track(group, async () => {
      try {
        const request = { group, add, remove: [], reason: why };
        if (await this.#held({ kind: "scale-up", group, add, remove: [], pods, cost }, request)) return;
        this.#o.log("info", `scale-up of ${group} by ${add}: ${why}`, { group, add });
        const result = await this.#o.apply.apply(request);
        for (const c of result.created) if (c.hostname) this.#o.catalog.hostnames.set(c.key, c.hostname);
        this.#o.log(
          "info",
          result.skipped
            ? `scale-up of ${group} not applied: ${result.skipped}`
            : `applied: ${result.message}`,
          { group },
        );
        this.#o.onOutcome({ kind: "ScaledUp", group, result });
      } catch (err) {
        const error = err as Error;
        this.#o.log("error", `scale-up of ${group} failed: ${error.message}`, { group });
        // Some of its nodes may have been created all the same: learn their names from the state.
        await this.#learnNodeNames(group);
        this.#o.onOutcome({ kind: "ScaleUpFailed", group, error, quota: err instanceof VpsieQuotaError });
      } finally {
        this.#awaiting.delete(group);
      }
    });
  }

  async #learnNodeNames(group: string): Promise<void> {
    try {
      for (const [key, hostname] of Object.entries(await this.#o.apply.nodeNames(group)))
        this.#o.catalog.hostnames.set(key, hostname);
    } catch (err) {
      this.#o.log("warn", `could not read the nodes of ${group} from its state`, {
        group,
        error: (err as Error).message,
      });
    }
  }

  /** Takes a worker no key holds into a new key of the group: a Pulumi update saying why. */
  adopt(group: string, worker: WorkerRef & { hostname: string }, reason: string): void {
    if (this.#inFlight.has(group)) return;
    this.#o.log("warn", `adopting ${worker.hostname} into ${group}: ${reason}`, {
      group,
      node: worker.hostname,
    });
    this.#track(group, async () => {
      try {
        const ref = { identifier: worker.identifier, id: worker.id, hostname: worker.hostname };
        const request = { group, add: 0, remove: [], adopt: [ref], reason };
        if (await this.#held({ kind: "adopt", group, add: 0, remove: [], pods: [] }, request)) return;
        const result = await this.#o.apply.apply(request);
        for (const c of result.created) if (c.hostname) this.#o.catalog.hostnames.set(c.key, c.hostname);
        this.#o.log("info", `applied: ${result.message}`, { group });
        this.#o.onOutcome({ kind: "Adopted", group, worker: worker.hostname, result });
      } catch (err) {
        const error = err as Error;
        this.#o.log("error", `adopting ${worker.hostname} into ${group} failed: ${error.message}`, { group });
        this.#o.onOutcome({ kind: "AdoptionFailed", group, worker: worker.hostname, error });
      }
    });
  }

  /** A person's change to the group's settings (a commit): an update of the group that names it. */
  applySettings(group: string, ref: string, reason: string): void {
    if (this.#inFlight.has(group)) return;
    this.#o.log("info", `applying the settings of ${group}: ${reason}`, { group });
    this.#track(group, async () => {
      try {
        const request = { group, add: 0, remove: [], reason, settings: { ref } };
        if (await this.#held({ kind: "settings", group, add: 0, remove: [], pods: [] }, request)) return;
        const result = await this.#o.apply.apply(request);
        this.#o.log("info", `applied: ${result.message}`, { group });
        this.#o.onOutcome({ kind: "SettingsApplied", group, result });
      } catch (err) {
        const error = err as Error;
        this.#o.log("error", `applying the settings of ${group} failed: ${error.message}`, { group });
        this.#o.onOutcome({ kind: "SettingsFailed", group, ref, error });
      }
    });
  }

  /** Deletes a Node object whose worker is gone (no VPSie call, no update: the worker is gone already). */
  async removeGoneNode(group: string, node: string): Promise<void> {
    try {
      await this.#o.nodes.remove(node);
      this.#o.log("warn", `deleted Node ${node} of ${group}: VPSie no longer has its worker`, {
        group,
        node,
      });
      this.#o.onOutcome({ kind: "GoneNodeRemoved", group, node });
    } catch (err) {
      this.#o.log("warn", `could not delete Node ${node}`, { node, error: (err as Error).message });
    }
  }

  /** A requested node that never registered goes through the apply layer too; its group backs off. */
  removeUnregistered(group: string, key: string, reason: string): void {
    if (this.#inFlight.has(group)) return;
    this.#o.log("warn", `removing ${key} from ${group}: ${reason}; the group backs off`, { group, key });
    this.#track(group, async () => {
      try {
        const request = {
          group,
          add: 0,
          remove: [key],
          reason: `${reason}: removed, and the group backs off`,
        };
        const action = {
          kind: "remove-unregistered" as const,
          group,
          add: 0,
          remove: [{ key, node: key }],
          pods: [],
        };
        if (await this.#held(action, request)) return;
        const result = await this.#o.apply.apply(request);
        this.#o.catalog.hostnames.delete(key);
        this.#o.log("info", `applied: ${result.message}`, { group, key });
        this.#o.onOutcome({ kind: "UnregisteredRemoved", group, key, result });
      } catch (err) {
        const error = err as Error;
        this.#o.log("error", `removing ${key} from ${group} failed: ${error.message}`, { group, key });
        this.#o.onOutcome({ kind: "UnregisteredRemovalFailed", group, key, error });
      }
    });
  }

  /**
   * Removes empty nodes of one group in one update: each is tainted (a pod scheduled meanwhile would be
   * evicted like any drain's), then their keys go together, then their Node objects.
   */
  removeEmpty(group: string, nodes: Array<{ node: string; reason: string }>, cost?: CostChange): void {
    if (this.#inFlight.has(group)) return;
    const members = nodes.flatMap(({ node, reason }) => {
      const key = this.#o.catalog.keyOf(node);
      if (!key)
        this.#o.log("warn", `not removing ${node}: no member key of ${group} names it`, { group, node });
      return key ? [{ node, key, reason }] : [];
    });
    if (members.length === 0) return;
    const why = drainedReason(
      members.map((m) => m.node),
      [],
      members[0]?.reason,
    );
    this.#track(group, async () => {
      const request = { group, add: 0, remove: members.map((m) => m.key), reason: why };
      const remove = members.map(({ key, node }) => ({ key, node }));
      if (await this.#held({ kind: "scale-down", group, add: 0, remove, pods: [], cost }, request)) return;
      // A failure is reported by #removeNodes (ScaleDownFailed, the nodes untainted): nothing to add.
      await this.#removeNodes(group, members, []).catch(() => undefined);
    });
  }

  /**
   * Taints and drains each node (evicting `pods`), removes the drained ones' keys in one update (held
   * to a reviewed plan when there is one), then deletes their Node objects. A node whose drain or update
   * fails is untainted and stays.
   */
  async #removeNodes(
    group: string,
    members: Array<{ node: string; key: string; reason: string }>,
    pods: Pod[],
    reviewed?: Pick<ScaleRequest, "plan" | "approvedBy" | "reason">,
  ): Promise<ScaleResult | undefined> {
    for (const { node, key, reason } of members) {
      this.#draining.add(node);
      this.#o.log("info", `scale-down of ${group}: draining ${node} (${key}): ${reason}`, {
        group,
        node,
        key,
      });
      this.#o.onOutcome({ kind: "ScaleDownStarted", group, node, reason });
    }
    const drained: typeof members = [];
    try {
      for (const member of members) {
        const own = pods.filter((p) => p.nodeName === member.node);
        const drain = await this.#o.nodes.drain(member.node, own);
        if (!drain.drained) {
          this.#o.log(
            "warn",
            `scale-down of ${member.node} stopped: ${drain.reason}; the node is untainted`,
            {
              group,
              node: member.node,
            },
          );
          this.#o.onOutcome({ kind: "DrainFailed", group, node: member.node, reason: drain.reason });
          continue;
        }
        if (own.length > 0)
          this.#o.onOutcome({ kind: "Drained", group, node: member.node, evicted: drain.evicted });
        drained.push(member);
      }
      if (drained.length === 0) return undefined;
      const moved = pods.filter((p) => drained.some((d) => d.node === p.nodeName)).map(podKey);
      const result = await this.#o.apply.apply({
        group,
        add: 0,
        remove: drained.map((m) => m.key),
        reason:
          reviewed?.reason ??
          drainedReason(
            drained.map((m) => m.node),
            moved,
            drained[0]?.reason,
          ),
        plan: reviewed?.plan,
        approvedBy: reviewed?.approvedBy,
      });
      this.#o.log("info", `applied: ${result.message}`, { group });
      for (const { node, key } of drained) {
        await this.#o.nodes.remove(node).catch(() => undefined);
        this.#o.catalog.hostnames.delete(key);
        const empty = !pods.some((p) => p.nodeName === node);
        this.#o.onOutcome({ kind: "ScaledDown", group, node, key, empty, result });
      }
      return result;
    } catch (err) {
      const error = err as Error;
      this.#o.log(
        "error",
        `scale-down of ${drained.map((m) => m.node).join(", ")} failed: ${error.message}`,
        {
          group,
        },
      );
      for (const { node } of drained) {
        // The key stays a member, so the node stays: schedulable again, as cluster-autoscaler leaves it.
        await this.#o.nodes.untaint(node).catch(() => undefined);
        this.#o.onOutcome({ kind: "ScaleDownFailed", group, node, error });
      }
      throw error;
    } finally {
      for (const { node } of members) this.#draining.delete(node);
    }
  }

  /** Drains the node, then removes exactly its key in one update, then deletes its Node object. */
  scaleDown(group: string, node: string, pods: Pod[], reason: string, cost?: CostChange): void {
    if (this.#inFlight.has(group)) return;
    const key = this.#o.catalog.keyOf(node);
    if (!key) {
      this.#o.log("warn", `not removing ${node}: no member key of ${group} names it`, { group, node });
      return;
    }
    this.#track(group, async () => {
      const moved = pods.map(podKey);
      const request = {
        group,
        add: 0,
        remove: [key],
        reason: drainedReason([node], moved, reason),
      };
      const action = {
        kind: "scale-down" as const,
        group,
        add: 0,
        remove: [{ key, node }],
        pods: moved,
        cost,
      };
      // A node that runs pods is drained only once its removal is approved.
      if (await this.#held(action, request)) return;
      // A failure is reported by #removeNodes (ScaleDownFailed, the node untainted): nothing to add.
      await this.#removeNodes(group, [{ node, key, reason }], pods).catch(() => undefined);
    });
  }

  /**
   * An approved action: applied held to the plan its reviewer saw, unless the group's members changed
   * since its preview (a person's edit, another action), which makes it stale: dropped, planned again.
   * `pods` are the pods now on the nodes a scale-down removes, evicted only now.
   */
  applyApproved(record: ReviewRecord, pods: Pod[], members: readonly string[], stale?: string): void {
    const { review } = this.#o;
    if (!review || this.#inFlight.has(record.group)) return;
    const changed =
      members.join(",") !== record.members.join(",")
        ? "the group's members changed since the preview"
        : stale;
    // Its pods are left out of planning while it runs; a stale one's are planned again at once.
    if (record.kind === "scale-up" && !changed) this.#awaiting.set(record.group, record.pods);
    this.#track(record.group, async () => {
      const settle = async (status: "applied" | "failed" | "stale", outcome: string) =>
        this.#o.onOutcome({
          kind: "ReviewSettled",
          group: record.group,
          record: await review.settle(record, status, outcome),
        });
      if (changed) {
        await settle("stale", `${changed}: dropped, and planned again`);
        return;
      }
      const plan = await review.planFile(record);
      const reviewed = { plan: plan.path, approvedBy: record.decidedBy, reason: record.reason };
      try {
        if (record.kind === "scale-up") {
          const result = await this.#o.apply.apply({
            group: record.group,
            add: record.add,
            remove: [],
            keys: record.keys,
            ...reviewed,
          });
          for (const c of result.created) if (c.hostname) this.#o.catalog.hostnames.set(c.key, c.hostname);
          this.#o.log("info", `applied: ${result.message}`, { group: record.group });
          this.#o.onOutcome({ kind: "ScaledUp", group: record.group, result });
          await settle("applied", result.message);
        } else {
          const members = record.remove.map((r) => ({ ...r, reason: record.reason }));
          const result = await this.#removeNodes(record.group, members, pods, reviewed);
          if (result) await settle("applied", result.message);
          else await settle("failed", "no node could be drained: nothing was applied");
        }
      } catch (err) {
        const error = err as Error;
        this.#o.log("error", `the approved ${record.kind} of ${record.group} failed: ${error.message}`, {
          group: record.group,
        });
        if (record.kind === "scale-up") await this.#learnNodeNames(record.group);
        await settle("failed", error.message);
      } finally {
        this.#awaiting.delete(record.group);
        await plan.done();
      }
    });
  }
}
