// Records what `vpsie-autoscaler --version` prints. Build arguments (VERSION, COMMIT, BUILD_DATE, as a
// container build passes them) win; otherwise the package version and the checkout's git commit.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";

function git(...args) {
  try {
    return execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "";
  }
}

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const info = {
  version: process.env.VERSION || pkg.version,
  commit: process.env.COMMIT || git("rev-parse", "--short=12", "HEAD") || "unknown",
  buildDate: process.env.BUILD_DATE || new Date().toISOString(),
};
mkdirSync(new URL("../dist", import.meta.url), { recursive: true });
writeFileSync(new URL("../dist/build-info.json", import.meta.url), `${JSON.stringify(info, null, 2)}\n`);
