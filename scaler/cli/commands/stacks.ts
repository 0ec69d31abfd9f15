import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { groupStacks, STACKS_DIR } from "../../../stacks/contract.js";
import { resolvePulumi } from "../../tools/pulumi.js";
import { repoRoot } from "../../tools/paths.js";
import { formatTable, type OutputFormat, outputOption } from "../output.js";
import { progressPrinter } from "../progress.js";
import { helpText } from "../help.js";
import { UsageError } from "../usageError.js";

const VPSIE = "VPSIE_API_URL, VPSIE_TOKEN or VPSIE_CLIENT_ID and VPSIE_CLIENT_SECRET";
const PULUMI =
  "PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE, VPSIE_AUTOSCALER_WORK_DIR";

export interface StackFlags {
  projectDir: string;
  workDir: string;
  backend?: string;
}

export function addStackOptions(command: Command): Command {
  return command
    .option("--project-dir <dir>", "the project: Pulumi.yaml and stacks/Pulumi.<group>.yaml", repoRoot)
    .option(
      "--work-dir <dir>",
      "the scaler's own files: CLI home, update intents, and the default file:// state",
      process.env.VPSIE_AUTOSCALER_WORK_DIR ?? join(homedir(), ".local", "state", "vpsie-autoscaler"),
    )
    .option(
      "--backend <url>",
      "Pulumi state backend: file://…, postgres://…, s3://… (default: $PULUMI_BACKEND_URL, else file://WORK_DIR/state)",
    );
}

async function passphrase(): Promise<string> {
  if (process.env.PULUMI_CONFIG_PASSPHRASE !== undefined) return process.env.PULUMI_CONFIG_PASSPHRASE;
  const file = process.env.PULUMI_CONFIG_PASSPHRASE_FILE;
  if (file) {
    try {
      return (await readFile(file, "utf8")).trimEnd();
    } catch {
      throw new UsageError(`cannot read PULUMI_CONFIG_PASSPHRASE_FILE ${file}`);
    }
  }
  throw new UsageError(
    "the stack's secrets passphrase is needed: set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE",
  );
}

export async function engine(flags: StackFlags) {
  const { applierDirs } = await import("../../apply/applier.js");
  const workDir = resolve(flags.workDir);
  const backendUrl = flags.backend ?? process.env.PULUMI_BACKEND_URL ?? `file://${join(workDir, "state")}`;
  if (!/^(file|postgres|postgresql|s3|azblob|gs):\/\//.test(backendUrl)) {
    throw new UsageError(
      `--backend ${backendUrl}: use a DIY backend URL (file://, postgres://, s3://, azblob://, gs://)`,
    );
  }
  if (backendUrl.startsWith("file://")) {
    const { mkdir } = await import("node:fs/promises");
    await mkdir(new URL(backendUrl), { recursive: true });
  }
  const projectDir = resolve(flags.projectDir);
  // A fresh writable directory (a pod's volume, a copy for tests): this installation's project.
  const preparedProjectDir = !existsSync(join(projectDir, "Pulumi.yaml"));
  if (preparedProjectDir) {
    const { prepareProjectDir } = await import("../../apply/projectDir.js");
    await prepareProjectDir(projectDir);
  }
  return {
    projectDir,
    preparedProjectDir,
    backendUrl,
    ...applierDirs(workDir),
    passphrase: await passphrase(),
    tools: await resolvePulumi(),
  };
}

/** The node groups of the project: one stack per group, named after it (the example excluded). */
async function groupsOf(projectDir: string, only?: string): Promise<string[]> {
  if (only) return [only];
  return groupStacks(await readdir(join(projectDir, STACKS_DIR)).catch(() => [] as string[]));
}

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("expected a whole number of nodes");
  return n;
}

export function scaleCommand(): Command {
  return addStackOptions(
    new Command("scale")
      .description(
        "scale a node group by hand, through the apply layer: a Pulumi update with a preview and a message",
      )
      .requiredOption("--group <name>", "the node group (its stack has the same name)")
      .option("--add <n>", "nodes to add", count, 0)
      .option("--remove <keys...>", "member keys to remove", [])
      .requiredOption("--reason <text>", "why, for the stack history")
      .addOption(outputOption())
      .addHelpText(
        "after",
        helpText({
          examples: [
            'vpsie-autoscaler scale --group general --add 2 --reason "batch jobs tonight"',
            'vpsie-autoscaler scale --group general --remove general-9f2c --reason "replacing a bad node"',
            "vpsie-autoscaler scale --group general --add 1 --reason test --output json",
          ],
          environment: [VPSIE, PULUMI],
          exitCodes: [
            "0 applied, or nothing to apply (the output says why)",
            "1 the update failed or a person's lock outlasted the wait",
            "2 bad flags or stack config (nothing was applied)",
            "4 the VPSie API refused or failed the request",
          ],
        }),
      ),
  ).action(
    async (
      opts: StackFlags & {
        group: string;
        add: number;
        remove: string[];
        reason: string;
        output: OutputFormat;
      },
    ) => {
      const { Applier } = await import("../../apply/applier.js");
      const applier = new Applier({ ...(await engine(opts)), progress: progressPrinter() });
      const result = await applier.apply({
        group: opts.group,
        add: opts.add,
        remove: opts.remove,
        reason: opts.reason,
      });
      if (opts.output === "json") process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else if (result.skipped) process.stdout.write(`nothing applied: ${result.skipped}\n`);
      else {
        process.stdout.write(`${result.message}\n`);
        process.stdout.write(
          formatTable(
            ["CHANGE", "KEY", "HOSTNAME"],
            [
              ...result.created.map((c) => ["created", c.key, c.hostname ?? "-"]),
              ...result.deleted.map((k) => ["deleted", k, "-"]),
            ],
          ),
        );
      }
    },
  );
}

export function historyCommand(): Command {
  return addStackOptions(
    new Command("history")
      .description(
        "the stack history of each node group: time, kind, result, message (the reason) and resource changes",
      )
      .option("--group <name>", "only this node group")
      .option("--limit <n>", "entries per group", count, 20)
      .addOption(outputOption())
      .addHelpText(
        "after",
        helpText({
          examples: [
            "vpsie-autoscaler history",
            "vpsie-autoscaler history --group general --limit 5 --output json",
          ],
          environment: [PULUMI],
        }),
      ),
  ).action(async (opts: StackFlags & { group?: string; limit: number; output: OutputFormat }) => {
    const { readStackHistory } = await import("../../pulumi/history.js");
    const settings = await engine(opts);
    // A project directory of its own: this may run beside a scaler using the same project.
    const reader = { ...settings, readerDir: join(settings.stateDir, "history-project") };
    const entries = [];
    for (const group of await groupsOf(settings.projectDir, opts.group))
      for (const h of await readStackHistory(reader, group, opts.limit)) entries.push({ group, ...h });
    entries.sort((a, b) => new Date(b.startTime).getTime() - new Date(a.startTime).getTime());
    if (opts.output === "json") {
      process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
      return;
    }
    const changes = (c: Record<string, number> | undefined) =>
      Object.entries(c ?? {})
        .filter(([op, n]) => op !== "same" && n > 0)
        .map(([op, n]) => `${op} ${n}`)
        .join(", ") || "-";
    process.stdout.write(
      formatTable(
        ["TIME", "GROUP", "KIND", "RESULT", "CHANGES", "MESSAGE"],
        entries.map((e) => [
          new Date(e.startTime).toISOString(),
          e.group,
          e.kind,
          e.result,
          changes(e.resourceChanges),
          e.message,
        ]),
      ),
    );
  });
}

export function previewCommand(): Command {
  return addStackOptions(
    new Command("preview")
      .description("the diff each node group's stack would apply now")
      .option("--group <name>", "only this node group")
      .addOption(outputOption())
      .addHelpText(
        "after",
        helpText({
          examples: ["vpsie-autoscaler preview", "vpsie-autoscaler preview --group general --output json"],
          environment: [VPSIE, PULUMI],
        }),
      ),
  ).action(async (opts: StackFlags & { group?: string; output: OutputFormat }) => {
    const { selectProjectStack } = await import("../../pulumi/workspace.js");
    const { hostProviders } = await import("../../pulumi/hostedProviders.js");
    const settings = await engine(opts);
    const env = await hostProviders(settings.projectDir);
    const previews = [];
    for (const group of await groupsOf(settings.projectDir, opts.group)) {
      const stack = await selectProjectStack({ ...settings, stackName: group, env });
      if (opts.output !== "json") {
        await stack.preview({ diff: true, onOutput: (text) => process.stdout.write(text) });
        continue;
      }
      // For scripts: each step the engine would take, with the properties that change.
      const steps: Array<{ op: string; urn: string; type: string; diffs: string[] }> = [];
      const result = await stack.preview({
        onEvent: (event) => {
          const m = event.resourcePreEvent?.metadata;
          if (m) steps.push({ op: m.op, urn: m.urn, type: m.type, diffs: m.diffs ?? [] });
        },
      });
      previews.push({ group, changeSummary: result.changeSummary, steps });
    }
    if (opts.output === "json") process.stdout.write(`${JSON.stringify(previews, null, 2)}\n`);
  });
}
