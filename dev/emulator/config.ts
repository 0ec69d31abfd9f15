/**
 * The emulator's configuration: the world it starts with (accounts, datacenters, Kubernetes sizes,
 * clusters) and how it behaves (provisioning delay, answer shapes, faults). Read from YAML or JSON.
 */
import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { z } from "zod";

/**
 * Faults. Most end the request before VPSie would act on it; `lostAnswer` carries the request out and
 * then loses its answer (`answer`: a proxy's HTML 502, no answer until the client times out, or a reset
 * connection), which is what makes re-sending an add double-bill a worker.
 */
export const FaultKind = z.enum([
  "latency",
  "error",
  "rateLimit",
  "html502",
  "errorTrue",
  "drop",
  "lostAnswer",
]);
export type FaultKind = z.infer<typeof FaultKind>;

export const FaultRule = z
  .object({
    kind: FaultKind,
    /** Regular expression on the request path; all paths when absent. */
    path: z.string().optional(),
    method: z.enum(["GET", "POST", "PUT", "DELETE"]).optional(),
    /** Chance that a matching request gets the fault (default 1). */
    probability: z.number().min(0).max(1).default(1),
    /** Apply to this many matching requests, then retire (default: until removed). */
    times: z.number().int().positive().optional(),
    /** `latency`: added delay. */
    latencyMs: z.number().int().min(0).default(0),
    /** `error`: the HTTP status (default 500) and VPSie's message (default "Internal server error"). */
    status: z.number().int().min(400).max(599).default(500),
    message: z.string().default("Internal server error"),
    /** `rateLimit`: the Retry-After header in seconds (default 1). */
    retryAfterSeconds: z.number().min(0).default(1),
    /** `lostAnswer`: how the answer is lost after the request was carried out. */
    answer: z.enum(["html502", "timeout", "reset"]).default("html502"),
  })
  .strict();
export type FaultRule = z.output<typeof FaultRule>;

const Account = z
  .object({
    name: z.string().min(1),
    tokens: z.array(z.string().min(1)).default([]),
    clients: z
      .array(z.object({ clientId: z.string().min(1), clientSecret: z.string().min(1) }).strict())
      .default([]),
    /** Workers the account may have across its clusters. */
    workerLimit: z.number().int().min(0).default(50),
  })
  .strict();

const Datacenter = z
  .object({
    identifier: z.string().min(1),
    name: z.string().min(1),
    country: z.string().default(""),
    id: z.number().int().positive(),
  })
  .strict();

const Offer = z
  .object({
    id: z.number().int().positive(),
    name: z.string().min(1),
    cpu: z.number().int().positive(),
    ramMb: z.number().int().positive(),
    diskGb: z.number().int().positive(),
    priceMonthly: z.number().min(0),
    priceHourly: z.number().min(0),
  })
  .strict();

const Cluster = z
  .object({
    identifier: z.string().min(1),
    name: z.string().min(1),
    account: z.string().min(1),
    dcIdentifier: z.string().min(1),
    kubeVersion: z.string().default("1.36.3"),
    groups: z
      .array(
        z
          .object({
            name: z.string().min(1),
            kubeSizeId: z.number().int().positive(),
            workers: z.number().int().min(0).default(0),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

export const EmulatorConfig = z
  .object({
    accounts: z.array(Account).min(1),
    datacenters: z.array(Datacenter).min(1),
    /** Kubernetes sizes per datacenter identifier. */
    offers: z.record(z.string(), z.array(Offer)),
    clusters: z.array(Cluster).default([]),
    behaviour: z
      .object({
        /**
         * `default`: the shapes our client was first written against. `evidence`: only what VPSie's public
         * SDK and Terraform provider show (../shared/reference/turn2-findings.md §2): no node identifier,
         * an integer node_type, mixed-case hostnames, the worker limit as HTTP 500, "Not found" for unknown
         * routes, HTTP 500 for a delete without deleteStatistic, `total` as an array.
         */
        profile: z.enum(["default", "evidence"]).default("default"),
        /** How long a new worker stays `provisioning` before it is `running`. */
        provisionDelayMs: z.number().int().min(0).default(2_000),
        /** Up to this much more, at random, per worker (realistic: 60 s + 60 s). */
        provisionJitterMs: z.number().int().min(0).default(0),
        /** How long after it runs a worker's Kubernetes Node registers (join hook), plus up to the jitter. */
        joinDelayMs: z.number().int().min(0).default(0),
        joinJitterMs: z.number().int().min(0).default(0),
        /** Never finish provisioning (to exercise timeouts). */
        provisionNeverCompletes: z.boolean().default(false),
        /** The add-worker answer: bare `true`, or the new node's object. */
        addWorkerAnswer: z.enum(["true", "object"]).default("true"),
        /** Token exchange answer shape: the SDK's `{token:{access}}` or the predecessor's `{accessToken}`. */
        tokenAnswer: z.enum(["sdk", "predecessor"]).default("sdk"),
        /** Request encodings the token exchange accepts. */
        loginEncodings: z
          .array(z.enum(["json", "form"]))
          .min(1)
          .default(["json", "form"]),
        tokenLifetimeSeconds: z.number().int().positive().default(3600),
      })
      .strict()
      .prefault({}),
    faults: z.array(FaultRule).default([]),
  })
  .strict();
export type EmulatorConfig = z.output<typeof EmulatorConfig>;

/** The embedded default: one account, one datacenter with three sizes, one empty cluster. */
export const defaultEmulatorConfig: z.input<typeof EmulatorConfig> = {
  accounts: [
    {
      name: "demo",
      tokens: ["demo-token"],
      clients: [{ clientId: "demo-client", clientSecret: "demo-secret" }],
      workerLimit: 20,
    },
  ],
  datacenters: [{ identifier: "hel1-6c2a0c5e", name: "HEL", country: "Finland", id: 7 }],
  offers: {
    "hel1-6c2a0c5e": [
      { id: 1, name: "k8s-2c-4g", cpu: 2, ramMb: 4096, diskGb: 80, priceMonthly: 24, priceHourly: 0.0333 },
      { id: 2, name: "k8s-4c-8g", cpu: 4, ramMb: 8192, diskGb: 160, priceMonthly: 48, priceHourly: 0.0667 },
      { id: 3, name: "k8s-8c-16g", cpu: 8, ramMb: 16384, diskGb: 320, priceMonthly: 96, priceHourly: 0.1333 },
    ],
  },
  clusters: [
    {
      identifier: "6f1c9e52-3b0e-4d8a-9a55-1f2d3c4b5a69",
      name: "HEL-Kubernetes-49ab",
      account: "demo",
      dcIdentifier: "hel1-6c2a0c5e",
    },
  ],
};

/** Why a configuration file was refused, naming the field. */
export class EmulatorConfigError extends Error {
  override name = "EmulatorConfigError";
}

export function parseEmulatorConfig(raw: unknown, source: string): EmulatorConfig {
  const result = EmulatorConfig.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new EmulatorConfigError(`${source}: ${issue?.path.join(".") || "(top level)"}: ${issue?.message}`);
  }
  for (const cluster of result.data.clusters) {
    if (!result.data.accounts.some((a) => a.name === cluster.account)) {
      throw new EmulatorConfigError(
        `${source}: clusters: ${cluster.name} names unknown account ${cluster.account}`,
      );
    }
    if (!result.data.datacenters.some((d) => d.identifier === cluster.dcIdentifier)) {
      throw new EmulatorConfigError(
        `${source}: clusters: ${cluster.name} names unknown datacenter ${cluster.dcIdentifier}`,
      );
    }
  }
  return result.data;
}

export async function loadEmulatorConfig(path: string | undefined): Promise<EmulatorConfig> {
  if (!path) return parseEmulatorConfig(defaultEmulatorConfig, "the embedded default configuration");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new EmulatorConfigError(`cannot read --config ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new EmulatorConfigError(`--config ${path} is not valid YAML or JSON: ${(err as Error).message}`);
  }
  return parseEmulatorConfig(raw, path);
}
