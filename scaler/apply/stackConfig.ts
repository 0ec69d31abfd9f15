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

/** The node groups a stack declares now, as a person may just have edited them. */
export async function readNodeGroups(projectDir: string, stack: string): Promise<NodeGroupConfig[]> {
  const path = stackConfigPath(projectDir, stack);
  const { doc } = await load(path);
  try {
    const js = doc.toJS() as { config?: Record<string, unknown> } | null;
    return parseNodeGroups(js?.config?.[FULL_CONFIG_KEY]);
  } catch (err) {
    throw new StackConfigError(`${path}: ${(err as Error).message}`);
  }
}

/** A fresh member key for the group, unique among the keys it already has. */
export function newNodeKey(group: string, taken: ReadonlySet<string>): string {
  for (;;) {
    const key = `${group}-${randomBytes(2).toString("hex")}`;
    if (!taken.has(key)) return key;
  }
}

/**
 * Makes a stack file's new text durable elsewhere before the file changes (the in-cluster ConfigMap);
 * throwing leaves the file as it was.
 */
export type PublishStackConfig = (stack: string, after: string) => Promise<void>;

/** Replaces one group's member list in the file, atomically, after `publish` accepted the new text. */
export async function writeMembers(
  projectDir: string,
  stack: string,
  group: string,
  members: string[],
  publish?: PublishStackConfig,
): Promise<void> {
  const path = stackConfigPath(projectDir, stack);
  const { doc } = await load(path);
  const groups = doc.getIn(["config", FULL_CONFIG_KEY], true);
  if (!isSeq(groups)) throw new StackConfigError(`${path}: config ${FULL_CONFIG_KEY} is not a list`);
  const entry = groups.items.find((item): item is YAMLMap => isMap(item) && item.get("name") === group);
  if (!entry)
    throw new StackConfigError(`${path}: node group ${group} is not declared (a person may have removed it)`);
  entry.set("nodes", doc.createNode(members));
  const after = doc.toString();
  await publish?.(stack, after);
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, after);
  await rename(temp, path);
}
