/**
 * The VPSie API emulator's HTTP server: VPSie's paths, envelope, auth and quirks over the world, with
 * fault injection and an admin API under /__sim/ (faults, request log, state, behaviour).
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";
import { type EmulatorConfig, FaultRule } from "./config.js";
import * as wire from "./wire.js";
import { World, WorldError } from "./world.js";

export interface RequestRecord {
  time: string;
  method: string;
  path: string;
  status: number;
  account?: string;
  /** The JSON or form body, for tests that check what the client sent; never the auth header. */
  body?: unknown;
  fault?: string;
}

interface ActiveFault extends FaultRule {
  id: string;
}

type Handler = (ctx: Context) => unknown;

interface Context {
  account: string;
  params: string[];
  body: Record<string, unknown>;
}

const UNAUTHENTICATED = { error: true, message: "Please authenticate" };

class HttpAnswer {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}

/** Lists carry `total`: a number, or (evidence profile, vpsie/govpsie services_test.go) `[{count}]`. */
function envelope(data: unknown, profile: EmulatorConfig["behaviour"]["profile"]) {
  if (!Array.isArray(data)) return { error: false, data };
  return { error: false, data, total: profile === "evidence" ? [{ count: data.length }] : data.length };
}

const HTML_502 =
  "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>";

async function readBody(
  req: IncomingMessage,
): Promise<{ raw: string; parsed: Record<string, unknown> | undefined }> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks).toString("utf8");
  if (!raw) return { raw, parsed: {} };
  const type = req.headers["content-type"] ?? "";
  if (type.includes("application/x-www-form-urlencoded")) {
    return { raw, parsed: Object.fromEntries(new URLSearchParams(raw)) };
  }
  try {
    const value: unknown = JSON.parse(raw);
    return {
      raw,
      parsed: typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {},
    };
  } catch {
    return { raw, parsed: undefined };
  }
}

export class VpsieEmulator {
  readonly world: World;
  readonly requests: RequestRecord[] = [];
  #faults: ActiveFault[];
  #server?: Server;
  #ticker?: NodeJS.Timeout;
  readonly #routes: Array<{ method: string; pattern: RegExp; handler: Handler }> = [];

  constructor(world: World) {
    this.world = world;
    this.#faults = world.config.faults.map((f) => ({ ...f, id: randomUUID() }));
    this.#defineRoutes();
  }

  get config(): EmulatorConfig {
    return this.world.config;
  }

  /** Listens on 127.0.0.1 (port 0 picks a free one) and starts moving workers through provisioning. */
  async listen(port = 0, host = "127.0.0.1"): Promise<string> {
    const server = createServer((req, res) => void this.#handle(req, res));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    this.#ticker = setInterval(() => {
      if (this.world.advance()) void this.world.save();
    }, 200);
    const address = server.address() as AddressInfo;
    return `http://${host}:${address.port}`;
  }

  async close(): Promise<void> {
    clearInterval(this.#ticker);
    const server = this.#server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await this.world.save();
  }

  #route(method: string, pattern: string, handler: Handler): void {
    const vmPrefixes = ["/api/v2/vm", "/apps/v2/vm"];
    const patterns = pattern.startsWith("{vm}")
      ? vmPrefixes.map((p) => pattern.replace("{vm}", p))
      : [pattern];
    for (const p of patterns) this.#routes.push({ method, pattern: new RegExp(`^${p}/?$`), handler });
  }

  #defineRoutes(): void {
    const w = this.world;
    const k8s = "/apps/v2/k8s";
    const id = "([^/]+)";
    this.#route("GET", `${k8s}/cluster/all`, ({ account }) =>
      w.clustersOf(account).map((c) => wire.clusterListItem(this.config, c)),
    );
    this.#route("GET", `${k8s}/cluster/byId/${id}`, ({ account, params }) =>
      wire.clusterDetail(this.config, w.cluster(account, params[0] ?? "")),
    );
    this.#route("GET", `${k8s}/node/groups/byClusterId/${id}`, ({ account, params }) => {
      const cluster = w.cluster(account, params[0] ?? "");
      return cluster.groups.map((g) => wire.nodeGroup(this.config, cluster, g));
    });
    this.#route("POST", `${k8s}/cluster/add/group`, ({ account, body }) => {
      const input = z
        .object({
          clusterIdentifier: z.string(),
          groupName: z.string().min(1),
          KubeSizeID: z.coerce.number().int(),
        })
        .safeParse(body);
      if (!input.success)
        throw new WorldError(400, "clusterIdentifier, groupName and KubeSizeID are required");
      w.createGroup(account, input.data.clusterIdentifier, input.data.groupName, input.data.KubeSizeID);
      return true;
    });
    this.#route("DELETE", `${k8s}/cluster/delete/group/${id}`, ({ account, params }) => {
      w.deleteGroup(account, params[0] ?? "");
      return true;
    });
    this.#route("POST", `${k8s}/cluster/byId/${id}/add/slave/group/(\\d+)`, ({ account, params }) => {
      const node = w.addWorker(account, params[0] ?? "", Number(params[1]));
      if (this.config.behaviour.addWorkerAnswer === "true") return true;
      return { id: node.id, identifier: node.identifier, status: node.status, hostname: node.hostname };
    });
    this.#route("DELETE", `${k8s}/cluster/byId/${id}/delete/slave`, ({ account, params, body }) => {
      if (typeof body.identifier !== "string") throw new WorldError(400, "identifier is required");
      w.deleteWorker(account, params[0] ?? "", body.identifier);
      return true;
    });
    this.#route("DELETE", `${k8s}/cluster/byId/${id}/reduce/slave`, ({ account, params, body }) => {
      w.reduceGroup(account, params[0] ?? "", Number(body.groupId));
      return true;
    });
    this.#route("POST", `${k8s}/offers`, ({ body }) =>
      w.offers(typeof body.dcIdentifier === "string" ? body.dcIdentifier : "").map((o) => wire.offer(o)),
    );
    this.#route("GET", "{vm}", ({ account }) =>
      w.clustersOf(account).flatMap((c) => c.nodes.map((n) => wire.vm(this.config, c, n))),
    );
    this.#route("GET", `{vm}/${id}`, ({ account, params }) => {
      const found = w.findVm(account, params[0] ?? "");
      if (!found) return false;
      return {
        vmData: wire.vm(this.config, found.cluster, found.node),
        imageCategories: [],
        vmTags: [],
        privateIpData: [],
        floatingIpData: [],
      };
    });
    this.#route("GET", "/apps/v2/datacenter", () => this.config.datacenters.map((d) => wire.datacenter(d)));
  }

  #login(req: IncomingMessage, body: Record<string, unknown> | undefined): HttpAnswer {
    const encoding = (req.headers["content-type"] ?? "").includes("x-www-form-urlencoded") ? "form" : "json";
    if (!this.config.behaviour.loginEncodings.includes(encoding) || !body) {
      return new HttpAnswer(400, {
        error: true,
        code: 400,
        message: `Unsupported request encoding: ${encoding}`,
      });
    }
    const text = (value: unknown) => (typeof value === "string" ? value : "");
    const issued = this.world.issueToken(text(body.clientId), text(body.clientSecret));
    if (!issued) return new HttpAnswer(401, { error: true, code: 401, message: "Invalid API credentials" });
    const access = { token: issued.token, expires: new Date(issued.expiresAt).toISOString() };
    const refresh = { token: randomUUID(), expires: new Date(issued.expiresAt + 86_400_000).toISOString() };
    return new HttpAnswer(
      200,
      this.config.behaviour.tokenAnswer === "sdk"
        ? { error: false, token: { access, refresh } }
        : { error: false, accessToken: access, refreshToken: refresh },
    );
  }

  #authenticate(req: IncomingMessage): string | undefined {
    const header = req.headers["vpsie-auth"];
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const token = (Array.isArray(header) ? header[0] : header) ?? bearer;
    return token ? this.world.accountOfToken(token) : undefined;
  }

  /** The first matching fault that ends the request, after the delays of matching latency faults. */
  async #faultFor(method: string, path: string): Promise<ActiveFault | undefined> {
    for (const fault of [...this.#faults]) {
      if (fault.method && fault.method !== method) continue;
      if (fault.path && !new RegExp(fault.path).test(path)) continue;
      if (Math.random() >= fault.probability) continue;
      if (fault.times !== undefined) {
        fault.times -= 1;
        if (fault.times <= 0) this.#faults = this.#faults.filter((f) => f !== fault);
      }
      if (fault.kind === "latency") {
        await new Promise((resolve) => setTimeout(resolve, fault.latencyMs));
        continue;
      }
      return fault;
    }
    return undefined;
  }

  #send(res: ServerResponse, answer: HttpAnswer, headers: Record<string, string> = {}): number {
    const isHtml = typeof answer.body === "string";
    res.writeHead(answer.status, {
      "Content-Type": isHtml ? "text/html" : "application/json",
      ...headers,
    });
    res.end(typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body));
    return answer.status;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://emulator");
    const method = req.method ?? "GET";
    const { raw, parsed } = await readBody(req);
    const record: RequestRecord = { time: new Date().toISOString(), method, path: url.pathname, status: 0 };
    if (url.pathname.startsWith("/__sim/")) {
      this.#send(res, this.#admin(method, url.pathname, parsed, raw));
      return;
    }
    this.requests.push(record);
    const isLogin = method === "POST" && url.pathname === "/apps/v2/auth/from/api";
    if (parsed && Object.keys(parsed).length > 0) {
      record.body = isLogin ? { clientId: parsed.clientId, clientSecret: "(not logged)" } : parsed;
    }

    const fault = await this.#faultFor(method, url.pathname);
    if (fault?.kind === "lostAnswer") {
      record.fault = `lostAnswer:${fault.answer}`;
      // Carried out as usual, then the answer never arrives.
      const account = isLogin ? undefined : this.#authenticate(req);
      if (isLogin) this.#login(req, parsed);
      else if (account) await this.#dispatch(method, url.pathname, account, parsed);
      if (fault.answer === "html502") {
        record.status = this.#send(res, new HttpAnswer(502, HTML_502));
      } else if (fault.answer === "reset") {
        record.status = -1;
        req.socket.destroy();
      } else {
        record.status = -2;
        // No answer: the client gives up first; the socket goes when it does, or when the emulator closes.
        req.socket.setTimeout(fault.latencyMs || 60_000, () => req.socket.destroy());
      }
      return;
    }
    if (fault) {
      record.fault = fault.kind;
      switch (fault.kind) {
        case "drop":
          record.status = -1;
          req.socket.destroy();
          return;
        case "html502":
          record.status = this.#send(res, new HttpAnswer(502, HTML_502));
          return;
        case "rateLimit":
          record.status = this.#send(
            res,
            new HttpAnswer(429, { error: true, code: 429, message: "Too many requests" }),
            {
              "Retry-After": String(fault.retryAfterSeconds),
            },
          );
          return;
        case "errorTrue":
          record.status = this.#send(
            res,
            new HttpAnswer(200, {
              error: true,
              code: 500,
              message: "Something went wrong, please try again",
            }),
          );
          return;
        case "error":
          record.status = this.#send(
            res,
            new HttpAnswer(fault.status, { error: true, code: fault.status, message: fault.message }),
          );
          return;
      }
    }

    if (isLogin) {
      record.status = this.#send(res, this.#login(req, parsed));
      return;
    }
    const account = this.#authenticate(req);
    if (!account) {
      record.status = this.#send(res, new HttpAnswer(401, UNAUTHENTICATED));
      return;
    }
    record.account = account;
    record.status = this.#send(res, await this.#dispatch(method, url.pathname, account, parsed));
  }

  async #dispatch(
    method: string,
    path: string,
    account: string,
    body: Record<string, unknown> | undefined,
  ): Promise<HttpAnswer> {
    if (body === undefined)
      return new HttpAnswer(400, { error: true, code: 400, message: "Invalid JSON body" });
    const evidence = this.config.behaviour.profile === "evidence";
    // vpsie/terraform-provider-vpsie CHANGELOG: a delete without deleteStatistic is answered with 500.
    if (evidence && method === "DELETE" && typeof body.deleteStatistic !== "object")
      return new HttpAnswer(500, { error: true, code: 500, message: "Internal Server Error" });
    for (const route of this.#routes) {
      if (route.method !== method) continue;
      const match = route.pattern.exec(path);
      if (!match) continue;
      this.world.advance();
      try {
        const data = await route.handler({ account, params: match.slice(1).map(decodeURIComponent), body });
        if (method !== "GET") await this.world.save();
        return new HttpAnswer(200, envelope(data, this.config.behaviour.profile));
      } catch (err) {
        if (err instanceof WorldError) {
          return new HttpAnswer(err.status, {
            error: true,
            code: err.status,
            message: err.message,
            stack: "",
          });
        }
        throw err;
      }
    }
    // Unknown routes answer "Not found", the same words as a missing object (vpsie Terraform CHANGELOG).
    return evidence
      ? new HttpAnswer(404, { error: true, code: 404, message: "Not found" })
      : new HttpAnswer(404, { error: true, code: 404, message: `Cannot ${method} ${path}` });
  }

  #admin(method: string, path: string, body: Record<string, unknown> | undefined, raw: string): HttpAnswer {
    const key = `${method} ${path.replace(/\/$/, "")}`;
    if (key === "GET /__sim/faults") return new HttpAnswer(200, this.#faults);
    if (key === "POST /__sim/faults") {
      let input: unknown;
      try {
        input = JSON.parse(raw || "null");
      } catch {
        return new HttpAnswer(400, { error: "body is not JSON" });
      }
      const parsed = z.union([FaultRule, z.array(FaultRule)]).safeParse(input);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        return new HttpAnswer(400, { error: `${issue?.path.join(".") || "(body)"}: ${issue?.message}` });
      }
      const added = (Array.isArray(parsed.data) ? parsed.data : [parsed.data]).map((f) => ({
        ...f,
        id: randomUUID(),
      }));
      this.#faults.push(...added);
      return new HttpAnswer(201, added);
    }
    if (key === "DELETE /__sim/faults") {
      this.#faults = [];
      return new HttpAnswer(200, []);
    }
    if (key === "GET /__sim/requests") return new HttpAnswer(200, this.requests);
    if (key === "DELETE /__sim/requests") {
      this.requests.length = 0;
      return new HttpAnswer(200, []);
    }
    if (key === "GET /__sim/state") return new HttpAnswer(200, this.world.data);
    if (key === "PATCH /__sim/behaviour") {
      const Behaviour = z
        .object({
          profile: z.enum(["default", "evidence"]),
          provisionDelayMs: z.number().int().min(0),
          provisionJitterMs: z.number().int().min(0),
          joinDelayMs: z.number().int().min(0),
          joinJitterMs: z.number().int().min(0),
          provisionNeverCompletes: z.boolean(),
          addWorkerAnswer: z.enum(["true", "object"]),
          tokenAnswer: z.enum(["sdk", "predecessor"]),
          tokenLifetimeSeconds: z.number().int().positive(),
        })
        .partial()
        .strict();
      const parsed = Behaviour.safeParse(body);
      if (!parsed.success) return new HttpAnswer(400, { error: parsed.error.issues[0]?.message });
      Object.assign(this.world.config.behaviour, parsed.data);
      return new HttpAnswer(200, this.world.config.behaviour);
    }
    return new HttpAnswer(404, { error: `no admin endpoint ${key}` });
  }
}

/** Opens the world (from the state file when given) and starts serving it. */
export async function startEmulator(
  config: EmulatorConfig,
  options: { port?: number; stateFile?: string } = {},
) {
  const world = await World.open(config, options.stateFile);
  const emulator = new VpsieEmulator(world);
  const url = await emulator.listen(options.port ?? 0);
  return { emulator, url };
}
