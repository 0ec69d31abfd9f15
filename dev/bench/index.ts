/**
 * `npm run bench`: every part, one after another, each in its own process so one's memory is not
 * another's; a part that misses a target does not stop the rest. `--full` goes to every part that
 * takes it (the 1,000-node steps). Exits 1 when any part missed a target or failed.
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const PARTS = ["plan", "actions", "latency"];
const here = dirname(fileURLToPath(import.meta.url));
const full = process.argv.includes("--full");
const missed: string[] = [];
for (const part of PARTS) {
  process.stdout.write(`\n== bench:${part} ==\n`);
  const args = [join(here, `${part}.js`), ...(full && part === "actions" ? ["--full"] : [])];
  const run = spawnSync(process.execPath, args, { stdio: "inherit" });
  if (run.status !== 0) missed.push(part);
}
process.stdout.write(
  missed.length ? `\nmissed a target or failed: ${missed.join(", ")}\n` : "\nevery target met\n",
);
if (missed.length) process.exitCode = 1;
