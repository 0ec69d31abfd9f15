/**
 * Who holds a stack's lock on a DIY backend. Pulumi writes one lock object per update at
 * .pulumi/locks/organization/<project>/<stack>/<id>.json with the pid, user, host and time of the CLI
 * that took it, and has no expiry: a killed update leaves its lock behind.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { z } from "zod";

const LockContent = z.object({
  pid: z.number(),
  username: z.string(),
  hostname: z.string(),
  timestamp: z.string(),
});
export type StackLock = z.infer<typeof LockContent> & { id: string };

function lockPrefix(project: string, stack: string): string {
  return `.pulumi/locks/organization/${project}/${stack}/`;
}

async function fileLocks(root: string, prefix: string): Promise<StackLock[]> {
  const dir = join(root, prefix);
  const names = await readdir(dir).catch(() => [] as string[]);
  const locks: StackLock[] = [];
  for (const name of names.filter((n) => n.endsWith(".json"))) {
    const parsed = LockContent.safeParse(
      JSON.parse(await readFile(join(dir, name), "utf8").catch(() => "null")),
    );
    if (parsed.success) locks.push({ ...parsed.data, id: name.replace(/\.json$/, "") });
  }
  return locks;
}

async function postgresLocks(url: URL, lockPath: string): Promise<StackLock[]> {
  // The backend keeps every object under the URL's path (the database name) as a key prefix.
  const prefix = `${url.pathname.replace(/^\/+/, "")}/${lockPath}`;
  const table = url.searchParams.get("table") ?? "pulumi_state";
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(table))
    throw new Error(`unexpected table name ${table} in the backend URL`);
  url.searchParams.delete("table");
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const result = await client.query<{ key: string; data: unknown }>(
      `SELECT key, data FROM ${table} WHERE key LIKE $1`,
      [`${prefix}%`],
    );
    // Each object is stored as {"data": "<base64 of its bytes>"}.
    return result.rows.flatMap((row) => {
      const blob = (typeof row.data === "string" ? JSON.parse(row.data) : row.data) as {
        data?: string;
      } | null;
      const text = Buffer.from(blob?.data ?? "", "base64").toString("utf8");
      const parsed = LockContent.safeParse(text ? JSON.parse(text) : undefined);
      return parsed.success
        ? [{ ...parsed.data, id: row.key.slice(prefix.length).replace(/\.json$/, "") }]
        : [];
    });
  } finally {
    await client.end();
  }
}

/** The stack's locks, or undefined when this backend cannot be inspected (s3, azblob, gs). */
export async function listLocks(
  backendUrl: string,
  project: string,
  stack: string,
): Promise<StackLock[] | undefined> {
  const url = new URL(backendUrl);
  const prefix = lockPrefix(project, stack);
  if (url.protocol === "file:") return fileLocks(fileURLToPath(url), prefix);
  if (url.protocol === "postgres:" || url.protocol === "postgresql:") return postgresLocks(url, prefix);
  return undefined;
}

export function describeLock(lock: StackLock): string {
  return `${lock.username}@${lock.hostname} (pid ${lock.pid}) since ${lock.timestamp}`;
}
