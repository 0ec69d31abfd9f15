import { helpText } from "../../scaler/cli/help.js";
import { Command } from "commander";
import { formatTable, type OutputFormat, outputOption } from "../../scaler/cli/output.js";
import { progressPrinter } from "../../scaler/cli/progress.js";

export function demoCommand(): Command {
  return new Command("demo")
    .description(
      "run the scaler end to end on this machine: a local control plane, the VPSie emulator, a file:// state; a workload scales the node group up, its removal scales it down; prints the stack history",
    )
    .option(
      "--keep",
      "keep the cluster, emulator state and Pulumi state directory (stopped) and print where they are",
    )
    .addOption(outputOption())
    .addHelpText(
      "after",
      helpText({
        examples: ["vpsie-autoscaler demo", "vpsie-autoscaler demo --keep", "npm run demo -- --output json"],
        environment: ["none: the demo starts its own control plane, emulator and state"],
        exitCodes: [
          "0 the demo ran",
          "1 a step failed (the progress says which)",
          "3 a tool is missing: run `npm run tools`",
        ],
      }),
    )
    .action(async (opts: { keep?: boolean; output: OutputFormat }) => {
      const { runDemo } = await import("../demo/demo.js");
      const { history } = await runDemo(progressPrinter(), Boolean(opts.keep));
      if (opts.output === "json") {
        process.stdout.write(`${JSON.stringify(history, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        "\nThe node group's stack history (newest first): every scale action is a Pulumi update\n",
      );
      process.stdout.write(
        formatTable(
          ["TIME", "KIND", "RESULT", "MESSAGE"],
          history.map((h) => [h.time, h.kind, h.result, h.message]),
        ),
      );
    });
}
