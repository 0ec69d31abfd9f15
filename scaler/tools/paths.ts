import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGE_NAME = "vpsie-autoscaler";

interface PackageManifest {
  name?: string;
  version: string;
}

/** The parts of a package.json this project reads. */
export function readManifest(path: string): PackageManifest {
  return JSON.parse(readFileSync(path, "utf8")) as PackageManifest;
}

function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && readManifest(manifest).name === PACKAGE_NAME) return dir;
    if (dirname(dir) === dir) throw new Error(`cannot find the ${PACKAGE_NAME} package above ${start}`);
  }
}

/** The checkout (or installed package) this code runs from: sources and `dist/` resolve to the same root. */
export const repoRoot = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

/**
 * Where built tools are kept between runs and checkouts: `$VPSIE_AUTOSCALER_CACHE`, else
 * `$XDG_CACHE_HOME/vpsie-autoscaler`, else `~/.cache/vpsie-autoscaler`. Never inside the checkout.
 */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VPSIE_AUTOSCALER_CACHE) return env.VPSIE_AUTOSCALER_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), PACKAGE_NAME);
}

/** The version of an installed npm package, read from its manifest. */
export function installedVersion(pkg: string): string {
  return readManifest(join(repoRoot, "node_modules", pkg, "package.json")).version;
}
