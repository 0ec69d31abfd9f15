import { LocalWorkspace, PulumiCommand, type PulumiFn, type Stack } from "@pulumi/pulumi/automation/index.js";
import { type PulumiTools, pulumiProcessEnv } from "../toolchain/pulumi.js";

export interface InlineStackOptions {
  tools: PulumiTools;
  projectName: string;
  stackName: string;
  program: PulumiFn;
  /** A DIY backend URL: `file://…`, `postgres://…`, `s3://…`. */
  backendUrl: string;
  /** Where the CLI keeps its workspace files and plugins; a directory of ours, never the user's ~/.pulumi. */
  pulumiHome: string;
  /** The passphrase of the stack's secrets provider; passed in the environment, never as an argument. */
  passphrase: string;
}

/** Selects (creating when absent) an inline-program stack run by the resolved CLI, offline. */
export async function selectInlineStack(options: InlineStackOptions): Promise<Stack> {
  // The CLI was matched to the SDK by the resolver; `get` checks it once more against its own minimum.
  const pulumiCommand = await PulumiCommand.get({ root: options.tools.root });
  const envVars = pulumiProcessEnv(options.tools);
  envVars.PULUMI_BACKEND_URL = options.backendUrl;
  envVars.PULUMI_HOME = options.pulumiHome;
  envVars.PULUMI_CONFIG_PASSPHRASE = options.passphrase;
  delete envVars.PULUMI_CONFIG_PASSPHRASE_FILE;
  return LocalWorkspace.createOrSelectStack(
    { projectName: options.projectName, stackName: options.stackName, program: options.program },
    {
      pulumiCommand,
      pulumiHome: options.pulumiHome,
      envVars,
      projectSettings: { name: options.projectName, runtime: "nodejs", backend: { url: options.backendUrl } },
    },
  );
}
