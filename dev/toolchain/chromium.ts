/**
 * Chromium for the console's browser tests: Debian's `chromium` package (a browser download, as
 * `npx playwright install` makes, cannot work on these machines). `npm run tools` installs it with
 * apt-get when it is missing; the tests find it here and fail, saying how to get it, when it is not.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { isExecutable } from "../../scaler/tools/binaries.js";
import { ToolMissingError } from "../../scaler/tools/errors.js";
import type { Progress } from "./goBuild.js";

const run = promisify(execFile);
const CHROMIUM = "/usr/bin/chromium";
const INSTALL = "apt-get install -y --no-install-recommends chromium";

/**
 * How Chromium starts on a machine whose network is closed: without the background networking flags it
 * retries Google's hosts at every start, and as root it needs --no-sandbox.
 */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface ChromiumTool {
  command: string;
  version: string;
}

export async function resolveChromium(): Promise<ChromiumTool> {
  if (!(await isExecutable(CHROMIUM)))
    throw new ToolMissingError(
      `Chromium is not installed (${CHROMIUM}): run \`npm run tools\`, which installs Debian's chromium package (as root, or \`sudo ${INSTALL}\`)`,
    );
  const { stdout } = await run(CHROMIUM, ["--version"], { timeout: 30_000 });
  return { command: CHROMIUM, version: /(\d+(\.\d+)+)/.exec(stdout)?.[1] ?? stdout.trim() };
}

export async function ensureChromium(progress: Progress): Promise<ChromiumTool> {
  try {
    return await resolveChromium();
  } catch (err) {
    if (!(err instanceof ToolMissingError)) throw err;
  }
  const root = process.getuid?.() === 0;
  progress(`installing Debian's chromium package (${root ? "" : "sudo "}${INSTALL})`);
  const apt = (args: string[]) => {
    const [command = "apt-get", ...rest] = [...(root ? [] : ["sudo", "-n"]), "apt-get", ...args];
    return run(command, rest, {
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      timeout: 20 * 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
  };
  const install = ["install", "-y", "--no-install-recommends", "chromium"];
  try {
    await apt(install);
  } catch {
    // The package lists may be missing (a fresh image): read them once, then install.
    try {
      await apt(["update"]);
      await apt(install);
    } catch (err) {
      throw new ToolMissingError(
        `could not install Debian's chromium package: ${(err as Error).message.split("\n")[0]}; install it with \`sudo ${INSTALL}\``,
      );
    }
  }
  return resolveChromium();
}
