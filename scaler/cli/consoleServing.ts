/**
 * The audit console as `console` and `run --console-address` serve it: the project's groups and stack
 * history, VPSie's prices when its credentials are set, the reviews' store, and the token from the
 * environment (never a flag, so it is in no process list).
 */
import type { Server } from "node:http";
import { join } from "node:path";
import type { VpsieClient } from "../../provider/vpsie/client.js";
import type { Log } from "../controller/ports.js";
import type { EngineOptions } from "../pulumi/workspace.js";
import type { ReviewStore } from "../review/store.js";
import { UsageError } from "./usageError.js";

export const CONSOLE_TOKEN_ENV = "VPSIE_AUTOSCALER_CONSOLE_TOKEN";

export interface ServeConsoleOptions {
  address: string;
  settings: EngineOptions & { projectDir: string; stateDir: string };
  reviews: ReviewStore;
  user: string;
  fromEnv: NodeJS.ProcessEnv;
  /** The scaler's own client (run); else one from the environment, when it has credentials. */
  client?: VpsieClient;
  backoff?: () => Record<string, string>;
  log?: Log;
}

/** Checks the address and the token before anything starts: exit 2, nothing done. */
export async function checkConsole(address: string, env: NodeJS.ProcessEnv): Promise<void> {
  const { checkConsoleAddress, ConsoleAddressError } = await import("../console/server.js");
  try {
    checkConsoleAddress(address, env[CONSOLE_TOKEN_ENV] || undefined);
  } catch (err) {
    if (err instanceof ConsoleAddressError) throw new UsageError(err.message);
    throw err;
  }
}

export async function serveConsole(options: ServeConsoleOptions): Promise<{ server: Server; url: string }> {
  const { startConsole, ConsoleAddressError } = await import("../console/server.js");
  const { projectConsoleData } = await import("../console/data.js");
  const { PriceList } = await import("../cost/priceList.js");
  let client = options.client;
  if (!client) {
    const { VpsieClient } = await import("../../provider/vpsie/client.js");
    try {
      client = VpsieClient.fromEnv(options.fromEnv);
    } catch {
      // Without VPSie credentials the console shows prices as unknown; everything else still works.
    }
  }
  const log: Log =
    options.log ??
    ((level, message) => {
      if (level !== "debug") process.stderr.write(`${level}: ${message}\n`);
    });
  try {
    return await startConsole({
      address: options.address,
      token: options.fromEnv[CONSOLE_TOKEN_ENV] || undefined,
      user: options.user,
      log,
      data: projectConsoleData({
        ...options.settings,
        readerDir: join(options.settings.stateDir, "console-project"),
        reviews: options.reviews,
        prices: client && new PriceList(client),
        backoff: options.backoff,
      }),
    });
  } catch (err) {
    if (err instanceof ConsoleAddressError) throw new UsageError(err.message);
    if ((err as NodeJS.ErrnoException).code === "EADDRINUSE")
      throw new UsageError(`--console-address ${options.address} is in use: pick another port`);
    throw err;
  }
}
