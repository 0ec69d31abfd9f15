/**
 * The stack config files kept in a Git repository: the node groups' desired state in version control,
 * where platform teams keep the rest (and Flux, Argo CD or the Pulumi Kubernetes Operator read it).
 *
 * Each loop fetches the branch and copies the files under its path into stacks/. A scale action is a
 * commit first: only the group's member list changes, committed with the update's own message under the
 * scaler's author and pushed before the update runs; a push refused because a person committed meanwhile
 * is never forced: the action is planned again from what they committed. After the update, a Git note
 * (refs/notes/vpsie-autoscaler) on the commit names the update's version in the stack history, and the
 * update's message names the commit, so either history leads to the other. A person's commit that
 * changes a group is returned as a settings change, applied by an update that names its author and
 * message, then noted the same way; one that does not parse is reported and nothing is applied from it.
 *
 * Git is spoken by isomorphic-git over smart HTTP(S): the image has no git binary, and no SSH.
 */
import * as fs from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, posix } from "node:path";
import git, { Errors, type ReadCommitResult } from "isomorphic-git";
import http from "isomorphic-git/http/node";
import { groupOfStackFile, stackFileName, STACKS_DIR } from "../../stacks/contract.js";
import {
  checkStackFile,
  StackConfigConflictError,
  StackConfigError,
  syncLocalStackFile,
} from "../apply/stackConfig.js";
import {
  type SettingsChange,
  type StackStore,
  StackStoreError,
  type StackSync,
  type UpdateLink,
} from "../apply/stackStore.js";

export const NOTES_REF = "refs/notes/vpsie-autoscaler";

export interface GitCredentials {
  username: string;
  /** An HTTPS access token (or password); sent only to the repository's host, never logged or committed. */
  token: string;
}

export interface GitStoreOptions {
  /** The repository's HTTP(S) URL, without credentials. */
  url: string;
  branch: string;
  /** The folder in the repository that holds Pulumi.<group>.yaml. */
  path: string;
  /** The scaler's clone, kept across restarts (under its work dir). */
  cloneDir: string;
  projectDir: string;
  author: { name: string; email: string };
  credentials?: GitCredentials;
}

/** The first line of a commit message. */
function subject(message: string): string {
  return message.split("\n")[0]?.trim() ?? "";
}

export class GitStackStore implements StackStore {
  readonly #o: GitStoreOptions;
  readonly #dir: string;
  readonly #stacksDir: string;
  readonly #path: string;
  /** Per stack: the file's blob at the last pull and the commit that last changed it. */
  readonly #lastChange = new Map<string, { blob: string; commit: ReadCommitResult }>();
  /** Per stack: the text this process last copied into stacks/ or committed. */
  readonly #known = new Map<string, string>();
  #cloned = false;
  /** The clone has one work tree: pulls, commits and notes take turns (groups update in parallel). */
  #turn: Promise<unknown> = Promise.resolve();

  constructor(options: GitStoreOptions) {
    this.#o = options;
    this.#dir = options.cloneDir;
    this.#stacksDir = join(options.projectDir, STACKS_DIR);
    this.#path = posix.normalize(options.path.replace(/^\/+|\/+$/g, "") || ".");
  }

  get description(): string {
    return `Git repository ${this.#o.url} (branch ${this.#o.branch}, ${this.#path === "." ? "top level" : `${this.#path}/`})`;
  }

  #common() {
    const { credentials } = this.#o;
    return {
      fs,
      http,
      dir: this.#dir,
      url: this.#o.url,
      onAuth: credentials
        ? () => ({ username: credentials.username, password: credentials.token })
        : undefined,
      // Never ask again with the same credentials: a refused token is reported, not retried.
      onAuthFailure: () => ({ cancel: true }),
    };
  }

  /** Errors of the network or the server, with the URL and never the credentials. */
  #failed(what: string, err: unknown): StackStoreError {
    const e = err as Error & { code?: string; data?: { statusCode?: number } };
    const status = e.data?.statusCode;
    const refused = status === 401 || status === 403 || e.code === "UserCanceledError";
    const why = refused
      ? `the server refused the credentials (HTTP ${status ?? 401}): set VPSIE_AUTOSCALER_GIT_USERNAME and VPSIE_AUTOSCALER_GIT_TOKEN to a token that may read and push`
      : (e.message ?? String(err));
    return new StackStoreError(`${this.description}: ${what} failed: ${why}`, refused);
  }

  async #fetch(): Promise<string> {
    try {
      if (!this.#cloned && !fs.existsSync(join(this.#dir, ".git"))) {
        await mkdir(this.#dir, { recursive: true });
        await git.clone({ ...this.#common(), ref: this.#o.branch, singleBranch: true, noTags: true });
      } else {
        await git.fetch({ ...this.#common(), ref: this.#o.branch, singleBranch: true, tags: false });
      }
      this.#cloned = true;
    } catch (err) {
      if (err instanceof Errors.NotFoundError || (err as { code?: string }).code === "NotFoundError")
        throw new StackStoreError(
          `${this.description}: the branch does not exist: create it, or set the branch`,
          true,
        );
      throw this.#failed("fetching", err);
    }
    const remote = await git.resolveRef({ fs, dir: this.#dir, ref: `refs/remotes/origin/${this.#o.branch}` });
    // The branch is exactly the remote's: a commit of ours that was never pushed goes (its action is
    // planned again), and nothing a person pushed is merged over.
    await git.writeRef({
      fs,
      dir: this.#dir,
      ref: `refs/heads/${this.#o.branch}`,
      value: remote,
      force: true,
    });
    await git.checkout({ fs, dir: this.#dir, ref: this.#o.branch, force: true });
    return remote;
  }

  /** The notes ref as the server has it now, or undefined when nothing was noted yet. */
  async #fetchNotes(): Promise<string | undefined> {
    try {
      const result = await git.fetch({
        ...this.#common(),
        ref: NOTES_REF,
        remoteRef: NOTES_REF,
        singleBranch: true,
        tags: false,
      });
      if (!result.fetchHead) return undefined;
      await git.writeRef({ fs, dir: this.#dir, ref: NOTES_REF, value: result.fetchHead, force: true });
      return result.fetchHead;
    } catch (err) {
      if (err instanceof Errors.NotFoundError) return undefined;
      throw this.#failed("fetching notes", err);
    }
  }

  async #noted(commit: string): Promise<boolean> {
    try {
      await git.readNote({ fs, dir: this.#dir, ref: NOTES_REF, oid: commit });
      return true;
    } catch {
      return false;
    }
  }

  #file(stack: string): string {
    return this.#path === "." ? stackFileName(stack) : `${this.#path}/${stackFileName(stack)}`;
  }

  /** The stack files at `head`: stack → blob id. */
  async #stackBlobs(head: string): Promise<Map<string, string>> {
    const blobs = new Map<string, string>();
    try {
      const tree = await git.readTree({
        fs,
        dir: this.#dir,
        oid: head,
        ...(this.#path === "." ? {} : { filepath: this.#path }),
      });
      for (const entry of tree.tree) {
        const stack = entry.type === "blob" ? groupOfStackFile(entry.path) : undefined;
        if (stack) blobs.set(stack, entry.oid);
      }
    } catch (err) {
      if (!(err instanceof Errors.NotFoundError)) throw err;
    }
    return blobs;
  }

  /** The commit that last changed the stack's file, cached by the file's blob. */
  async #lastCommit(stack: string, blob: string): Promise<ReadCommitResult | undefined> {
    const cached = this.#lastChange.get(stack);
    if (cached?.blob === blob) return cached.commit;
    const [commit] = await git.log({
      fs,
      dir: this.#dir,
      ref: this.#o.branch,
      filepath: this.#file(stack),
      depth: 1,
    });
    if (commit) this.#lastChange.set(stack, { blob, commit });
    return commit;
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#turn.then(work, work);
    this.#turn = next.catch(() => undefined);
    return next;
  }

  pull(busy: ReadonlySet<string> = new Set()): Promise<StackSync> {
    return this.#serial(() => this.#pull(busy));
  }

  async #pull(busy: ReadonlySet<string>): Promise<StackSync> {
    const head = await this.#fetch();
    await this.#fetchNotes();
    const blobs = await this.#stackBlobs(head);
    const sync: StackSync & { held: Set<string> } = {
      changed: [],
      held: new Set(),
      problems: [],
      settings: [],
    };
    await mkdir(this.#stacksDir, { recursive: true });
    const present = (await fs.promises.readdir(this.#stacksDir).catch(() => [] as string[])).flatMap(
      (file) => groupOfStackFile(file) ?? [],
    );
    for (const stack of present) {
      if (!blobs.has(stack) && !busy.has(stack)) {
        await rm(join(this.#stacksDir, stackFileName(stack)), { force: true });
        this.#known.delete(stack);
        sync.changed.push(stack);
      }
    }
    for (const [stack, blob] of blobs) {
      if (busy.has(stack)) continue;
      const commit = await this.#lastCommit(stack, blob);
      const text = await readFile(join(this.#dir, this.#file(stack)), "utf8");
      const where = `${this.#file(stack)} at ${commit ? `commit ${commit.oid.slice(0, 7)} by ${commit.commit.author.name} <${commit.commit.author.email}>` : head.slice(0, 7)}`;
      try {
        checkStackFile(text, stack, where);
      } catch (err) {
        if (!(err instanceof StackConfigError)) throw err;
        sync.held.add(stack);
        sync.problems.push({ stack, source: where, message: err.message });
        continue;
      }
      if (await syncLocalStackFile(join(this.#stacksDir, stackFileName(stack)), text))
        sync.changed.push(stack);
      this.#known.set(stack, text);
      if (commit && !this.#ours(commit) && !(await this.#noted(commit.oid)))
        sync.settings.push(this.#settings(stack, commit));
    }
    return sync;
  }

  #ours(commit: ReadCommitResult): boolean {
    return commit.commit.author.email === this.#o.author.email;
  }

  #settings(stack: string, commit: ReadCommitResult): SettingsChange {
    const { name, email } = commit.commit.author;
    return {
      stack,
      ref: commit.oid,
      reason: `"${subject(commit.commit.message)}" by ${name} <${email}> (commit ${commit.oid.slice(0, 7)})`,
    };
  }

  /**
   * Commits the stack's new file with the update's message and pushes it. Refused when the file changed
   * in the repository since this process read it, or when the push is not a fast-forward (a person
   * pushed meanwhile): the action is planned again, and nothing is forced.
   */
  publish(stack: string, after: string, message: string): Promise<string> {
    return this.#serial(() => this.#publish(stack, after, message));
  }

  async #publish(stack: string, after: string, message: string): Promise<string> {
    const head = await this.#fetch();
    const file = this.#file(stack);
    const current = await readFile(join(this.#dir, file), "utf8").catch(() => undefined);
    if (current !== this.#known.get(stack))
      throw new StackConfigConflictError(
        `${this.description}: ${file} changed since it was read (commit ${head.slice(0, 7)}): the scale action is planned again`,
      );
    await mkdir(join(this.#dir, file, ".."), { recursive: true });
    await writeFile(join(this.#dir, file), after);
    await git.add({ fs, dir: this.#dir, filepath: file });
    const commit = await git.commit({
      fs,
      dir: this.#dir,
      message,
      author: this.#o.author,
      committer: this.#o.author,
    });
    try {
      const result = await git.push({ ...this.#common(), ref: this.#o.branch, remoteRef: this.#o.branch });
      if (!result.ok) throw new Error(result.error ?? "the push was refused");
    } catch (err) {
      // Whatever the server's words for it (non-fast-forward, fetch first, failed to update ref), a
      // branch that moved since this commit's base means a person pushed first.
      const now = await this.#fetch().catch(() => undefined);
      if (err instanceof Errors.PushRejectedError || (now !== undefined && now !== head))
        throw new StackConfigConflictError(
          `${this.description}: a commit was pushed meanwhile, so ${file} is not pushed (never forced): the scale action is planned again from it`,
        );
      throw this.#failed(`pushing ${file}`, err);
    }
    this.#known.set(stack, after);
    return commit;
  }

  /**
   * Notes on the commit which update carried it out. Without a ref, the stack's latest commit of the
   * scaler's own, when no note names it yet (an update finished by recovery after a crash).
   */
  linkUpdate(stack: string, link: UpdateLink): Promise<void> {
    return this.#serial(() => this.#linkUpdate(stack, link));
  }

  async #linkUpdate(stack: string, link: UpdateLink): Promise<void> {
    let commit = link.ref;
    if (!commit) {
      const head = await this.#fetch();
      const blob = (await this.#stackBlobs(head)).get(stack);
      const last = blob ? await this.#lastCommit(stack, blob) : undefined;
      if (!last || !this.#ours(last)) return;
      commit = last.oid;
    }
    const update =
      link.version !== undefined
        ? `update ${link.version}`
        : link.startTime
          ? `update started ${link.startTime}`
          : "update";
    const note = [`pulumi stack ${stack} ${update}`, link.message, ""].join("\n");
    for (let attempt = 1; ; attempt++) {
      await this.#fetchNotes();
      if (await this.#noted(commit)) return;
      await git.addNote({
        fs,
        dir: this.#dir,
        ref: NOTES_REF,
        oid: commit,
        note,
        author: this.#o.author,
        committer: this.#o.author,
      });
      try {
        const result = await git.push({ ...this.#common(), ref: NOTES_REF, remoteRef: NOTES_REF });
        if (result.ok) break;
      } catch (err) {
        if (!(err instanceof Errors.PushRejectedError) || attempt >= 3)
          throw this.#failed("pushing a note", err);
      }
    }
  }
}
