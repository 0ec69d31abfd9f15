#!/usr/bin/env node
// Entry point of the `vpsie-autoscaler` command. npm and npx put this project's Node.js 24
// (node_modules/.bin/node) first on PATH; refuse an older one with the way out rather than fail oddly.
const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  process.stderr.write(
    `error: vpsie-autoscaler needs Node.js 24, and this is ${process.version}: run it as \`npx vpsie-autoscaler\` or through \`npm run\` in the checkout, which use the Node.js 24 installed by \`npm ci\`\n`,
  );
  process.exit(2);
}
const { main } = await import("../dist/scaler/cli/main.js");
process.exitCode = await main(process.argv.slice(2));
