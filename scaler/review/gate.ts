/**
 * The review gate between a decision and its update. In shadow mode every action is previewed and
 * recorded, and none runs. Otherwise an action the approval policy names is previewed, its preview saved
 * as an update plan and recorded as pending; the leader applies it once a person approves it, held to
 * that plan, unless it expired or the group changed meanwhile (then it is dropped and planned again).
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ActionPreview, ScaleRequest } from "../apply/applier.js";
import type { Clock, Log } from "../controller/ports.js";
import { formatDuration } from "../units/durations.js";
import {
  type ApprovalPolicy,
  approvalRule,
  DEFAULT_APPROVAL_EXPIRY_MS,
  type ProposedAction,
} from "./policy.js";
import { newReviewId, type ReviewRecord, type ReviewStatus, sameAction } from "./records.js";
import { prunable, type ReviewStore } from "./store.js";

export type ScalerMode = "live" | "shadow";

export interface ReviewGateOptions {
  mode: ScalerMode;
  policy?: ApprovalPolicy;
  store: ReviewStore;
  /** The apply layer's preview (scaler/apply/applier.ts), saving an update plan where asked. */
  preview: (request: ScaleRequest, savePlan?: string) => Promise<ActionPreview>;
  clock: Clock;
  log: Log;
}

/** An action the gate held: its record, and whether this call made it (so people are told once). */
export interface Held {
  record: ReviewRecord;
  created: boolean;
}

export class ReviewGate {
  readonly #o: ReviewGateOptions;

  constructor(options: ReviewGateOptions) {
    this.#o = options;
  }

  get mode(): ScalerMode {
    return this.#o.mode;
  }

  #iso(): string {
    return new Date(this.#o.clock.now()).toISOString();
  }

  /**
   * Whether the action waits: undefined lets it run now. Held actions are recorded with their preview;
   * an action already recorded (shadow mode deciding the same again, a pending one planned again) is
   * not previewed twice.
   */
  async hold(action: ProposedAction, request: ScaleRequest): Promise<Held | undefined> {
    const shadow = this.#o.mode === "shadow";
    const rule = shadow ? undefined : approvalRule(action, this.#o.policy);
    if (!shadow && !rule) return undefined;
    const { records } = await this.#o.store.list();
    const now = this.#iso();
    if (shadow) {
      const last = records.find((r) => r.group === action.group && r.status === "shadow");
      if (last && sameAction(last, action)) {
        const again = { ...last, lastSeenAt: now, seen: last.seen + 1 };
        await this.#o.store.put(again);
        return { record: again, created: false };
      }
    } else {
      const waiting = records.find(
        (r) =>
          r.group === action.group &&
          r.kind === action.kind &&
          (r.status === "pending" || r.status === "approved"),
      );
      if (waiting) return { record: waiting, created: false };
      // A person said no: the same action is not asked again until the expiry has passed since.
      const expiry = this.#o.policy?.expireAfter ?? DEFAULT_APPROVAL_EXPIRY_MS;
      const rejected = records.find(
        (r) =>
          r.status === "rejected" &&
          sameAction(r, action) &&
          this.#o.clock.now() - Date.parse(r.decidedAt ?? r.createdAt) < expiry,
      );
      if (rejected) return { record: rejected, created: false };
    }
    const dir = shadow ? undefined : await mkdtemp(join(tmpdir(), "vpsie-autoscaler-plan-"));
    try {
      const planFile = dir && join(dir, "plan.json");
      const preview = await this.#o.preview(request, planFile);
      const record: ReviewRecord = {
        id: newReviewId(new Date(this.#o.clock.now())),
        status: shadow ? "shadow" : "pending",
        kind: action.kind,
        group: action.group,
        add: preview.added.length,
        remove: action.remove.filter((r) => preview.removed.includes(r.key)),
        pods: action.pods,
        reason: request.reason,
        ...(rule && { rule }),
        message: preview.message,
        diff: preview.diff,
        changes: preview.changes,
        ...(preview.cost && { cost: preview.cost }),
        keys: preview.added,
        members: preview.members,
        ...(planFile && !preview.skipped && { plan: await readFile(planFile, "utf8") }),
        createdAt: now,
        lastSeenAt: now,
        seen: 1,
        ...(!shadow && {
          expiresAt: new Date(
            this.#o.clock.now() + (this.#o.policy?.expireAfter ?? DEFAULT_APPROVAL_EXPIRY_MS),
          ).toISOString(),
        }),
        ...(preview.skipped && {
          status: "failed" as const,
          outcome: `nothing to apply: ${preview.skipped}`,
        }),
      };
      await this.#o.store.put(record);
      await this.#o.store.remove(prunable([record, ...records]));
      return { record, created: true };
    } finally {
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * Approved actions to apply now, after dropping those not decided in time. Read by the leader every
   * loop; a person's approval from the CLI or the console only changes the record.
   */
  async due(): Promise<{ approved: ReviewRecord[]; expired: ReviewRecord[] }> {
    if (this.#o.mode === "shadow") return { approved: [], expired: [] };
    const { records } = await this.#o.store.list();
    const now = this.#o.clock.now();
    const expired: ReviewRecord[] = [];
    for (const record of records) {
      if (record.status !== "pending" || !record.expiresAt || Date.parse(record.expiresAt) > now) continue;
      const waited = formatDuration(now - Date.parse(record.createdAt));
      expired.push(
        await this.settle(record, "expired", `not approved within ${waited}: dropped, and planned again`),
      );
    }
    return { approved: records.filter((r) => r.status === "approved").reverse(), expired };
  }

  /** Records what became of a reviewed action. */
  async settle(record: ReviewRecord, status: ReviewStatus, outcome: string): Promise<ReviewRecord> {
    const settled = { ...record, status, outcome };
    await this.#o.store.put(settled);
    this.#o.log(
      status === "applied" ? "info" : "warn",
      `review ${record.id} of ${record.group}: ${status}: ${outcome}`,
      {
        group: record.group,
        review: record.id,
      },
    );
    return settled;
  }

  /** The record's saved plan as a file, for `pulumi up --plan`; `done` removes it. */
  async planFile(record: ReviewRecord): Promise<{ path: string; done: () => Promise<void> }> {
    if (!record.plan) throw new Error(`review ${record.id} has no saved plan`);
    const dir = await mkdtemp(join(tmpdir(), "vpsie-autoscaler-plan-"));
    const path = join(dir, "plan.json");
    await writeFile(path, record.plan);
    return { path, done: () => rm(dir, { recursive: true, force: true }) };
  }
}
