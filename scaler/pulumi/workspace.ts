import { join } from "node:path";
import { LocalWorkspace, PulumiCommand, type PulumiFn, type Stack } from "@pulumi/pulumi/automation/index.js";
import { PROVIDERS_ENV } from "../../provider/pulumi/types.js";
import { declareNodeGroups } from "../../stacks/program.js";
import { repoRoot } from "../tools/paths.js";
import { type PulumiTools, pulumiProcessEnv } from "../tools/pulumi.js";

export interface EngineOptions {
  tools: PulumiTools;
  /** A DIY backend URL: `file://…`, `postgres://…`, `s3://…`. */
  backendUrl: string;
  /** Where the CLI keeps its workspace files and plugins; a directory of ours, never the user's ~/.pulumi. */
  pulumiHome: string;
  /** The passphrase of the stack's secrets provider; passed in the environment, never as an argument. */
  passphrase: string;
}

export interface InlineStackOptions extends EngineOptions {
  projectName: string;
  stackName: string;
  program: PulumiFn;
}

/** This installation's providers, for the state's provider code (see provider/pulumi/resources.ts). */
const PROVIDERS = join(repoRoot, "dist", "provider", "pulumi", "providers.js");
/** Where states written by vpsie-autoscaler 0.1 find their providers (see provider/pulumi/runtime.ts). */
const PROVIDER_RUNTIME = join(repoRoot, "dist", "provider", "pulumi", "runtime.js");

/**
 * The backend URL the engine is given. A file:// backend writes each object's metadata beside it in a
 * `.attrs` file, truncated and then written in place, so a process reading the stack while another
 * writes it (the console, `history`, a person's `pulumi stack history`) can read it empty and fail
 * with "failed to load checkpoint: EOF". Pulumi needs none of it: the objects themselves are replaced
 * atomically, so this installation's engines write none (a URL that says `metadata=` keeps its choice).
 */
export function engineBackendUrl(backendUrl: string): string {
  // Appended as text: Pulumi reads a file:// path as written (`~`, spaces), which a URL parser would change.
  const [path, query] = backendUrl.split("?", 2);
  if (!path?.startsWith("file://") || new URLSearchParams(query).has("metadata")) return backendUrl;
  return `${backendUrl}${query === undefined ? "?" : "&"}metadata=skip`;
}

/** The CLI's environment: the resolved plugins, the backend, offline, secrets only in variables. */
export function engineEnv(options: EngineOptions): Record<string, string> {
  const env = pulumiProcessEnv(options.tools);
  env.PULUMI_BACKEND_URL = engineBackendUrl(options.backendUrl);
  env.PULUMI_HOME = options.pulumiHome;
  env.PULUMI_CONFIG_PASSPHRASE = options.passphrase;
  delete env.PULUMI_CONFIG_PASSPHRASE_FILE;
  env[PROVIDERS_ENV] = PROVIDERS;
  env.VPSIE_AUTOSCALER_PROVIDER_RUNTIME = PROVIDER_RUNTIME;
  return env;
}

const commands = new Map<string, Promise<PulumiCommand>>();

async function command(options: EngineOptions): Promise<PulumiCommand> {
  // The CLI was matched to the SDK by the resolver; `get` checks it once more (it runs `pulumi version`).
  let found = commands.get(options.tools.root);
  if (!found) {
    found = PulumiCommand.get({ root: options.tools.root });
    commands.set(options.tools.root, found);
  }
  return found;
}

/** Selects (creating when absent) an inline-program stack run by the resolved CLI, offline. */
export async function selectInlineStack(options: InlineStackOptions): Promise<Stack> {
  return LocalWorkspace.createOrSelectStack(
    { projectName: options.projectName, stackName: options.stackName, program: options.program },
    {
      pulumiCommand: await command(options),
      pulumiHome: options.pulumiHome,
      envVars: engineEnv(options),
      projectSettings: {
        name: options.projectName,
        runtime: "nodejs",
        backend: { url: engineBackendUrl(options.backendUrl) },
      },
    },
  );
}

/**
 * Selects (creating when absent) a node group's stack of the project in `projectDir` (its Pulumi.yaml
 * and stacks/ config files): the stack and config a person runs `pulumi preview` on, its program (every
 * member declared) run inline in this process. `env`: the hosted providers' attach port, when this
 * process hosts them.
 */
export async function selectProjectStack(
  options: EngineOptions & { projectDir: string; stackName: string; env?: Record<string, string> },
): Promise<Stack> {
  return LocalWorkspace.createOrSelectStack(
    { stackName: options.stackName, workDir: options.projectDir },
    {
      pulumiCommand: await command(options),
      pulumiHome: options.pulumiHome,
      envVars: { ...engineEnv(options), ...options.env },
      program: async () => declareNodeGroups(),
    },
  );
}
