/**
 * Reviewing scale actions from a terminal: what shadow mode would have done (`shadow`), what waits
 * for approval and the decision on it (`approvals`), and the audit console (`console`). The records
 * are where `run` keeps them: a ConfigMap in a cluster (--review-configmap), else the work dir.
 */
import { userInfo } from "node:os";
import { join, resolve } from "node:path";
import { Command } from "commander";
import type { ReviewRecord } from "../../review/records.js";
import type { ReviewStore } from "../../review/store.js";
import { describeCostChange } from "../../decision/cost.js";
import { helpText } from "../help.js";
import { loadKubeconfig, namespacedName } from "../kubernetesFlags.js";
import { formatTable, type OutputFormat, outputOption } from "../output.js";
import { UsageError } from "../usageError.js";
import { addStackOptions, type StackFlags } from "./stacks.js";

/**
 * Who is at the keyboard, for a decision's record: $USER, else the OS account. In the image the scaler's
 * uid has no passwd entry, and asking the OS throws, so never at startup and never fatal.
 */
function currentUser(): string {
  if (process.env.USER) return process.env.USER;
  try {
    return userInfo().username;
  } catch {
    return "";
  }
}

interface ReviewFlags extends StackFlags {
  reviewConfigmap?: string;
  kubeconfig?: string;
}

const STORE_HELP = "KUBECONFIG with --review-configmap; VPSIE_AUTOSCALER_WORK_DIR without";

function addReviewOptions(command: Command): Command {
  return addStackOptions(command)
    .option(
      "--review-configmap <namespace/name>",
      "the ConfigMap `run --review-configmap` keeps reviews in (default: the work dir's reviews/)",
    )
    .option("--kubeconfig <file>", "kubeconfig for --review-configmap");
}

/** The store `run` with the same flags keeps its reviews in. */
export async function reviewStore(flags: {
  reviewConfigmap?: string;
  kubeconfig?: string;
  workDir: string;
}): Promise<ReviewStore> {
  const configMap = namespacedName("--review-configmap", flags.reviewConfigmap, "vpsie-autoscaler-reviews");
  if (configMap) {
    const { configMapReviews } = await import("../../kubernetes/reviewConfigMap.js");
    return configMapReviews(await loadKubeconfig(flags.kubeconfig), configMap.namespace, configMap.name);
  }
  const { directoryReviews } = await import("../../review/store.js");
  return directoryReviews(join(resolve(flags.workDir), "reviews"));
}

function what(r: ReviewRecord): string {
  return r.kind === "scale-up"
    ? `+${r.add} node(s)`
    : r.remove.length
      ? `-${r.remove.map((x) => x.node).join(" -")}`
      : r.kind;
}

function table(records: ReviewRecord[], extra: "seen" | "decision"): string {
  return formatTable(
    ["ID", "STATUS", "GROUP", "KIND", "CHANGE", "COST", extra === "seen" ? "DECIDED" : "DECISION", "REASON"],
    records.map((r) => [
      r.id,
      r.status,
      r.group,
      r.kind,
      what(r),
      r.cost ? describeCostChange(r.cost) : "unknown",
      extra === "seen"
        ? `${r.seen}× until ${r.lastSeenAt.slice(0, 19)}`
        : r.decidedBy
          ? `by ${r.decidedBy}`
          : (r.expiresAt && `expires ${r.expiresAt.slice(0, 19)}`) || "-",
      r.reason,
    ]),
  );
}

function print(records: ReviewRecord[] | ReviewRecord, output: OutputFormat, extra: "seen" | "decision") {
  if (output === "json") {
    // The saved plan is for the engine; scripts get the review without it.
    const strip = ({ plan: _plan, ...rest }: ReviewRecord) => rest;
    const body = Array.isArray(records) ? records.map(strip) : strip(records);
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return;
  }
  if (Array.isArray(records)) {
    process.stdout.write(records.length ? table(records, extra) : "nothing recorded\n");
    return;
  }
  const r = records;
  process.stdout.write(
    [
      `review ${r.id}: ${r.kind} of ${r.group}, ${r.status}${r.decidedBy ? ` by ${r.decidedBy} at ${r.decidedAt}` : ""}`,
      `reason:  ${r.reason}`,
      ...(r.rule ? [`rule:    ${r.rule}`] : []),
      `cost:    ${r.cost ? describeCostChange(r.cost) : "unknown (VPSie did not tell the group's price)"}`,
      `created: ${r.createdAt}${r.expiresAt ? `, expires ${r.expiresAt}` : ""}`,
      ...(r.outcome ? [`outcome: ${r.outcome}`] : []),
      `update message: ${r.message || "-"}`,
      "diff:",
      r.diff || "  (nothing to apply)",
      "",
    ].join("\n"),
  );
}

async function listProblems(store: ReviewStore) {
  const { records, problems } = await store.list();
  for (const problem of problems) process.stderr.write(`warning: ${problem}\n`);
  return records;
}

export function approvalsCommand(): Command {
  const approvals = new Command("approvals")
    .description("scale actions waiting for a person's approval (run config `approvals:`), and the decisions")
    .addHelpText(
      "after",
      helpText({
        examples: [
          "vpsie-autoscaler approvals list",
          "vpsie-autoscaler approvals show 20261201-101500-3f9a",
          'vpsie-autoscaler approvals approve 20261201-101500-3f9a --by "Ada <ada@example.com>"',
          "vpsie-autoscaler approvals reject 20261201-101500-3f9a --note 'wait for the sale to end'",
        ],
        environment: [STORE_HELP],
      }),
    );
  approvals.addCommand(
    addReviewOptions(
      new Command("list")
        .description("pending and approved actions, then the decided ones (newest first)")
        .option("--all", "include every decided one, not only those of the last day")
        .addOption(outputOption()),
    )
      .addHelpText(
        "after",
        helpText({
          examples: [
            "vpsie-autoscaler approvals list",
            "vpsie-autoscaler approvals list --all --output json",
          ],
          environment: [STORE_HELP],
        }),
      )
      .action(async (opts: ReviewFlags & { all?: boolean; output: OutputFormat }) => {
        const records = (await listProblems(await reviewStore(opts))).filter((r) => r.status !== "shadow");
        const dayAgo = new Date(Date.now() - 86_400_000).toISOString();
        const open = records.filter((r) => r.status === "pending" || r.status === "approved");
        const decided = records.filter(
          (r) => !open.includes(r) && (opts.all || (r.decidedAt ?? r.createdAt) >= dayAgo),
        );
        print([...open, ...decided], opts.output, "decision");
      }),
  );
  approvals.addCommand(
    addReviewOptions(
      new Command("show")
        .description("one review: reason, rule, cost, diff and what became of it")
        .argument("<id>", "the review's id, from `approvals list`")
        .addOption(outputOption()),
    )
      .addHelpText(
        "after",
        helpText({
          examples: ["vpsie-autoscaler approvals show 20261201-101500-3f9a --output json"],
          environment: [STORE_HELP],
        }),
      )
      .action(async (id: string, opts: ReviewFlags & { output: OutputFormat }) => {
        const store = await reviewStore(opts);
        const record = await store.get(id);
        if (!record) throw new UsageError(`no review ${id} in ${store.description}: see \`approvals list\``);
        print(record, opts.output, "decision");
      }),
  );
  for (const verb of ["approve", "reject"] as const) {
    approvals.addCommand(
      addReviewOptions(
        new Command(verb)
          .description(
            verb === "approve"
              ? "approve a pending action: the leader applies it at its next loop, held to the reviewed plan"
              : "reject a pending action: nothing is applied, and the same action is not asked again until its expiry has passed",
          )
          .argument("<id>", "the review's id, from `approvals list`")
          .option("--by <who>", "who decides, for the record and the update's message", currentUser())
          .option("--note <text>", "why, for the record (reject)")
          .addOption(outputOption()),
      )
        .addHelpText(
          "after",
          helpText({
            examples: [
              `vpsie-autoscaler approvals ${verb} 20261201-101500-3f9a --by "Ada <ada@example.com>"`,
            ],
            environment: [STORE_HELP],
            exitCodes: [
              "0 decided",
              "1 failure (the store could not be read or written)",
              "2 no such review, or it is not pending (decided, expired, applied)",
            ],
          }),
        )
        .action(
          async (id: string, opts: ReviewFlags & { by: string; note?: string; output: OutputFormat }) => {
            const { decide, ReviewDecisionError } = await import("../../review/decide.js");
            const { ReviewNotFoundError } = await import("../../review/store.js");
            try {
              const record = await decide(await reviewStore(opts), id, verb, opts.by, new Date(), opts.note);
              if (opts.output === "json") print(record, "json", "decision");
              else
                process.stdout.write(
                  `review ${id} (${record.kind} of ${record.group}) ${record.status} by ${record.decidedBy}${verb === "approve" ? ": the leader applies it at its next loop" : ""}\n`,
                );
            } catch (err) {
              if (err instanceof ReviewDecisionError || err instanceof ReviewNotFoundError)
                throw new UsageError(err.message);
              throw err;
            }
          },
        ),
    );
  }
  return approvals;
}

export function shadowCommand(): Command {
  return addReviewOptions(
    new Command("shadow")
      .description(
        "what `run --mode shadow` would have done: each decision with its reason, diff and cost, and how often it was decided",
      )
      .option("--group <name>", "only this node group")
      .addOption(outputOption()),
  )
    .addHelpText(
      "after",
      helpText({
        examples: ["vpsie-autoscaler shadow", "vpsie-autoscaler shadow --group general --output json"],
        environment: [STORE_HELP],
      }),
    )
    .action(async (opts: ReviewFlags & { group?: string; output: OutputFormat }) => {
      const records = (await listProblems(await reviewStore(opts))).filter(
        (r) => r.status === "shadow" && (!opts.group || r.group === opts.group),
      );
      print(records, opts.output, "seen");
    });
}

export function consoleCommand(): Command {
  return addReviewOptions(
    new Command("console")
      .description(
        "serve the audit console: node groups with $/h, each stack's history with reasons, diffs and cost changes, shadow-mode decisions, approvals to decide",
      )
      .option(
        "--address <host:port>",
        "where it listens (a token is required off loopback)",
        "127.0.0.1:8086",
      )
      .option("--user <who>", "who decides approvals made here (loopback, no token)", currentUser()),
  )
    .addHelpText(
      "after",
      helpText({
        examples: [
          "vpsie-autoscaler console",
          "vpsie-autoscaler console --review-configmap kube-system/vpsie-autoscaler-reviews --kubeconfig ~/.kube/config",
          "VPSIE_AUTOSCALER_CONSOLE_TOKEN=… vpsie-autoscaler console --address 0.0.0.0:8086",
        ],
        environment: [
          "VPSIE_AUTOSCALER_CONSOLE_TOKEN: required when --address is not loopback",
          "PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE (the history)",
          "VPSIE_API_URL, VPSIE_TOKEN or VPSIE_CLIENT_ID and VPSIE_CLIENT_SECRET (prices; without them: unknown)",
          STORE_HELP,
        ],
        exitCodes: [
          "0 stopped by SIGTERM or SIGINT",
          "1 failure",
          "2 bad flags (an address off loopback without a token)",
        ],
      }),
    )
    .action(async (opts: ReviewFlags & { address: string; user: string }) => {
      const { checkConsole, serveConsole } = await import("../consoleServing.js");
      await checkConsole(opts.address, process.env);
      const { engine } = await import("./stacks.js");
      const settings = await engine(opts);
      const { server, url } = await serveConsole({
        address: opts.address,
        settings,
        reviews: await reviewStore(opts),
        user: opts.user,
        fromEnv: process.env,
      });
      process.stdout.write(`console on ${url}\n`);
      await new Promise<void>((done) => {
        process.once("SIGTERM", done);
        process.once("SIGINT", done);
      });
      server.close();
    });
}
