import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PROJECT } from "../../stacks/contract.js";

/**
 * A person's lock on a stack in a file:// backend, as `pulumi up` on their laptop leaves it while it
 * runs (alice@alice-laptop, pid 4242). Returns the lock file; removing it ends their update.
 */
export async function writePersonLock(backendDir: string, stack: string): Promise<string> {
  const dir = join(backendDir, ".pulumi", "locks", "organization", PROJECT, stack);
  await mkdir(dir, { recursive: true });
  const lock = join(dir, "a5e5b6f0-person.json");
  await writeFile(
    lock,
    JSON.stringify({
      pid: 4242,
      username: "alice",
      hostname: "alice-laptop",
      timestamp: new Date().toISOString(),
    }),
  );
  return lock;
}
