/**
 * The audit console's web server: the pages of pages.ts, and approvals decided with a click. On a
 * loopback address it trusts whoever reaches it (the person who started it); on any other address a
 * token is required, exchanged once for a session cookie (HttpOnly, SameSite=Strict). Every form carries
 * a CSRF token, every page a Content-Security-Policy that allows nothing but its own inline styles.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Log } from "../controller/ports.js";
import { decide, ReviewDecisionError } from "../review/decide.js";
import { ReviewNotFoundError } from "../review/store.js";
import type { ConsoleData } from "./data.js";
import { type Html, toText } from "./html.js";
import { approvalsPage, groupsPage, historyPage, loginPage, shadowPage } from "./pages.js";

export const PAGE_SIZE = 50;
const MAX_BODY = 16 * 1024;
const SESSION_COOKIE = "vpsie_console_session";

export interface ConsoleOptions {
  /** host:port; port 0 picks a free one. */
  address: string;
  data: ConsoleData;
  /** Required unless the address is loopback. */
  token?: string;
  /** Who decides on a loopback console without a token (default: the OS user). */
  user: string;
  log: Log;
  now?: () => Date;
}

export class ConsoleAddressError extends Error {
  override name = "ConsoleAddressError";
}

export function parseAddress(address: string): { host: string; port: number } {
  const match = /^(.+):(\d{1,5})$/.exec(address);
  const port = Number(match?.[2]);
  if (!match?.[1] || port > 65535)
    throw new ConsoleAddressError(`console address "${address}" is not host:port, e.g. 127.0.0.1:8086`);
  return { host: match[1].replace(/^\[|\]$/g, ""), port };
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookies(req: IncomingMessage): Record<string, string> {
  return Object.fromEntries(
    (req.headers.cookie ?? "")
      .split(";")
      .map((c) => c.trim().split("=") as [string, string])
      .filter(([k, v]) => k && v),
  );
}

async function formBody(req: IncomingMessage): Promise<URLSearchParams> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new RangeError("form too large");
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

function pageNumber(value: string | null): number {
  const page = Number(value ?? 1);
  return Number.isInteger(page) && page >= 1 && page <= 100_000 ? page : 1;
}

/** Refuses an address other hosts could reach unless a token guards it. */
export function checkConsoleAddress(
  address: string,
  token: string | undefined,
): { host: string; port: number } {
  const parsed = parseAddress(address);
  if (!isLoopback(parsed.host) && !token)
    throw new ConsoleAddressError(
      `the console on ${address} would be reachable from other hosts: set VPSIE_AUTOSCALER_CONSOLE_TOKEN, or listen on 127.0.0.1`,
    );
  return parsed;
}

export async function startConsole(options: ConsoleOptions): Promise<{ server: Server; url: string }> {
  const { host, port } = checkConsoleAddress(options.address, options.token);
  const now = options.now ?? (() => new Date());
  /** Session id → who signed in, with the CSRF token of that session. */
  const sessions = new Map<string, { user: string; csrf: string }>();
  const local = { user: options.user, csrf: randomBytes(16).toString("hex") };

  const send = (
    res: ServerResponse,
    status: number,
    page: Html | string,
    headers: Record<string, string> = {},
  ) => {
    res.writeHead(status, {
      "Content-Type": typeof page === "string" ? "text/plain; charset=utf-8" : "text/html; charset=utf-8",
      "Content-Security-Policy":
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
      "Cache-Control": "no-store",
      ...headers,
    });
    res.end(typeof page === "string" ? page : toText(page));
  };
  const redirect = (res: ServerResponse, to: string, headers: Record<string, string> = {}) => {
    res.writeHead(303, { Location: to, "Cache-Control": "no-store", ...headers });
    res.end();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://console.invalid");
    const path = url.pathname;
    if (options.token && path === "/login") {
      if (req.method !== "POST") return send(res, 200, loginPage(false));
      const form = await formBody(req);
      if (!sameSecret(form.get("token") ?? "", options.token)) return send(res, 401, loginPage(true));
      const id = randomBytes(24).toString("hex");
      sessions.set(id, {
        user: form.get("user")?.trim() || "console user",
        csrf: randomBytes(16).toString("hex"),
      });
      return redirect(res, "/groups", {
        "Set-Cookie": `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/`,
      });
    }
    const session = options.token ? sessions.get(cookies(req)[SESSION_COOKIE] ?? "") : local;
    if (!session) return redirect(res, "/login");

    if (req.method === "POST") {
      const decision = /^\/approvals\/([a-z0-9-]{1,64})\/(approve|reject)$/.exec(path);
      if (!decision) return send(res, 404, "not found");
      const form = await formBody(req);
      if (!sameSecret(form.get("csrf") ?? "", session.csrf))
        return send(res, 403, "this form is stale: reload the page");
      const [, id = "", verb] = decision;
      try {
        const by = form.get("by")?.trim() || session.user;
        const record = await decide(
          options.data.reviews,
          id,
          verb === "approve" ? "approve" : "reject",
          by,
          now(),
        );
        options.log("info", `review ${id} of ${record.group} ${record.status} by ${by} in the console`, {
          group: record.group,
          review: id,
        });
        return redirect(res, `/approvals?notice=${encodeURIComponent(`${id}: ${record.status} by ${by}`)}`);
      } catch (err) {
        if (err instanceof ReviewDecisionError || err instanceof ReviewNotFoundError)
          return redirect(res, `/approvals?notice=${encodeURIComponent(err.message)}`);
        throw err;
      }
    }
    if (req.method !== "GET") return send(res, 405, "use GET or POST");
    const page = pageNumber(url.searchParams.get("page"));
    switch (path) {
      case "/":
        return redirect(res, "/groups");
      case "/groups": {
        const { records } = await options.data.reviews.list();
        return send(
          res,
          200,
          groupsPage(
            await options.data.groups(),
            records.filter((r) => r.status === "pending"),
          ),
        );
      }
      case "/history": {
        const groups = (await options.data.groups()).map((g) => g.name);
        const asked = url.searchParams.get("group") ?? undefined;
        const group = asked && groups.includes(asked) ? asked : groups[0];
        const rows = group ? await options.data.history(group, page, PAGE_SIZE) : [];
        return send(res, 200, historyPage(groups, group, rows, page, PAGE_SIZE));
      }
      case "/shadow": {
        const { records } = await options.data.reviews.list();
        return send(
          res,
          200,
          shadowPage(
            records.filter((r) => r.status === "shadow"),
            page,
            PAGE_SIZE,
          ),
        );
      }
      case "/approvals": {
        const { records } = await options.data.reviews.list();
        return send(
          res,
          200,
          approvalsPage(records, session.csrf, session.user, url.searchParams.get("notice") ?? undefined),
        );
      }
      default:
        return send(res, 404, "not found: /groups, /history, /shadow, /approvals");
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      options.log("error", `console: ${req.method} ${req.url}: ${(err as Error).message}`);
      if (!res.headersSent)
        send(res, err instanceof RangeError ? 413 : 500, `error: ${(err as Error).message}`);
      else res.end();
    });
  });
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  return { server, url: `http://${host.includes(":") ? `[${host}]` : host}:${bound.port}` };
}
