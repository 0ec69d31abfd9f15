/**
 * Where the stack config files live when not only on the scaler's disk: a ConfigMap, or a Git
 * repository. Each loop pulls them into the project's stacks/; each scale action publishes its new
 * member list there before its update runs; a store that keeps history links the update to it.
 */
import type { PublishStackConfig } from "./stackConfig.js";

/**
 * The store could not be read or written. Permanent: a person must act (refused credentials, a missing
 * branch or ConfigMap, a missing grant); else the server may answer again, and the next loop tries.
 */
export class StackStoreError extends Error {
  override name = "StackStoreError";
  readonly permanent: boolean;

  constructor(message: string, permanent = false) {
    super(message);
    this.permanent = permanent;
  }
}

/** A stack file that cannot be used as it is now: nothing is applied from it until a person fixes it. */
export interface StackConfigProblem {
  stack: string;
  /** Where it is, as people find it: the ConfigMap key, or the file and commit. */
  source: string;
  message: string;
}

/** A person's change to a group's settings, to be applied as an update of its own that names it. */
export interface SettingsChange {
  stack: string;
  /** Who changed what, in words for the update's message. */
  reason: string;
  /** What the store links the update to (a commit id). */
  ref: string;
}

export interface StackSync {
  /** Stacks whose file changed here. */
  changed: string[];
  /** Stacks held back (their file does not parse): neither planned nor changed. */
  held: ReadonlySet<string>;
  problems: StackConfigProblem[];
  settings: SettingsChange[];
}

/** The update a published change led to, for the store's history to name. */
export interface UpdateLink {
  /** The update's version in the stack history, when the backend numbers updates (DIY backends do not). */
  version?: number;
  /** When the update started, as the stack history shows it: what names it in a DIY backend. */
  startTime?: string;
  message: string;
  /** The store's reference the update carried out (a commit id); absent: the stack's latest of ours. */
  ref?: string;
}

export interface StackStore {
  readonly description: string;
  /** Makes stacks/ hold the store's files, leaving the stacks in `busy` alone (their update runs). */
  pull(busy?: ReadonlySet<string>): Promise<StackSync>;
  publish: PublishStackConfig;
  /** After an update: records in the store's own history which update carried out its change. */
  linkUpdate?(stack: string, link: UpdateLink): Promise<void>;
}
