import { Command } from "commander";
import { ensurePulumi, linkPulumiIntoCheckout, resolvePulumi } from "../../toolchain/pulumi.js";
import { formatTable, type OutputFormat, outputOption } from "../output.js";
import { progressPrinter } from "../progress.js";

export function toolsCommand(): Command {
  return new Command("tools")
    .description(
      "find, or build from Go modules, the pulumi CLI matching the installed @pulumi/pulumi, and link it into node_modules/.bin",
    )
    .option("--check", "only report what is found; build nothing")
    .addOption(outputOption())
    .action(async (opts: { check?: boolean; output: OutputFormat }) => {
      const tools = opts.check ? await resolvePulumi() : await ensurePulumi(progressPrinter());
      const link = opts.check ? undefined : await linkPulumiIntoCheckout(tools);
      if (opts.output === "json") {
        process.stdout.write(`${JSON.stringify({ pulumi: { ...tools, link } }, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        formatTable(["TOOL", "VERSION", "PATH"], [["pulumi", `v${tools.version}`, tools.pulumi]]),
      );
      if (link) process.stdout.write(`\nlinked as ${link}: run \`npx pulumi …\` in this checkout\n`);
    });
}
