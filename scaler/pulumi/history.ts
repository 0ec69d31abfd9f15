/**
 * Reading a node group's stack history without touching the project it belongs to. Selecting a stack
 * makes Pulumi write its stack file (an encryption salt when the stack is new), and in the project a
 * scaler or a Git repository keeps, that write would race the stores' own or change a person's file:
 * readers select the stack from a project directory of their own, against the same backend.
 */
import type { UpdateSummary } from "@pulumi/pulumi/automation/index.js";
import { prepareProjectDir } from "../apply/projectDir.js";
import { type EngineOptions, selectProjectStack } from "./workspace.js";

const prepared = new Map<string, Promise<void>>();

/** One page (from 1) of the stack's history, newest first; every entry when no page size is given. */
export async function readStackHistory(
  options: EngineOptions & { readerDir: string },
  stackName: string,
  pageSize?: number,
  page?: number,
): Promise<UpdateSummary[]> {
  let ready = prepared.get(options.readerDir);
  if (!ready) {
    ready = prepareProjectDir(options.readerDir);
    prepared.set(options.readerDir, ready);
  }
  await ready;
  const stack = await selectProjectStack({ ...options, projectDir: options.readerDir, stackName });
  return stack.history(pageSize, page);
}
