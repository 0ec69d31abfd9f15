import { join } from "node:path";
import { LocalWorkspace, PulumiCommand, type PulumiFn, type Stack } from "@pulumi/pulumi/automation/index.js";
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

/**
 * Where the VPSie resources' providers find their code in this installation (see
 * provider/pulumi/resources.ts): the built one, also when this code runs from its sources.
 */
const PROVIDER_RUNTIME = join(repoRoot, "dist", "provider", "pulumi", "runtime.js");

/** The CLI's environment: the resolved plugins, the backend, offline, secrets only in variables. */
export function engineEnv(options: EngineOptions): Record<string, string> {
  const env = pulumiProcessEnv(options.tools);
  env.PULUMI_BACKEND_URL = options.backendUrl;
  env.PULUMI_HOME = options.pulumiHome;
  env.PULUMI_CONFIG_PASSPHRASE = options.passphrase;
  delete env.PULUMI_CONFIG_PASSPHRASE_FILE;
  env.VPSIE_AUTOSCALER_PROVIDER_RUNTIME = PROVIDER_RUNTIME;
  return env;
}

async function command(options: EngineOptions): Promise<PulumiCommand> {
  // The CLI was matched to the SDK by the resolver; `get` checks it once more against its own minimum.
  return PulumiCommand.get({ root: options.tools.root });
}

/** Selects (creating when absent) an inline-program stack run by the resolved CLI, offline. */
export async function selectInlineStack(options: InlineStackOptions): Promise<Stack> {
  return LocalWorkspace.createOrSelectStack(
    { projectName: options.projectName, stackName: options.stackName, program: options.program },
    {
      pulumiCommand: await command(options),
      pulumiHome: options.pulumiHome,
      envVars: engineEnv(options),
      projectSettings: { name: options.projectName, runtime: "nodejs", backend: { url: options.backendUrl } },
    },
  );
}

/**
 * Selects (creating when absent) a stack of the project in `projectDir` (its Pulumi.yaml and
 * stacks/ config files): the same program and config a person runs `pulumi preview` on.
 */
export async function selectProjectStack(
  options: EngineOptions & { projectDir: string; stackName: string },
): Promise<Stack> {
  return LocalWorkspace.createOrSelectStack(
    { stackName: options.stackName, workDir: options.projectDir },
    { pulumiCommand: await command(options), pulumiHome: options.pulumiHome, envVars: engineEnv(options) },
  );
}
