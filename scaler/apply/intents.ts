/**
 * Update intents: one per stack, written before the scaler starts an update and removed when it ends,
 * with a heartbeat while it runs. After a crash the intent is still there, which is how the
 * next start knows that a lock left on the stack is the crashed scaler's and not a person's.
 */
import { randomUUID } from "node:crypto";
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
  /** Which run of the scaler wrote it: a restarted container can have the same host name and pid. */
  instance: z.string().optional(),
});
export type Intent = z.infer<typeof Intent>;

/** An intent whose heartbeat is older than this belongs to a scaler that is gone. */
export const INTENT_STALE_MS = 60_000;
const HEARTBEAT_MS = 10_000;

/** Where intents are kept: files on the scaler's disk, or (in a cluster) a ConfigMap every replica reads. */
export interface IntentStore {
  read(stack: string): Promise<Intent | undefined>;
  write(intent: Intent): Promise<void>;
  remove(stack: string): Promise<void>;
}

/** An intent as stored; anything else (a torn or foreign entry) is no intent. */
export function parseIntent(text: string | undefined): Intent | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed = Intent.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** One file per stack under `<dir>/updates/`. */
export function fileIntents(dir: string): IntentStore {
  const path = (stack: string) => join(dir, "updates", `${stack}.json`);
  return {
    read: async (stack) => parseIntent(await readFile(path(stack), "utf8").catch(() => undefined)),
    write: async (intent) => {
      await mkdir(join(dir, "updates"), { recursive: true });
      await writeFile(`${path(intent.stack)}.tmp`, JSON.stringify(intent, null, 2));
      await rename(`${path(intent.stack)}.tmp`, path(intent.stack));
    },
    remove: (stack) => rm(path(stack), { force: true }),
  };
}

/** Whether the scaler that wrote the intent can no longer be running its update. */
export function intentAbandoned(intent: Intent, now = Date.now()): boolean {
  if (intentIsOurs(intent)) return false;
  if (intent.host === hostname()) return intent.pid === process.pid || !processAlive(intent.pid);
  return now - Date.parse(intent.heartbeatAt) > INTENT_STALE_MS;
}

/** This run of the scaler, told apart from an earlier one on the same host with the same pid. */
const INSTANCE = randomUUID();

export function intentIsOurs(intent: Intent): boolean {
  return intent.instance === INSTANCE;
}

/** Records the intent, runs the update, and removes the intent whatever the outcome. */
export async function withIntent<T>(
  store: IntentStore,
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
    instance: INSTANCE,
  };
  await store.write(intent);
  let beat = Promise.resolve();
  const heartbeat = setInterval(() => {
    beat = beat.then(() => store.write({ ...intent, heartbeatAt: now() })).catch(() => undefined);
  }, HEARTBEAT_MS);
  try {
    return await work();
  } finally {
    clearInterval(heartbeat);
    await beat;
    await store.remove(stack);
  }
}
