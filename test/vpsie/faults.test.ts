import { inspect } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Credentials } from "../../provider/vpsie/credentials.js";
import { VpsieClient } from "../../provider/vpsie/client.js";
import {
  VpsieApiError,
  VpsieBadResponseError,
  VpsieCircuitOpenError,
  VpsieNetworkError,
} from "../../provider/vpsie/errors.js";
import type { AttemptRecord } from "../../provider/vpsie/transport.js";
import { DEMO_CLIENT, fastRetries, type TestEmulator, testEmulator } from "../../dev/testing/emulator.js";

const CLUSTERS = "/apps/v2/k8s/cluster/all";

describe("the VPSie client under injected faults", () => {
  let sim: TestEmulator;

  beforeAll(async () => {
    sim = await testEmulator();
  });
  afterEach(() => sim.clearFaults());
  afterAll(() => sim.stop());

  const attemptsOn = async (since: number) => (await sim.requests(/cluster\/all/)).length - since;

  // Each fault that clears after two occurrences ends in success on the third attempt.
  const transient: Array<[string, Parameters<TestEmulator["addFaults"]>[0]]> = [
    ["HTTP 500", { kind: "error", status: 500, path: CLUSTERS, times: 2 }],
    ["HTTP 503", { kind: "error", status: 503, path: CLUSTERS, times: 2 }],
    ["HTML 502 from a proxy", { kind: "html502", path: CLUSTERS, times: 2 }],
    ["HTTP 200 with error:true", { kind: "errorTrue", path: CLUSTERS, times: 2 }],
    ["dropped connections", { kind: "drop", path: CLUSTERS, times: 2 }],
    ["429 with Retry-After", { kind: "rateLimit", path: CLUSTERS, retryAfterSeconds: 0, times: 2 }],
  ];
  for (const [name, fault] of transient) {
    it(`retries through ${name} and succeeds once it clears`, async () => {
      const since = (await sim.requests(/cluster\/all/)).length;
      await sim.addFaults(fault);
      expect(await sim.client().listClusters()).toHaveLength(1);
      expect(await attemptsOn(since)).toBe(3);
    });
  }

  it("waits as long as Retry-After asks", async () => {
    await sim.addFaults({ kind: "rateLimit", path: CLUSTERS, retryAfterSeconds: 1, times: 1 });
    const started = Date.now();
    await sim.client().listClusters();
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it("times out a request that hangs and succeeds when the latency goes", async () => {
    const attempts: AttemptRecord[] = [];
    await sim.addFaults({ kind: "latency", latencyMs: 3_000, path: CLUSTERS, times: 1 });
    const started = Date.now();
    const client = sim.client({ timeoutMs: 300, onAttempt: (a) => attempts.push(a) });
    expect(await client.listClusters()).toHaveLength(1);
    // Answered by the second attempt, long before the hanging one would have answered.
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(attempts.map((a) => a.result)).toEqual(["VpsieNetworkError", "ok"]);
  });

  const persistent: Array<
    [string, Parameters<TestEmulator["addFaults"]>[0], new (...args: never[]) => Error, RegExp]
  > = [
    [
      "HTTP 500",
      { kind: "error", status: 500, path: CLUSTERS },
      VpsieApiError,
      /\(500\): Internal server error/,
    ],
    [
      "HTML 502",
      { kind: "html502", path: CLUSTERS },
      VpsieBadResponseError,
      /502 with a body that is not JSON: 502 Bad Gateway/,
    ],
    ["error:true", { kind: "errorTrue", path: CLUSTERS }, VpsieApiError, /Something went wrong/],
    ["dropped connections", { kind: "drop", path: CLUSTERS }, VpsieNetworkError, /did not complete/],
    [
      "latency beyond the timeout",
      { kind: "latency", latencyMs: 400, path: CLUSTERS },
      VpsieNetworkError,
      /no answer within 0.2s/,
    ],
    ["429", { kind: "rateLimit", path: CLUSTERS, retryAfterSeconds: 0 }, VpsieApiError, /\(429\)/],
  ];
  for (const [name, fault, type, message] of persistent) {
    it(`gives up on persistent ${name} with a typed error after its attempts`, async () => {
      const since = (await sim.requests(/cluster\/all/)).length;
      await sim.addFaults(fault);
      const call = sim.client({ maxAttempts: 3, timeoutMs: 200 }).listClusters();
      await expect(call).rejects.toBeInstanceOf(type);
      await expect(call).rejects.toThrow(message);
      expect(await attemptsOn(since)).toBe(3);
    });
  }

  it("opens the circuit after repeated failures, calls nothing while open, and closes after it clears", async () => {
    const client = sim.client({ maxAttempts: 1, breakerFailures: 3, breakerHalfOpenAfterMs: 300 });
    await sim.addFaults({ kind: "error", status: 500, path: CLUSTERS });
    for (let i = 0; i < 3; i++) await expect(client.listClusters()).rejects.toBeInstanceOf(VpsieApiError);
    expect(client.circuitOpen).toBe(true);
    const since = (await sim.requests(/cluster\/all/)).length;
    await expect(client.listClusters()).rejects.toBeInstanceOf(VpsieCircuitOpenError);
    expect(await attemptsOn(since)).toBe(0);

    await sim.clearFaults();
    await new Promise((r) => setTimeout(r, 350));
    // Past the half-open delay it lets a trial call through, so a caller that waits for it to close
    // before calling (the loop) sees it closed before any call (the chaos campaign's second finding).
    expect(client.circuitOpen).toBe(false);
    expect(await client.listClusters()).toHaveLength(1);
    expect(client.circuitOpen).toBe(false);
  });

  it("opens again for a whole delay when the trial call after it fails", async () => {
    const client = sim.client({ maxAttempts: 1, breakerFailures: 2, breakerHalfOpenAfterMs: 300 });
    await sim.addFaults({ kind: "error", status: 500, path: CLUSTERS });
    for (let i = 0; i < 2; i++) await expect(client.listClusters()).rejects.toBeInstanceOf(VpsieApiError);
    await new Promise((r) => setTimeout(r, 350));
    expect(client.circuitOpen).toBe(false);
    await expect(client.listClusters()).rejects.toBeInstanceOf(VpsieApiError);
    expect(client.circuitOpen).toBe(true);
    await sim.clearFaults();
  });

  it("limits its own request rate", async () => {
    const client = sim.client({ rateLimit: { requests: 2, intervalMs: 1_000 } });
    const started = Date.now();
    await Promise.all([client.listClusters(), client.listClusters(), client.listClusters()]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });
});

describe("VPSie credentials stay secret", () => {
  it("never appear in attempt records, errors, their causes, or the client object", async () => {
    const token = "tok-SECRET-5f0b9c";
    const sim = await testEmulator((c) => {
      const account = c.accounts[0]!;
      account.tokens = [...(account.tokens ?? []), token];
    });
    try {
      const records: AttemptRecord[] = [];
      const seen: unknown[] = [];
      const onAttempt = (r: AttemptRecord) => records.push(r);
      const withToken = new VpsieClient({
        credentials: Credentials.token(token),
        apiUrl: sim.url,
        ...fastRetries,
        maxAttempts: 2,
        onAttempt,
      });
      const withClient = new VpsieClient({
        credentials: Credentials.client(DEMO_CLIENT.id, DEMO_CLIENT.secret),
        apiUrl: sim.url,
        ...fastRetries,
        maxAttempts: 2,
        onAttempt,
      });
      seen.push(withToken, withClient);
      for (const kind of ["error", "html502", "errorTrue", "drop", "rateLimit"] as const) {
        await sim.addFaults({ kind, retryAfterSeconds: 0 });
        for (const client of [withToken, withClient])
          seen.push(await client.listClusters().catch((e: unknown) => e));
        await sim.clearFaults();
      }
      const wrong = new VpsieClient({
        credentials: Credentials.token(`${token}-x`),
        apiUrl: sim.url,
        ...fastRetries,
        onAttempt,
      });
      seen.push(wrong, await wrong.listClusters().catch((e: unknown) => e));
      seen.push(
        await new VpsieClient({
          credentials: Credentials.token(token),
          apiUrl: "http://127.0.0.1:9",
          ...fastRetries,
          maxAttempts: 1,
        })
          .listClusters()
          .catch((e: unknown) => e),
      );

      const rendered = [
        ...seen.map((x) => inspect(x, { depth: 10, showHidden: true })),
        ...seen.map((x) => JSON.stringify(x) ?? ""),
        ...seen.map((x) => inspect((x as Error)?.cause, { depth: 10, showHidden: true })),
        JSON.stringify(records),
      ].join("\n");
      expect(seen.filter((x) => x instanceof Error).length).toBeGreaterThanOrEqual(10);
      expect(rendered).not.toContain(token);
      expect(rendered).not.toContain(DEMO_CLIENT.secret);
    } finally {
      await sim.stop();
    }
  });
});
