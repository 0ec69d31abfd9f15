/**
 * The dynamic-provider plugin (`pulumi-resource-pulumi-nodejs`): runs the SDK's dynamic provider from
 * the program's own @pulumi/pulumi, as the SDK's shell script does, where there is no shell (the
 * container image). The engine starts it in the program's directory; NODE_PATH reaches the project's
 * node_modules for inline programs. `npm run tools` installs it as `pulumi-resource-pulumi-nodejs.mjs`
 * next to its launcher (provider/pulumi/engine/nodeplugin).
 */
import { createRequire } from "node:module";

const fromProgram = createRequire(`${process.cwd()}/`);
let entry: string | undefined;
try {
  entry = fromProgram.resolve("@pulumi/pulumi/cmd/dynamic-provider");
} catch {
  process.stderr.write(
    `pulumi-resource-pulumi-nodejs: @pulumi/pulumi is not installed for the program in ${process.cwd()}: run \`npm ci\` there first\n`,
  );
  process.exitCode = 1;
}
// The SDK's provider reads its arguments from process.argv, which are this script's own.
if (entry) fromProgram(entry);
