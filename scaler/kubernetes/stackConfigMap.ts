/**
 * The project's stack config files (stacks/Pulumi.<group>.yaml) kept in a ConfigMap, for a scaler
 * whose disk does not outlive its pod. The ConfigMap is the truth: people declare and edit node groups
 * there (`kubectl edit`), each loop copies it into stacks/, and each scale action writes its new member
 * list there before the Pulumi update runs, so a replica that takes over finds what its predecessor did.
 */
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { ApiException, CoreV1Api, type KubeConfig, type V1ConfigMap } from "@kubernetes/client-node";
import { groupOfStackFile, stackFileName, STACKS_DIR } from "../../stacks/contract.js";
import { StackConfigConflictError, syncLocalStackFile } from "../apply/stackConfig.js";
import { type StackStore, StackStoreError, type StackSync } from "../apply/stackStore.js";

export class StackConfigMap implements StackStore {
  readonly #core: CoreV1Api;
  readonly #namespace: string;
  readonly #name: string;
  readonly #stacksDir: string;
  /** Each key's text as this process last read or wrote it: what a scale action's change is based on. */
  readonly #known = new Map<string, string>();

  constructor(kubeconfig: KubeConfig, namespace: string, name: string, projectDir: string) {
    this.#core = kubeconfig.makeApiClient(CoreV1Api);
    this.#namespace = namespace;
    this.#name = name;
    this.#stacksDir = join(projectDir, STACKS_DIR);
  }

  get description(): string {
    return `ConfigMap ${this.#namespace}/${this.#name}`;
  }

  async #read(): Promise<V1ConfigMap> {
    try {
      return await this.#core.readNamespacedConfigMap({ name: this.#name, namespace: this.#namespace });
    } catch (err) {
      const code = err instanceof ApiException ? err.code : undefined;
      if (code === 404)
        throw new StackStoreError(
          `${this.description} does not exist: create it with one key Pulumi.<group>.yaml per node group (deploy/base ships an example)`,
          true,
        );
      if (code === 403)
        throw new StackStoreError(
          `${this.description} may not be read by this ServiceAccount: grant get and update on it (deploy/base's Role does)`,
          true,
        );
      throw new StackStoreError(`${this.description} could not be read: ${(err as Error).message}`);
    }
  }

  /**
   * Makes stacks/ hold exactly the ConfigMap's stack files, leaving alone the stacks in `busy` (an
   * update of theirs is running, and it published its file before it started).
   */
  async pull(busy: ReadonlySet<string> = new Set()): Promise<StackSync> {
    const data = (await this.#read()).data ?? {};
    const wanted = new Map(
      Object.entries(data).flatMap(([key, text]) => {
        const stack = groupOfStackFile(key);
        return stack ? [[stack, text] as const] : [];
      }),
    );
    const present = (await readdir(this.#stacksDir).catch(() => [] as string[])).flatMap(
      (file) => groupOfStackFile(file) ?? [],
    );
    const changed: string[] = [];
    for (const stack of present) {
      if (!wanted.has(stack) && !busy.has(stack)) {
        await rm(join(this.#stacksDir, stackFileName(stack)), { force: true });
        changed.push(stack);
      }
    }
    for (const [stack, text] of wanted) {
      if (busy.has(stack)) continue;
      const key = stackFileName(stack);
      this.#known.set(key, text);
      if (await syncLocalStackFile(join(this.#stacksDir, key), text)) changed.push(stack);
    }
    return { changed, held: new Set(), problems: [], settings: [] };
  }

  /**
   * Writes a stack's new file into the ConfigMap, only if its entry is still the text this process last
   * copied into stacks/: a person's edit in between is never overwritten; the action fails and is
   * planned again. (The local file may differ from that text by what Pulumi added to it, such as the
   * passphrase's encryption salt, which then goes into the ConfigMap too.)
   */
  async publish(stack: string, after: string): Promise<void> {
    const key = stackFileName(stack);
    const current = await this.#read();
    if ((current.data?.[key] ?? "") !== (this.#known.get(key) ?? ""))
      throw new StackConfigConflictError(
        `${this.description} key ${key} changed since it was read (a person edited it): the scale action is planned again`,
      );
    try {
      await this.#core.replaceNamespacedConfigMap({
        name: this.#name,
        namespace: this.#namespace,
        body: { ...current, data: { ...current.data, [key]: after } },
      });
      this.#known.set(key, after);
    } catch (err) {
      if (err instanceof ApiException && err.code === 409)
        throw new StackConfigConflictError(
          `${this.description} changed while ${key} was being written: the scale action is planned again`,
        );
      throw new StackStoreError(`${this.description} could not be written: ${(err as Error).message}`);
    }
  }
}
