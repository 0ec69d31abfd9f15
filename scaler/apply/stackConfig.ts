/**
 * Reads and edits the member lists in a stack's config file (stacks/Pulumi.<stack>.yaml), the file a
 * person edits with `pulumi config set`. Only `nodes:` lists are touched; comments, the encryption
 * salt and everything a person set stay as they are.
 */
import { randomBytes } from "node:crypto";
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isMap, isSeq, parseDocument, type YAMLMap } from "yaml";
import {
  FULL_CONFIG_KEY,
  type NodeGroupConfig,
  parseNodeGroups,
  stackFileName,
  STACKS_DIR,
} from "../../stacks/contract.js";

export class StackConfigError extends Error {
  override name = "StackConfigError";
}

/**
 * A stack file changed where it is kept (a person's edit or commit) after this process read it: the
 * scale action is not applied, and the next loop plans again from what is there now. Not a failure of
 * the group's, so it backs nothing off.
 */
export class StackConfigConflictError extends StackConfigError {
  override name = "StackConfigConflictError";
}

export function stackConfigPath(projectDir: string, stack: string): string {
  return join(projectDir, STACKS_DIR, stackFileName(stack));
}

async function load(path: string) {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new StackConfigError(
      `the stack config ${path} does not exist: create it from stacks/Pulumi.example.yaml`,
    );
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0)
    throw new StackConfigError(`${path} is not valid YAML: ${doc.errors[0]?.message}`);
  return { doc, text };
}

function nodeGroupsOf(doc: ReturnType<typeof parseDocument>, source: string): NodeGroupConfig[] {
  try {
    const js = doc.toJS() as { config?: Record<string, unknown> } | null;
    return parseNodeGroups(js?.config?.[FULL_CONFIG_KEY]);
  } catch (err) {
    throw new StackConfigError(`${source}: ${(err as Error).message}`);
  }
}

/** The node groups a stack declares now, as a person may just have edited them. */
export async function readNodeGroups(projectDir: string, stack: string): Promise<NodeGroupConfig[]> {
  const path = stackConfigPath(projectDir, stack);
  const { doc } = await load(path);
  return nodeGroupsOf(doc, path);
}

/**
 * Checks a stack file's text as it arrives from where people edit it: valid YAML, a valid node-group
 * list, and the group the stack is named after among it. The message names the file and the field.
 */
export function checkStackFile(text: string, stack: string, source: string): NodeGroupConfig[] {
  const doc = parseDocument(text);
  if (doc.errors.length > 0)
    throw new StackConfigError(`${source} is not valid YAML: ${doc.errors[0]?.message}`);
  const groups = nodeGroupsOf(doc, source);
  if (!groups.some((g) => g.name === stack))
    throw new StackConfigError(
      `${source}: ${FULL_CONFIG_KEY} declares no node group named ${stack}, the stack the file is named after`,
    );
  return groups;
}

const SALT_KEY = "encryptionsalt";

/** The file's content but for the salt Pulumi adds locally; unparsable text stands for itself. */
function withoutSalt(text: string): string {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) return text;
  const js = doc.toJS() as unknown;
  if (js && typeof js === "object") delete (js as Record<string, unknown>)[SALT_KEY];
  return JSON.stringify(js);
}

/**
 * What stacks/ should hold for a stack whose file the store has as `stored`, the local copy being
 * `local`: the local copy while it says the same (Pulumi adds its encryption salt there, and writing
 * the file again would drop it), else the stored text with the local salt kept. A local copy something
 * else rewrote (a `pulumi stack init` in the same directory wrote one with a salt and nothing else) is
 * so repaired at the next pull instead of holding the group back for good.
 */
export function localStackFile(stored: string, local: string | undefined): string {
  if (local === undefined || local === stored) return stored;
  if (withoutSalt(local) === withoutSalt(stored)) return local;
  const doc = parseDocument(stored);
  const salt = (parseDocument(local).toJS() as Record<string, unknown> | null)?.[SALT_KEY];
  if (typeof salt === "string" && isMap(doc.contents) && !doc.has(SALT_KEY)) doc.set(SALT_KEY, salt);
  return doc.toString();
}

/** Makes stacks/ hold a stack file the store has as `stored` (see localStackFile); whether it changed. */
export async function syncLocalStackFile(path: string, stored: string): Promise<boolean> {
  const local = await readFile(path, "utf8").catch(() => undefined);
  const wanted = localStackFile(stored, local);
  if (wanted === local) return false;
  await replaceFile(path, wanted);
  return true;
}

/** Writes the file whole or not at all: Pulumi and the scaler never read it half-written. */
async function replaceFile(path: string, text: string): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, text);
  await rename(temp, path);
}

/** A fresh member key for the group, unique among the keys it already has. */
export function newNodeKey(group: string, taken: ReadonlySet<string>): string {
  for (;;) {
    const key = `${group}-${randomBytes(2).toString("hex")}`;
    if (!taken.has(key)) return key;
  }
}

/**
 * Makes a stack file's new text durable elsewhere before the file changes (the in-cluster ConfigMap,
 * a commit in a Git repository), saying why (the update's message); throwing leaves the file as it was.
 */
export type PublishStackConfig = (stack: string, after: string, message: string) => Promise<string | void>;

/**
 * Replaces one group's member list in the file, atomically, after `publish` accepted the new text;
 * returns what the store keeps it under (a commit id), when it says.
 */
export async function writeMembers(
  projectDir: string,
  stack: string,
  group: string,
  members: string[],
  message: string,
  publish?: PublishStackConfig,
): Promise<string | void> {
  const path = stackConfigPath(projectDir, stack);
  const { doc } = await load(path);
  const groups = doc.getIn(["config", FULL_CONFIG_KEY], true);
  if (!isSeq(groups)) throw new StackConfigError(`${path}: config ${FULL_CONFIG_KEY} is not a list`);
  const entry = groups.items.find((item): item is YAMLMap => isMap(item) && item.get("name") === group);
  if (!entry)
    throw new StackConfigError(`${path}: node group ${group} is not declared (a person may have removed it)`);
  entry.set("nodes", doc.createNode(members));
  const after = doc.toString();
  const ref = await publish?.(stack, after, message);
  await replaceFile(path, after);
  return ref;
}
