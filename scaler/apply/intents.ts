/**
 * Update intents: a file per stack, written before the scaler starts an update and removed when it
 * ends, with a heartbeat while it runs. After a crash the intent is still there, which is how the
 * next start knows that a lock left on the stack is the crashed scaler's and not a person's.
 */
import { hostname } from "node:os";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { processAlive } from "../system/processes.js";

const Intent = z.object({
  stack: z.string(),
  host: z.string(),
  pid: z.number(),
  startedAt: z.string(),
  heartbeatAt: z.string(),
  message: z.string(),
});
export type Intent = z.infer<typeof Intent>;

/** An intent whose heartbeat is older than this belongs to a scaler that is gone. */
export const INTENT_STALE_MS = 60_000;
const HEARTBEAT_MS = 10_000;

function intentPath(dir: string, stack: string): string {
  return join(dir, "updates", `${stack}.json`);
}

export async function readIntent(dir: string, stack: string): Promise<Intent | undefined> {
  const text = await readFile(intentPath(dir, stack), "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  const parsed = Intent.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : undefined;
}

async function write(dir: string, intent: Intent): Promise<void> {
  const path = intentPath(dir, intent.stack);
  await mkdir(join(dir, "updates"), { recursive: true });
  await writeFile(`${path}.tmp`, JSON.stringify(intent, null, 2));
  await rename(`${path}.tmp`, path);
}

/** Whether the scaler that wrote the intent can no longer be running its update. */
export function intentAbandoned(intent: Intent, now = Date.now()): boolean {
  if (intent.host === hostname() && intent.pid === process.pid) return false;
  if (intent.host === hostname()) return !processAlive(intent.pid);
  return now - Date.parse(intent.heartbeatAt) > INTENT_STALE_MS;
}

/** Records the intent, runs the update, and removes the intent whatever the outcome. */
export async function withIntent<T>(
  dir: string,
  stack: string,
  message: string,
  work: () => Promise<T>,
): Promise<T> {
  const now = () => new Date().toISOString();
  const intent: Intent = {
    stack,
    host: hostname(),
    pid: process.pid,
    startedAt: now(),
    heartbeatAt: now(),
    message,
  };
  await write(dir, intent);
  let beat = Promise.resolve();
  const heartbeat = setInterval(() => {
    beat = beat.then(() => write(dir, { ...intent, heartbeatAt: now() })).catch(() => undefined);
  }, HEARTBEAT_MS);
  try {
    return await work();
  } finally {
    clearInterval(heartbeat);
    await beat;
    await rm(intentPath(dir, stack), { force: true });
  }
}

export async function clearIntent(dir: string, stack: string): Promise<void> {
  await rm(intentPath(dir, stack), { force: true });
}
