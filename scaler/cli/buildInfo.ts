import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { readManifest, repoRoot } from "../tools/paths.js";

const BuildInfo = z.object({ version: z.string(), commit: z.string(), buildDate: z.string() });
export type BuildInfo = z.infer<typeof BuildInfo>;

function git(...args: string[]): string | undefined {
  try {
    const out = execFileSync("git", args, {
      cwd: repoRoot,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    return out.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** What this build is: recorded at build time in dist/build-info.json; from sources, asked of git. */
export function buildInfo(): BuildInfo {
  const recorded = join(repoRoot, "dist", "build-info.json");
  if (existsSync(recorded)) return BuildInfo.parse(JSON.parse(readFileSync(recorded, "utf8")));
  return {
    version: readManifest(join(repoRoot, "package.json")).version,
    commit: git("rev-parse", "--short=12", "HEAD") ?? "unknown",
    buildDate: git("log", "-1", "--format=%cI") ?? "unknown",
  };
}
