/**
 * The VPSie providers served from this process, once: the engine of every update this process runs
 * attaches to them (PULUMI_DEBUG_PROVIDERS) instead of starting the plugin, so an update is two
 * processes (this one and the engine), and every create shares this process's VPSie client (its rate
 * limit and circuit) and its worker claims.
 */
import { type ClaimTimings, WorkerClaims } from "../../provider/pulumi/claims.js";
import { serveDynamicProvider } from "../../provider/pulumi/plugins/dynamicProvider.js";
import { providers, useProviderContext } from "../../provider/pulumi/providers.js";
import { DYNAMIC_PROVIDER_PACKAGE } from "../../provider/pulumi/types.js";
import type { VpsieClient } from "../../provider/vpsie/client.js";
import { onShutdown } from "../system/shutdown.js";

let served: Promise<Record<string, string>> | undefined;
let current: VpsieClient | undefined;

/**
 * Starts hosting, or switches the hosted providers to another client (a process has one; tests that
 * start a second emulator switch); returns the CLI environment that attaches to them.
 */
export function hostProviders(
  projectDir: string,
  client?: VpsieClient,
  timings: Partial<ClaimTimings> = {},
): Promise<Record<string, string>> {
  // Without a client (a preview, which calls no VPSie), the providers make one from the environment when needed.
  if (client && client !== current) {
    current = client;
    useProviderContext({ client, claims: new WorkerClaims(client, timings) });
  }
  served ??= serveDynamicProvider(projectDir, providers).then(({ port, stop }) => {
    onShutdown(() => {
      stop();
      served = undefined;
    });
    return { PULUMI_DEBUG_PROVIDERS: `${DYNAMIC_PROVIDER_PACKAGE}:${port}` };
  });
  return served;
}
