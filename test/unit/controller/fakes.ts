/**
 * Fakes of the controller's ports (as Karpenter's pkg/cloudprovider/fake): a clock that moves only when
 * told, a cluster whose snapshot the test sets, an apply layer that records requests and answers as
 * told, Node operations, and recorders for events and the status. `harness()` wires them to the real
 * loop, actuator and reporter.
 */
import type { ScaleRequest, ScaleResult } from "../../../scaler/apply/applier.js";
import type { RecoveryReport } from "../../../scaler/apply/recovery.js";
import { Actuator } from "../../../scaler/controller/actuator.js";
import { ScalerLoop } from "../../../scaler/controller/loop.js";
import type {
  ApplyLayer,
  Clock,
  ClusterSource,
  DrainOutcome,
  EventRecorder,
  GroupSource,
  InvolvedObject,
  NodeOperations,
} from "../../../scaler/controller/ports.js";
import { Reporter } from "../../../scaler/controller/reporter.js";
import { defaultPlannerOptions, type PlannerOptions } from "../../../scaler/decision/options.js";
import type { NodeGroup, Pod, Snapshot } from "../../../scaler/decision/types.js";
import type { NodeGroupConfig } from "../../../stacks/contract.js";
import type { StackSync } from "../../../scaler/apply/stackStore.js";
import type { ReviewGate } from "../../../scaler/review/gate.js";
import { group as decisionGroup, NOW } from "../decision/builders.js";

export class FakeClock implements Clock {
  time = NOW;
  #timers: Array<{ at: number; run: () => void }> = [];

  now(): number {
    return this.time;
  }

  async sleep(ms: number): Promise<void> {
    this.time += ms;
  }

  after(ms: number, run: () => void): () => void {
    const timer = { at: this.time + ms, run };
    this.#timers.push(timer);
    return () => {
      this.#timers = this.#timers.filter((t) => t !== timer);
    };
  }

  /** Moves time on, running the timers that fall due. */
  advance(ms: number): void {
    this.time += ms;
    const due = this.#timers.filter((t) => t.at <= this.time);
    this.#timers = this.#timers.filter((t) => t.at > this.time);
    for (const timer of due) timer.run();
  }
}

export class FakeCluster implements ClusterSource {
  current: Snapshot = { nodes: [], pods: [], pdbs: [] };
  notSynced?: string;
  readonly listeners: Array<() => void> = [];

  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  notReady(): string | undefined {
    return this.notSynced;
  }
  snapshot(): Snapshot {
    return this.current;
  }
  onUnschedulable(listener: () => void): void {
    this.listeners.push(listener);
  }
}

/** The apply layer: records every request, and answers with `answer` (default: done as asked). */
export class FakeApply implements ApplyLayer {
  readonly requests: ScaleRequest[] = [];
  readonly recovered: string[] = [];
  answer: (request: ScaleRequest) => Promise<ScaleResult> = async (request) => ({
    group: request.group,
    from: 0,
    to: request.add,
    created: Array.from({ length: request.add }, (_, i) => ({ key: `${request.group}-n${i}` })),
    deleted: request.remove,
    message: `${request.add ? "scale-up" : "scale-down"} ${request.group}: ${request.reason}`,
    preview: { changes: {}, output: "" },
    requests: 1,
  });

  apply(request: ScaleRequest): Promise<ScaleResult> {
    this.requests.push(request);
    return this.answer(request);
  }
  /** What recovery reports for every group (default: nothing to recover). */
  recovery: RecoveryReport | undefined;
  async recover(group: string) {
    this.recovered.push(group);
    return this.recovery;
  }
  async nodeNames(): Promise<Record<string, string>> {
    return {};
  }
}

export class FakeNodes implements NodeOperations {
  readonly drained: string[] = [];
  readonly removed: string[] = [];
  readonly labelled: string[] = [];
  readonly untainted: string[] = [];
  drainOutcome: DrainOutcome = { drained: true, evicted: 0 };

  async label(node: string): Promise<void> {
    this.labelled.push(node);
  }
  async drain(node: string, _pods: Pod[]): Promise<DrainOutcome> {
    this.drained.push(node);
    return this.drainOutcome;
  }
  async untaint(node: string): Promise<void> {
    this.untainted.push(node);
  }
  async remove(node: string): Promise<void> {
    this.removed.push(node);
  }
}

export class RecordedEvents implements EventRecorder {
  readonly events: Array<{ object: InvolvedObject; reason: string; message: string }> = [];
  /** Runs on every event: lets a test change the world in the middle of a loop. */
  during?: () => void;

  async record(object: InvolvedObject, reason: string, message: string): Promise<void> {
    this.events.push({ object, reason, message });
    this.during?.();
  }
}

export class FakeGroups implements GroupSource {
  readonly hostnames = new Map<string, string>();
  constructor(readonly groups: NodeGroupConfig[]) {}

  async configs(): Promise<NodeGroupConfig[]> {
    return this.groups;
  }
  /** As the real catalog: members whose node has not registered are upcoming. */
  async decisionGroups(
    configs: NodeGroupConfig[],
    registered: ReadonlySet<string>,
    now: number,
  ): Promise<NodeGroup[]> {
    return configs.map((c) =>
      decisionGroup(c.name, {
        minNodes: c.minNodes,
        maxNodes: c.maxNodes,
        labels: c.labels,
        upcoming: c.nodes
          .filter((key) => !registered.has(this.hostnames.get(key) ?? ""))
          .map((key) => ({ key, requestedAt: now })),
      }),
    );
  }
  keyOf(nodeName: string): string | undefined {
    for (const [key, host] of this.hostnames) if (host === nodeName) return key;
    return undefined;
  }
}

export function groupConfig(name: string, overrides: Partial<NodeGroupConfig> = {}): NodeGroupConfig {
  return {
    name,
    cluster: "c1",
    kubeSizeId: 2,
    minNodes: 0,
    maxNodes: 10,
    labels: {},
    taints: [],
    nodes: [],
    ...overrides,
  };
}

/** `review` builds the review gate on the harness's clock, when the test wants shadow mode or approvals. */
export function harness(
  groups: NodeGroupConfig[],
  planner: Partial<PlannerOptions> = {},
  review?: (clock: Clock) => ReviewGate,
) {
  const clock = new FakeClock();
  const cluster = new FakeCluster();
  const apply = new FakeApply();
  const nodes = new FakeNodes();
  const events = new RecordedEvents();
  const statuses: string[] = [];
  /** What the stack store's pull answers each loop (the Git store's, in a cluster). */
  const store: { sync: StackSync } = {
    sync: { changed: [], held: new Set(), problems: [], settings: [] },
  };
  const catalog = new FakeGroups(groups);
  const gate = review?.(clock);
  const logs: string[] = [];
  const log = (_level: string, message: string) => void logs.push(message);
  const reporter = new Reporter({
    events,
    status: { write: async (status) => void statuses.push(status) },
    statusObject: { namespace: "kube-system", name: "vpsie-autoscaler-status" },
    clock,
    log,
    planner: defaultPlannerOptions,
  });
  const outcomes: Array<Parameters<ScalerLoop["handle"]>[0]> = [];
  const actuator = new Actuator({
    apply,
    nodes,
    catalog,
    log,
    review: gate,
    onOutcome: (outcome) => {
      outcomes.push(outcome);
      loop.handle(outcome);
    },
  });
  const loop = new ScalerLoop({
    clock,
    cluster,
    catalog,
    apply,
    actuator,
    reporter,
    nodes,
    planner,
    log,
    review: gate,
    syncStackConfig: async () => store.sync,
  });
  loop.acting = true;
  /** One loop, and every action it started, to the end. */
  const tick = async () => {
    await loop.tick();
    await actuator.settle();
  };
  return {
    clock,
    cluster,
    apply,
    nodes,
    events,
    statuses,
    store,
    catalog,
    logs,
    outcomes,
    actuator,
    loop,
    tick,
  };
}
