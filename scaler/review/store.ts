/**
 * Where review records are kept: a directory of JSON files on a laptop (the work dir), a ConfigMap in
 * a cluster (scaler/kubernetes/reviewConfigMap.ts), one record per file or key. Old decided records are
 * pruned so a ConfigMap stays far below its 1 MiB.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseReviewRecord, REVIEW_ID, type ReviewRecord } from "./records.js";

/** How many decided (or shadow) records are kept; pending and approved ones always are. */
export const KEEP_DECIDED = 200;

export interface ReviewStore {
  readonly description: string;
  /** Every record, newest first. Unreadable ones are reported, not hidden. */
  list(): Promise<{ records: ReviewRecord[]; problems: string[] }>;
  get(id: string): Promise<ReviewRecord | undefined>;
  put(record: ReviewRecord): Promise<void>;
  remove(ids: string[]): Promise<void>;
}

export class ReviewNotFoundError extends Error {
  override name = "ReviewNotFoundError";
}

/** Records beyond the newest KEEP_DECIDED decided ones: to be removed. */
export function prunable(records: ReviewRecord[]): string[] {
  const decided = records.filter((r) => r.status !== "pending" && r.status !== "approved");
  return decided.slice(KEEP_DECIDED).map((r) => r.id);
}

function newestFirst(records: ReviewRecord[]): ReviewRecord[] {
  return records.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
}

/** Records, each read from where it is kept, newest first; unreadable ones reported by where they are. */
export async function parseRecords(
  entries: Array<{ source: string; read: () => Promise<string> }>,
): Promise<{ records: ReviewRecord[]; problems: string[] }> {
  const records: ReviewRecord[] = [];
  const problems: string[] = [];
  for (const { source, read } of entries) {
    try {
      records.push(parseReviewRecord(await read(), source));
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  return { records: newestFirst(records), problems };
}

export function directoryReviews(dir: string): ReviewStore {
  const file = (id: string) => join(dir, `${id}.json`);
  return {
    description: `the directory ${dir}`,
    async list() {
      const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith(".json"));
      return parseRecords(
        names.map((name) => ({ source: join(dir, name), read: () => readFile(join(dir, name), "utf8") })),
      );
    },
    async get(id) {
      if (!REVIEW_ID.test(id)) return undefined;
      const text = await readFile(file(id), "utf8").catch(() => undefined);
      return text === undefined ? undefined : parseReviewRecord(text, file(id));
    },
    async put(record) {
      await mkdir(dir, { recursive: true });
      // Whole or not at all: a reader never sees half a record.
      const temp = `${file(record.id)}.${process.pid}.tmp`;
      await writeFile(temp, JSON.stringify(record, null, 2));
      await rename(temp, file(record.id));
    },
    async remove(ids) {
      for (const id of ids) await rm(file(id), { force: true });
    },
  };
}
