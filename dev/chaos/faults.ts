/**
 * The faults the campaign injects, one a round at a random moment: the scaler's processes killed, the
 * control plane restarted or stalled, VPSie misbehaving in each way the evidence shows, and people
 * getting in the way. Each resolves once the fault is over (its faults cleared, its lock released).
 */
import { readFile, rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { pauseComponent, restartComponent } from "../localcluster/controlPlane.js";
import { writePersonLock } from "../testing/personLock.js";
import { NAMESPACE, STACKS, type ChaosWorld } from "./world.js";

export const FAULTS = [
  "kill-leader",
  "kill-standby",
  "apiserver-restart",
  "etcd-stall",
  "etcd-slow",
  "vpsie-429",
  "vpsie-5xx",
  "vpsie-html502",
  "vpsie-lost-answer",
  "vpsie-latency",
  "vpsie-circuit-open",
  "person-holds-lock",
  "person-edits-stacks",
] as const;
export type Fault = (typeof FAULTS)[number];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Phases of the leader's work a kill aims at, by the log line that starts each. */
const PHASES = [
  { name: "an update (preview and update)", line: /"msg":"updating stack / },
  { name: "a drain", line: /"msg":"scale-down of \S+: draining / },
  { name: "a removal of empty nodes", line: /"msg":"scale-down of \S+: removing empty / },
  { name: "planning", line: /"msg":"(scale-up of|applied: )/ },
] as const;

/** Waits until a line matching `line` is added to the log; false when none came within `ms`. */
async function waitForLine(log: string, line: RegExp, ms: number): Promise<boolean> {
  const from = (await readFile(log, "utf8").catch(() => "")).length;
  for (const until = Date.now() + ms; Date.now() < until; await sleep(100))
    if (line.test((await readFile(log, "utf8").catch(() => "")).slice(from))) return true;
  return false;
}

/** VPSie faults for a while, then cleared, as an outage ends. */
async function vpsie(world: ChaosWorld, ms: number, ...rules: Parameters<ChaosWorld["sim"]["addFaults"]>) {
  await world.sim.addFaults(...rules);
  await sleep(ms);
  await world.sim.clearFaults();
}

/** Injects the fault; `pick` chooses among its variants. Resolves with what was done, in words. */
export async function inject(world: ChaosWorld, fault: Fault, pick: (n: number) => number): Promise<string> {
  switch (fault) {
    case "kill-leader": {
      // A phase is aimed at: the leader is killed a random moment after it logs the phase's start (an
      // update's preview and update run in one engine process; a drain; a removal), or whenever it is
      // when the phase does not come within 20 s.
      const phase = PHASES[pick(PHASES.length)] ?? PHASES[0];
      const leader = await world.leader();
      if (!leader) return "no leader to kill";
      const seen = await waitForLine(leader.log, phase.line, 20_000);
      await sleep(pick(2_000));
      await world.killAndRestart(leader);
      return `killed the leader ${leader.name}'s process tree (kill -9) ${seen ? `during ${phase.name}` : `(${phase.name} did not come within 20 s)`} and started it again`;
    }
    case "kill-standby": {
      const leader = await world.leader();
      const target = world.replicas.find((r) => r !== leader && r.child.exitCode === null);
      if (!target) return "no standby to kill";
      await world.killAndRestart(target);
      return `killed the standby ${target.name}'s process tree (kill -9) and started it again`;
    }
    case "apiserver-restart":
      await restartComponent(world.cluster.record, "kube-apiserver");
      return "restarted kube-apiserver";
    case "etcd-stall": {
      const ms = 3_000 + pick(5) * 1_000;
      await pauseComponent(world.cluster.record, "etcd", ms);
      return `stalled etcd for ${ms / 1000}s`;
    }
    case "etcd-slow":
      for (let i = 0; i < 20; i++) {
        await pauseComponent(world.cluster.record, "etcd", 400);
        await sleep(200);
      }
      return "slowed etcd (paused 400 ms of every 600 ms for 12 s)";
    case "vpsie-429":
      await vpsie(world, 8_000, { kind: "rateLimit", retryAfterSeconds: 1, probability: 0.5 });
      return "VPSie answered half the requests with 429 for 8 s";
    case "vpsie-5xx":
      await vpsie(world, 8_000, { kind: "error", status: 503, probability: 0.5 });
      return "VPSie answered half the requests with 503 for 8 s";
    case "vpsie-html502":
      await vpsie(world, 8_000, { kind: "html502", probability: 0.5 });
      return "a proxy answered half the requests with an HTML 502 for 8 s";
    case "vpsie-lost-answer": {
      const answer = (["html502", "timeout", "reset"] as const)[pick(3)] ?? "html502";
      const path = ["add/slave", "delete/slave"][pick(2)] ?? "add/slave";
      await vpsie(world, 30_000, { kind: "lostAnswer", path, answer, times: 1 });
      return `VPSie carried out the next ${path} and its answer was lost (${answer})`;
    }
    case "vpsie-latency":
      await vpsie(world, 10_000, { kind: "latency", latencyMs: 2_000 + pick(4) * 1_000 });
      return "VPSie answered every request seconds late for 10 s";
    case "vpsie-circuit-open":
      await vpsie(world, 6_000, { kind: "error", status: 500 });
      return "VPSie failed every request for 6 s (the circuit opens)";
    case "person-holds-lock": {
      const lock = await writePersonLock(fileURLToPath(world.project.engine.backendUrl), "general");
      const ms = 5_000 + pick(6) * 1_000;
      await sleep(ms);
      await rm(lock, { force: true });
      return `a person held the stack's lock for ${ms / 1000}s`;
    }
    case "person-edits-stacks": {
      const cm = await world.core.readNamespacedConfigMap({ name: STACKS, namespace: NAMESPACE });
      const key = "Pulumi.general.yaml";
      const text = (cm.data?.[key] ?? "").replace(/^# .*\n/, "");
      await world.core.replaceNamespacedConfigMap({
        name: STACKS,
        namespace: NAMESPACE,
        body: {
          ...cm,
          data: { ...cm.data, [key]: `# edited by a person at ${new Date().toISOString()}\n${text}` },
        },
      });
      return "a person edited the stacks ConfigMap";
    }
  }
}
