/**
 * The dynamic-provider plugin (`pulumi-resource-pulumi-nodejs`) that the engine starts for a person's
 * `pulumi preview`/`up`, in the program's directory: it serves this project's lean dynamic provider
 * (dynamicProvider.ts) from that directory's dist/, with the VPSie providers hosted in this process,
 * and prints the port for the engine. For a program that is not this project, the SDK's own dynamic
 * provider. `npm run tools` and the image install it as `pulumi-resource-pulumi-nodejs.mjs` next to its
 * launcher (provider/pulumi/engine/nodeplugin), since the image has no shell for the SDK's script.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

// The engine starts plugins in the program's directory (dist/stacks); the project is the nearest
// directory above it with a Pulumi.yaml.
const programDirectory = process.cwd();
let project = programDirectory;
while (!existsSync(join(project, "Pulumi.yaml")) && dirname(project) !== project) project = dirname(project);
const ours = join(project, "dist", "provider", "pulumi", "plugins", "dynamicProvider.js");

if (existsSync(ours)) {
  const providers = join(project, "dist", "provider", "pulumi", "providers.js");
  const { providers: hosted } = (await import(pathToFileURL(providers).href)) as { providers: object };
  const { serveDynamicProvider } = (await import(pathToFileURL(ours).href)) as {
    serveDynamicProvider: (dir: string, hosted: object) => Promise<{ port: number }>;
  };
  const { port } = await serveDynamicProvider(project, hosted);
  process.stdout.write(`${port}\n`);
} else {
  const fromProgram = createRequire(`${programDirectory}/`);
  try {
    // The SDK's provider reads its arguments from process.argv, which are this script's own.
    fromProgram(fromProgram.resolve("@pulumi/pulumi/cmd/dynamic-provider"));
  } catch {
    process.stderr.write(
      `pulumi-resource-pulumi-nodejs: @pulumi/pulumi is not installed for the program in ${programDirectory}: run \`npm ci\` there first\n`,
    );
    process.exitCode = 1;
  }
}
