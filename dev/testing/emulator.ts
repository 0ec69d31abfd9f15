import type { z } from "zod";
import { EmulatorConfig, defaultEmulatorConfig, FaultRule, parseEmulatorConfig } from "../emulator/config.js";
import { startEmulator, type VpsieEmulator, type RequestRecord } from "../emulator/server.js";
import { Credentials } from "../../provider/vpsie/credentials.js";
import { VpsieClient, type VpsieClientOptions } from "../../provider/vpsie/client.js";

export const DEMO_TOKEN = "demo-token";
export const DEMO_CLIENT = { id: "demo-client", secret: "demo-secret" };
export const DEMO_CLUSTER = "6f1c9e52-3b0e-4d8a-9a55-1f2d3c4b5a69";
export const DEMO_DC = "hel1-6c2a0c5e";

/** The node group the end-to-end tests scale: the demo cluster's size 2, from one node up to three. */
export const GENERAL_GROUP = {
  name: "general",
  cluster: DEMO_CLUSTER,
  kubeSizeId: 2,
  minNodes: 1,
  maxNodes: 3,
  nodes: [] as string[],
};

/** Client settings that keep retries and breaker waits short in tests. */
export const fastRetries = {
  backoffInitialMs: 20,
  backoffMaxMs: 200,
  breakerHalfOpenAfterMs: 500,
  timeoutMs: 2_000,
} satisfies Partial<VpsieClientOptions>;

export interface TestEmulator {
  emulator: VpsieEmulator;
  url: string;
  client: (options?: Partial<VpsieClientOptions>) => VpsieClient;
  /** Adds faults through the emulator's admin API, as an operator would at runtime. */
  addFaults: (...rules: Array<z.input<typeof FaultRule>>) => Promise<void>;
  clearFaults: () => Promise<void>;
  requests: (path?: RegExp) => Promise<RequestRecord[]>;
  stop: () => Promise<void>;
}

export async function testEmulator(
  tweak: (config: z.input<typeof EmulatorConfig>) => void = () => undefined,
  options: { stateFile?: string } = {},
): Promise<TestEmulator> {
  const raw = structuredClone(defaultEmulatorConfig);
  raw.behaviour = { provisionDelayMs: 300 };
  tweak(raw);
  const config = parseEmulatorConfig(raw, "test configuration");
  const { emulator, url } = await startEmulator(config, options);
  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${url}${path}`, {
      method,
      headers: { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  return {
    emulator,
    url,
    client: (opts = {}) =>
      new VpsieClient({ credentials: Credentials.token(DEMO_TOKEN), apiUrl: url, ...fastRetries, ...opts }),
    addFaults: async (...rules: unknown[]) => {
      const res = await admin("POST", "/__sim/faults", rules);
      if (res.status !== 201) throw new Error(`adding faults failed: ${await res.text()}`);
    },
    clearFaults: async () => {
      await admin("DELETE", "/__sim/faults");
    },
    requests: async (path?: RegExp) => {
      const all = (await (await admin("GET", "/__sim/requests")).json()) as RequestRecord[];
      return path ? all.filter((r) => path.test(r.path)) : all;
    },
    stop: () => emulator.close(),
  };
}
