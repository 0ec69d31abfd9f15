/**
 * The chaos campaign (`npm run chaos -- --rounds N --seed S`): rounds of a changing workload with one
 * random fault each at a random moment, against two `run` replicas with leader election on a real
 * control plane with the emulator; after each round, once the world settles, the invariants. A
 * violation keeps the world's directory for inspection, fails the run and prints the seed to replay.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { TO_BE_DELETED_TAINT } from "../../scaler/decision/types.js";
import { printTable, writeResults } from "../bench/report.js";
import { accountFor, exactlyOnceViolations } from "../testing/invariants.js";
import { FAULTS, type Fault, inject } from "./faults.js";
import { auditLogs } from "./logAudit.js";
import {
  type ChaosWorld,
  GROUP,
  INTENTS,
  memberKeys,
  NAMESPACE,
  PASSPHRASE,
  PODS_PER_NODE,
  startChaosWorld,
} from "./world.js";

const USAGE = `usage: npm run chaos -- [--rounds N] [--seed S] [--settle-seconds T]

Rounds of a changing workload and one random fault each against two \`run\` replicas; checks the
invariants after each round and prints "N rounds, 0 violations", or the violation and the seed to replay.

  --rounds N           rounds to run (default 10)
  --seed S             the seed of the random choices (default: from the clock; printed)
  --settle-seconds T   how long a round may take to settle before it counts as a violation (default 240)

examples:
  npm run chaos -- --rounds 100 --seed 1
  npm run chaos -- --rounds 5 --seed 7`;

function parseFlags() {
  try {
    const { values } = parseArgs({
      options: {
        rounds: { type: "string", default: "10" },
        seed: { type: "string" },
        "settle-seconds": { type: "string", default: "240" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    const number = (name: string, value: string | undefined, min: number) => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < min)
        throw new Error(`--${name} ${value}: expected a whole number ≥ ${min}`);
      return n;
    };
    return {
      rounds: number("rounds", values.rounds, 1),
      seed: values.seed === undefined ? Date.now() % 2 ** 31 : number("seed", values.seed, 0),
      settleMs: number("settle-seconds", values["settle-seconds"], 10) * 1000,
    };
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
}

const started = Date.now();
const progress = (line: string) =>
  process.stderr.write(`[${String(Math.round((Date.now() - started) / 1000)).padStart(5)} s] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Nodes the workload needs: two web pods a node, and the group's minimum. */
const needed = (pods: number) => Math.max(GROUP.minNodes, Math.ceil(pods / PODS_PER_NODE));

/** Everything that must hold once the world has settled, in words; [] when it all holds. */
async function check(world: ChaosWorld, pods: number): Promise<string[]> {
  const violations: string[] = [];
  for (const replica of world.replicas) {
    const code = replica.child.exitCode ?? replica.child.signalCode;
    if (code !== null && replica.history.at(-1)?.diedAt === undefined) {
      const lines = (await readFile(replica.log, "utf8").catch(() => "")).trim().split("\n");
      violations.push(`${replica.name} exited on its own (${code}): ${lines.at(-1)?.slice(0, 300)}`);
    }
  }
  const keys = await memberKeys(world.core);
  // The harness's own copy of the stack file, for the state's reader.
  const cm = await world.core.readNamespacedConfigMap({
    name: "vpsie-autoscaler-stacks",
    namespace: NAMESPACE,
  });
  await writeFile(
    join(world.project.dir, "stacks", "Pulumi.general.yaml"),
    cm.data?.["Pulumi.general.yaml"] ?? "",
  );
  const account = await accountFor(
    world.sim.client(),
    { ...world.project.engine, passphrase: PASSPHRASE },
    GROUP,
  );
  if (JSON.stringify(account.keys) !== JSON.stringify(keys))
    violations.push("member keys differ from the ConfigMap's");
  violations.push(...exactlyOnceViolations(account));
  const nodes = (await world.core.listNode()).items;
  const ghosts = nodes.filter((n) => !account.workers.includes(n.metadata?.name ?? ""));
  if (ghosts.length > 0)
    violations.push(`Kubernetes Nodes without a worker: ${ghosts.map((n) => n.metadata?.name).join(", ")}`);
  const tainted = nodes.filter((n) => n.spec?.taints?.some((t) => t.key === TO_BE_DELETED_TAINT));
  if (tainted.length > 0)
    violations.push(
      `nodes left with ${TO_BE_DELETED_TAINT}: ${tainted.map((n) => n.metadata?.name).join(", ")}`,
    );
  const intents =
    (await world.core.readNamespacedConfigMap({ name: INTENTS, namespace: NAMESPACE })).data ?? {};
  if (Object.keys(intents).length > 0)
    violations.push(`update intents left: ${Object.keys(intents).join(", ")}`);
  const web = (
    await world.core.listNamespacedPod({ namespace: "default", labelSelector: "app=web" })
  ).items.filter((p) => !p.metadata?.deletionTimestamp);
  const running = web.filter((p) => p.status?.phase === "Running").length;
  if (running !== pods || web.length !== pods)
    violations.push(`${running} of ${pods} web pods Running (${web.length} exist)`);
  if (account.workers.length > needed(pods) + 1)
    violations.push(
      `runaway: ${account.workers.length} workers for ${pods} pods (${needed(pods)} needed, plus one)`,
    );
  return violations;
}

/** Waits until the invariants hold on two reads 3 s apart; else the last violations, with the wait. */
async function settle(
  world: ChaosWorld,
  pods: number,
  timeoutMs: number,
): Promise<{ seconds: number; violations: string[] }> {
  const from = Date.now();
  let held = 0;
  let last: string[] = [];
  while (Date.now() - from < timeoutMs) {
    last = await check(world, pods).catch((err: unknown) => [`could not check: ${(err as Error).message}`]);
    held = last.length === 0 ? held + 1 : 0;
    if (held >= 2) return { seconds: Math.round((Date.now() - from) / 1000), violations: [] };
    await sleep(3_000);
  }
  return {
    seconds: Math.round(timeoutMs / 1000),
    violations: [`not settled within ${timeoutMs / 1000}s`, ...last],
  };
}

async function main() {
  const flags = parseFlags();
  const rng = xoroshiro128plus(flags.seed);
  const pick = (n: number) => uniformInt(rng, 0, n - 1);
  progress(`chaos campaign: ${flags.rounds} rounds, seed ${flags.seed}`);
  const world = await startChaosWorld();
  const leader = await (async () => {
    for (const until = Date.now() + 90_000; Date.now() < until; await sleep(500)) {
      const found = await world.leader();
      if (found) return found;
    }
    throw new Error("no replica became the leader within 90 s");
  })();
  progress(`world ready in ${world.dir}: ${leader.name} leads`);
  const counts = Object.fromEntries(FAULTS.map((f) => [f, 0])) as Record<Fault, number>;
  const rounds: Array<Record<string, unknown>> = [];
  let order: Fault[] = [];
  let failed: string[] = [];
  for (let round = 1; round <= flags.rounds; round++) {
    // Every fault type once per cycle, in a random order: coverage even in short campaigns.
    if (order.length === 0) {
      order = [...FAULTS];
      for (let i = order.length - 1; i > 0; i--) {
        const j = pick(i + 1);
        [order[i], order[j]] = [order[j] as Fault, order[i] as Fault];
      }
    }
    const fault = order.shift() as Fault;
    const pods = pick(9);
    const pdb = pick(2) === 1;
    const delay = pick(6_000);
    progress(
      `round ${round}/${flags.rounds}: web → ${pods} pods${pdb ? " with a PDB" : ""}; ${fault} after ${delay} ms`,
    );
    await world.setWorkload(pods, pdb);
    await sleep(delay);
    const did = await inject(world, fault, pick).catch(
      (err: unknown) => `could not inject: ${(err as Error).message}`,
    );
    progress(`  ${did}`);
    counts[fault] += 1;
    const settled = await settle(world, pods, flags.settleMs);
    const violations = [...settled.violations, ...auditLogs(await world.logs())];
    rounds.push({
      round,
      fault,
      did,
      pods,
      pdb,
      delayMs: delay,
      settledSeconds: settled.seconds,
      violations,
    });
    if (violations.length > 0) {
      failed = violations;
      progress(`  VIOLATION in round ${round}:`);
      for (const v of violations) progress(`    ${v}`);
      progress(`  replay: npm run chaos -- --rounds ${round} --seed ${flags.seed}`);
      progress(`  the world is kept for inspection: ${world.dir} (replica logs in replica-*/run-*.log)`);
      break;
    }
    progress(`  settled in ${settled.seconds}s: invariants hold`);
  }
  process.stdout.write("\n");
  printTable(
    ["fault", "rounds"],
    FAULTS.map((f) => [f, counts[f]]),
  );
  writeResults("chaos", {
    seed: flags.seed,
    rounds: rounds.length,
    violations: failed,
    faults: counts,
    minutes: Math.round((Date.now() - started) / 6_000) / 10,
    detail: rounds,
  });
  if (failed.length > 0) {
    await world.stopProcesses();
    process.stdout.write(`${rounds.length} rounds, ${failed.length} violation(s); seed ${flags.seed}\n`);
    process.exit(1);
  }
  await world.stop();
  process.stdout.write(`${rounds.length} rounds, 0 violations (seed ${flags.seed})\n`);
  // Something of the world's keeps a handle open after a round with a held (timed-out) VPSie answer:
  // the campaign is over once it has said so.
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`chaos campaign failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
