import { Command } from "commander";
import { VpsieClient } from "../../../provider/vpsie/client.js";
import { helpText } from "../help.js";
import { formatTable, type OutputFormat, outputOption } from "../output.js";
import { UsageError } from "../usageError.js";

/** Missing or wrong settings in the environment exit with 2, naming the variable (see main.ts). */
function client(): VpsieClient {
  return VpsieClient.fromEnv(process.env, { maxAttempts: 3 });
}

type Cell = string | number | boolean | undefined;

function print<T>(output: OutputFormat, rows: T[], columns: Array<[string, (row: T) => Cell]>): void {
  if (output === "json") {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  const cell = (v: Cell) => (v === undefined ? "-" : String(v));
  process.stdout.write(
    formatTable(
      columns.map(([name]) => name),
      rows.map((row) => columns.map(([, get]) => cell(get(row)))),
    ),
  );
}

const vpsieHelp = (example: string) =>
  helpText({
    examples: [example],
    environment: ["VPSIE_API_URL, VPSIE_TOKEN or VPSIE_CLIENT_ID and VPSIE_CLIENT_SECRET"],
    exitCodes: [
      "0 success",
      "1 failure",
      "2 bad flags or no credentials",
      "4 the VPSie API refused or failed the request (its message is printed)",
    ],
  });

export function vpsieCommand(): Command {
  const vpsie = new Command("vpsie").description(
    "read VPSie's managed Kubernetes (VPSIE_API_URL, and VPSIE_TOKEN or VPSIE_CLIENT_ID with VPSIE_CLIENT_SECRET)",
  );
  vpsie
    .command("clusters")
    .description("list the account's Kubernetes clusters")
    .addOption(outputOption())
    .addHelpText("after", vpsieHelp("vpsie-autoscaler vpsie clusters --output json"))
    .action(async (opts: { output: OutputFormat }) => {
      print(opts.output, await client().listClusters(), [
        ["IDENTIFIER", (c) => c.identifier],
        ["NAME", (c) => c.name],
        ["NODES", (c) => c.nodeCount],
        ["WORKERS", (c) => c.workerCount],
        ["VERSION", (c) => c.kubeVersion],
      ]);
    });
  vpsie
    .command("groups")
    .description("list the node groups of a cluster")
    .requiredOption("--cluster <id>", "cluster identifier (uuid)")
    .addOption(outputOption())
    .addHelpText(
      "after",
      vpsieHelp("vpsie-autoscaler vpsie groups --cluster 6f1c9e52-3b0e-4d8a-9a55-1f2d3c4b5a69"),
    )
    .action(async (opts: { cluster: string; output: OutputFormat }) => {
      print(opts.output, await client().listNodeGroups(opts.cluster), [
        ["ID", (g) => g.id],
        ["NAME", (g) => g.name],
        ["SIZE", (g) => g.kubeSizeId],
        ["CPU", (g) => g.cpu],
        ["RAM(MB)", (g) => g.ramMb],
        ["NODES", (g) => g.nodeCount],
        ["IDENTIFIER", (g) => g.identifier],
      ]);
    });
  vpsie
    .command("nodes")
    .description("list the nodes of a cluster")
    .requiredOption("--cluster <id>", "cluster identifier (uuid)")
    .addOption(outputOption())
    .addHelpText(
      "after",
      vpsieHelp("vpsie-autoscaler vpsie nodes --cluster 6f1c9e52-3b0e-4d8a-9a55-1f2d3c4b5a69 --output json"),
    )
    .action(async (opts: { cluster: string; output: OutputFormat }) => {
      const cluster = await client().getCluster(opts.cluster);
      if (!cluster)
        throw new UsageError(
          `VPSie knows no cluster ${opts.cluster}: list them with \`vpsie-autoscaler vpsie clusters\``,
        );
      print(opts.output, cluster.nodes, [
        ["HOSTNAME", (n) => n.hostname],
        ["TYPE", (n) => n.nodeType],
        ["STATUS", (n) => n.status],
        ["IP", (n) => n.defaultIp],
        ["IDENTIFIER", (n) => n.identifier],
      ]);
    });
  vpsie
    .command("offers")
    .description("list the Kubernetes sizes of a datacenter, with prices")
    .requiredOption("--dc <id>", "datacenter identifier")
    .addOption(outputOption())
    .addHelpText("after", vpsieHelp("vpsie-autoscaler vpsie offers --dc hel1-6c2a0c5e"))
    .action(async (opts: { dc: string; output: OutputFormat }) => {
      print(opts.output, await client().listOffers(opts.dc), [
        ["ID", (o) => o.id],
        ["NAME", (o) => o.name],
        ["CPU", (o) => o.cpu],
        ["RAM(MB)", (o) => o.ramMb],
        ["DISK(GB)", (o) => o.diskGb],
        ["$/MONTH", (o) => o.priceMonthly],
        ["$/HOUR", (o) => o.priceHourly],
      ]);
    });
  return vpsie;
}
