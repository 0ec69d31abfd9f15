/**
 * The end-to-end world every scaler test starts from: a real control plane, the VPSie emulator whose
 * running workers join it as kwok nodes, a project with one node group and its first node, the apply
 * layer, and (unless told not to) the scaler itself, planning every 2 s and half a second after pods
 * turn unschedulable. `stop()` takes it all down.
 */
import type { z } from "zod";
import type { EmulatorConfig } from "../emulator/config.js";
import { attachJoinHook } from "../emulator/joinHook.js";
import { Applier, type ApplierOptions } from "../../scaler/apply/applier.js";
import { Scaler, type ScalerOptions } from "../../scaler/controller/compose.js";
import { ScalerMetrics } from "../../scaler/observability/metrics.js";
import { startCluster, type TestCluster } from "./cluster.js";
import { GENERAL_GROUP, type TestEmulator, testEmulator } from "./emulator.js";
import { testProject, type TestProject } from "./project.js";

export interface WorldOptions {
  /** Names its directories. */
  name: string;
  /** Changes to the emulator's configuration (the default provisions in 500 ms). */
  emulator?: (config: z.input<typeof EmulatorConfig>) => void;
  /** The node group (default GENERAL_GROUP: size 2, 1 to 3 nodes). */
  group?: Record<string, unknown> & { name: string };
  /** Nodes the group gets before the scaler starts (default 1). */
  firstNodes?: number;
  applier?: Partial<ApplierOptions>;
  /** The scaler's settings; `false` starts none (the test runs its own, e.g. `run` replicas). */
  scaler?: false | Partial<Omit<ScalerOptions, "kubeconfig" | "apply" | "client" | "projectDir">>;
}

export interface World {
  cluster: TestCluster;
  sim: TestEmulator;
  project: TestProject;
  applier: Applier;
  scaler?: Scaler;
  metrics: ScalerMetrics;
  /** What the scaler and the apply layer logged, in order. */
  log: string[];
  stop: () => Promise<void>;
}

export async function startWorld(options: WorldOptions): Promise<World> {
  const cluster = await startCluster(options.name);
  const sim = await testEmulator((c) => {
    c.behaviour = { provisionDelayMs: 500 };
    options.emulator?.(c);
  });
  attachJoinHook(sim.emulator.world, cluster.record.kubeconfig, () => undefined);
  process.env.VPSIE_API_URL = sim.url;
  process.env.VPSIE_TOKEN = "demo-token";
  const project = await testProject(options.name);
  const group = options.group ?? GENERAL_GROUP;
  await project.writeGroup(group);
  const log: string[] = [];
  const metrics = new ScalerMetrics();
  const client = sim.client();
  const applier = new Applier({
    ...project.engine,
    client,
    metrics,
    progress: (m) => log.push(m),
    ...options.applier,
  });
  const firstNodes = options.firstNodes ?? 1;
  if (firstNodes > 0)
    await applier.apply({ group: group.name, add: firstNodes, remove: [], reason: "the group's first node" });
  let scaler: Scaler | undefined;
  if (options.scaler !== false) {
    scaler = new Scaler({
      metrics,
      kubeconfig: cluster.kubeconfig,
      apply: applier,
      client,
      projectDir: project.dir,
      scanIntervalSeconds: 2,
      batch: { idleMs: 500 },
      log: (_level, message) => log.push(message),
      ...options.scaler,
    });
    await scaler.start();
  }
  return {
    cluster,
    sim,
    project,
    applier,
    scaler,
    metrics,
    log,
    stop: async () => {
      await scaler?.stop();
      await sim.stop();
      await cluster.stop();
      await project.remove();
    },
  };
}
