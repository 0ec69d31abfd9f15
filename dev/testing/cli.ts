import { execFile, spawn, type ChildProcess } from "node:child_process";
import { openSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { repoRoot } from "../../scaler/tools/paths.js";

const BIN = join(repoRoot, "bin", "vpsie-autoscaler.js");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a user would, on this Node.js. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, timeout: 300_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
    });
  });
}

/**
 * Starts the built CLI (or another build's, `bin`) with its output appended to a log file, as a pod's
 * would be collected.
 */
export function spawnCliToLog(
  args: string[],
  log: string,
  env: NodeJS.ProcessEnv = process.env,
  bin = BIN,
): ChildProcess {
  const fd = openSync(log, "a");
  return spawn(process.execPath, [bin, ...args], { stdio: ["ignore", fd, fd], env });
}

/**
 * `run` against a test's cluster and project, into a log: planning every 2 s, a 6 s lease (a failover
 * within a test's patience), metrics on a free port; `args` and `env` add a test's own.
 */
export function spawnRun(
  project: { flags: string[]; engine: { passphrase: string } },
  kubeconfig: string,
  log: string,
  extra: { args?: string[]; env?: NodeJS.ProcessEnv } = {},
): ChildProcess {
  return spawnCliToLog(
    [
      "run",
      "--kubeconfig",
      kubeconfig,
      ...project.flags,
      ...(extra.args ?? []),
      "--scan-interval",
      "2",
      "--lease-duration",
      "6",
      "--metrics-address",
      "127.0.0.1:0",
    ],
    log,
    { ...process.env, PULUMI_CONFIG_PASSPHRASE: project.engine.passphrase, ...extra.env },
  );
}

/** Starts a long-running CLI command and waits for a line of its output that matches. */
export async function startCli(args: string[], ready: RegExp, env: NodeJS.ProcessEnv = process.env) {
  const child: ChildProcess = spawn(process.execPath, [BIN, ...args], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  // Logs go to stderr, results to stdout: the line may come on either.
  const lines = [createInterface({ input: child.stdout! }), createInterface({ input: child.stderr! })];
  const seen: string[] = [];
  const said = () => `; it printed:\n${seen.join("\n").slice(-3000)}`;
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no line matching ${ready} within 20s${said()}`)),
      20_000,
    );
    child.once("exit", (code) => reject(new Error(`exited with ${code} before printing ${ready}${said()}`)));
    for (const stream of lines)
      stream.on("line", (line) => {
        seen.push(line);
        const m = ready.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(m);
        }
      });
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  return { child, match, stop };
}
