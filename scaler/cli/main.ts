// First: the SDK must find its TypeScript shim lazy before anything loads the SDK.
import "../pulumi/leanSdk.js";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command, CommanderError, Option } from "commander";
import { VpsieEnvironmentError } from "../../provider/vpsie/credentials.js";
import { VpsieError } from "../../provider/vpsie/errors.js";
import { ToolMissingError } from "../tools/errors.js";
import { shutdown } from "../system/shutdown.js";
import { buildInfo } from "./buildInfo.js";
import { doctorCommand } from "./commands/doctor.js";
import { planCommand } from "./commands/plan.js";
import { runCommand } from "./commands/run.js";
import { historyCommand, previewCommand, scaleCommand } from "./commands/stacks.js";
import { vpsieCommand } from "./commands/vpsie.js";
import { approvalsCommand, consoleCommand, shadowCommand } from "./commands/review.js";
import { ExitCode } from "./exitCodes.js";
import { UsageError } from "./usageError.js";

function versionText(): string {
  const info = buildInfo();
  return `vpsie-autoscaler ${info.version} (commit ${info.commit}, built ${info.buildDate})`;
}

/**
 * A checkout's build also has the development commands (dist/dev: the demo, the local cluster, the
 * emulator, tool builds); the image has only the product. Loaded by path, so the product never imports them.
 */
async function devCommands(): Promise<Command[]> {
  const entry = new URL("../../dev/cli/index.js", import.meta.url);
  if (!existsSync(fileURLToPath(entry))) return [];
  const dev = (await import(entry.href)) as { devCommands: () => Command[] };
  return dev.devCommands();
}

export async function buildProgram(): Promise<Command> {
  const program = new Command("vpsie-autoscaler")
    .description(
      "Kubernetes node autoscaler for VPSie: every scale-up and scale-down is a Pulumi update with a preview, a reason and a history entry.",
    )
    .addOption(new Option("-V, --version", "print version, commit and build date"))
    .on("option:version", () => {
      process.stdout.write(`${versionText()}\n`);
      process.exit(ExitCode.ok);
    })
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  program.addCommand(runCommand());
  program.addCommand(planCommand());
  program.addCommand(scaleCommand());
  program.addCommand(previewCommand());
  program.addCommand(historyCommand());
  program.addCommand(vpsieCommand());
  program.addCommand(doctorCommand());
  program.addCommand(approvalsCommand());
  program.addCommand(shadowCommand());
  program.addCommand(consoleCommand());
  for (const command of await devCommands()) program.addCommand(command);
  const configure = (command: Command): void => {
    command.exitOverride().showHelpAfterError();
    command.commands.forEach(configure);
  };
  program.commands.forEach(configure);
  return program;
}

/** Runs the CLI and returns the process exit code; expected errors print a message, never a stack trace. */
export async function main(argv: string[]): Promise<number> {
  try {
    await (await buildProgram()).parseAsync(argv, { from: "user" });
    // A command that ran but found a failure (doctor, cluster status) says so through the exit code.
    return typeof process.exitCode === "number" ? process.exitCode : ExitCode.ok;
  } catch (err) {
    return report(err);
  } finally {
    await shutdown();
  }
}

/** The exit code of an error, after printing it: a message for expected errors, never a stack trace. */
function report(err: unknown): number {
  if (err instanceof CommanderError) {
    // help and version end here too, with exit code 0
    return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  }
  if (err instanceof UsageError || err instanceof VpsieEnvironmentError) {
    process.stderr.write(`error: ${err.message}\n`);
    return ExitCode.usage;
  }
  if (err instanceof VpsieError) {
    // VPSie's own message, with the operation; the exit code tells scripts it was the API.
    process.stderr.write(`error: ${err.message}\n`);
    return ExitCode.apiError;
  }
  if (err instanceof ToolMissingError) {
    process.stderr.write(`error: ${err.message}\n`);
    return ExitCode.toolMissing;
  }
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  if (process.env.VPSIE_AUTOSCALER_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  return ExitCode.failure;
}
