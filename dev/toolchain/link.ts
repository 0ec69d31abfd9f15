import { mkdir, readlink, realpath, rm, symlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { repoRoot } from "../../scaler/tools/paths.js";

/**
 * Links a built tool into the checkout's `node_modules/.bin`, so that `npx <name> …` runs it on this
 * project's Node.js, as a person would. A link, so that the tool still finds what lies beside it.
 */
export async function linkIntoCheckout(name: string, tool: string): Promise<string> {
  // The tool may have been found through this very link.
  const target = await realpath(tool);
  const link = join(repoRoot, "node_modules", ".bin", name);
  await mkdir(dirname(link), { recursive: true });
  if ((await readlink(link).catch(() => undefined)) !== target) {
    await rm(link, { force: true });
    await symlink(target, link);
  }
  return link;
}
