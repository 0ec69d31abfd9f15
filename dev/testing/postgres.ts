import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { eventually } from "./cluster.js";

export interface TestPostgres {
  url: string;
  stop: () => Promise<void>;
}

/** Debian's PostgreSQL server binaries, which are not on PATH. */
function serverBinDir(): string {
  const base = "/usr/lib/postgresql";
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  const dir = versions.map((v) => join(base, v, "bin")).find((d) => existsSync(join(d, "initdb")));
  if (!dir) {
    throw new Error(
      "PostgreSQL is needed for the postgres:// backend tests and is not installed: `apt-get install postgresql` (Debian)",
    );
  }
  return dir;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A throw-away PostgreSQL server on 127.0.0.1; as root it runs as the `postgres` user, as PostgreSQL insists. */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = serverBinDir();
  const dir = mkdtempSync(join(tmpdir(), "vpsie-autoscaler-pg-"));
  const asRoot = userInfo().uid === 0;
  // setpriv execs the server itself (no process in between), so signals reach PostgreSQL.
  const run = (file: string, args: string[]) =>
    (asRoot
      ? ["setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", file, ...args]]
      : [file, args]) as [string, string[]];
  if (asRoot)
    chownSync(
      dir,
      Number(execFileSync("id", ["-u", "postgres"]).toString()),
      Number(execFileSync("id", ["-g", "postgres"]).toString()),
    );
  const data = join(dir, "data");
  execFileSync(...run(join(bin, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"]), {
    stdio: "ignore",
  });
  const port = await freePort();
  const server: ChildProcess = spawn(
    ...run(join(bin, "postgres"), [
      "-D",
      data,
      "-p",
      String(port),
      "-k",
      dir,
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "fsync=off",
    ]),
    { stdio: "ignore" },
  );
  const url = `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable`;
  await eventually(
    "PostgreSQL to accept connections",
    async () => {
      const client = new pg.Client({ connectionString: url });
      try {
        await client.connect();
        await client.end();
        return true;
      } catch {
        return undefined;
      }
    },
    30_000,
  );
  return {
    url,
    stop: async () => {
      const exited = new Promise((resolve) => server.once("exit", resolve));
      server.kill("SIGINT"); // PostgreSQL's fast shutdown
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
