import { Credentials } from "./credentials.js";
import { VpsieApiError, VpsieAuthError, VpsieError } from "./errors.js";
import { TokenResponseWire } from "./model.js";
import type { Transport } from "./transport.js";

const LOGIN_PATH = "/apps/v2/auth/from/api";
/** Refresh this long before the token expires, so no request goes out with a token about to lapse. */
const REFRESH_BEFORE_MS = 5 * 60_000;
/** No client documents the lifetime; the predecessor assumed an hour when `expires` is missing. */
const ASSUMED_LIFETIME_MS = 60 * 60_000;

/** How the token exchange wrote `expires`: clients disagree (RFC 3339, epoch seconds), so `doctor` reports it. */
export type ExpiryFormat = "rfc3339" | "epoch-seconds" | "epoch-milliseconds" | "missing" | "unparseable";

export function expiryFormat(expires: string | undefined): ExpiryFormat {
  if (!expires) return "missing";
  const numeric = Number(expires);
  if (Number.isFinite(numeric)) return numeric < 1e12 ? "epoch-seconds" : "epoch-milliseconds";
  return Number.isFinite(Date.parse(expires)) ? "rfc3339" : "unparseable";
}

function expiryOf(expires: string | undefined, now: number): number {
  if (expires) {
    const numeric = Number(expires);
    if (Number.isFinite(numeric)) return numeric < 1e12 ? numeric * 1000 : numeric;
    const parsed = Date.parse(expires);
    if (Number.isFinite(parsed)) return parsed;
  }
  return now + ASSUMED_LIFETIME_MS;
}

/**
 * Supplies the `Vpsie-Auth` header. Client credentials are exchanged for a token at
 * /apps/v2/auth/from/api (JSON as the SDK sends it, then form encoding as older clients did), the
 * token is refreshed before it expires, and one concurrent login serves every waiting request.
 */
export class TokenSource {
  readonly #credentials: Credentials;
  readonly #transport: Transport;
  readonly #now: () => number;
  #token?: { value: string; expiresAt: number };
  /** How the last token exchange wrote the expiry, once there was one. */
  lastExpiryFormat?: ExpiryFormat;
  #login?: Promise<string>;

  constructor(credentials: Credentials, transport: Transport, now: () => number = Date.now) {
    this.#credentials = credentials;
    this.#transport = transport;
    this.#now = now;
  }

  get canRefresh(): boolean {
    return this.#credentials.kind === "client";
  }

  async headers(): Promise<Record<string, string>> {
    return { "Vpsie-Auth": await this.#current() };
  }

  /** Forgets the token after VPSie refused it, so the next request logs in again. */
  invalidate(): void {
    this.#token = undefined;
  }

  async #current(): Promise<string> {
    if (this.#credentials.kind === "token") return this.#credentials.reveal();
    if (this.#token && this.#now() < this.#token.expiresAt - REFRESH_BEFORE_MS) return this.#token.value;
    this.#login ??= this.#exchange().finally(() => {
      this.#login = undefined;
    });
    return this.#login;
  }

  async #exchange(): Promise<string> {
    const clientId = this.#credentials.clientId ?? "";
    const clientSecret = this.#credentials.reveal();
    const operation = `POST ${LOGIN_PATH}`;
    let data: unknown;
    try {
      data = await this.#transport.send({
        operation,
        method: "POST",
        path: LOGIN_PATH,
        wholeBody: true,
        // A second exchange only issues another token.
        idempotent: true,
        json: { clientId, clientSecret },
      });
    } catch (err) {
      const rejectedEncoding =
        err instanceof VpsieApiError &&
        !(err instanceof VpsieAuthError) &&
        err.status !== undefined &&
        err.status < 500;
      if (!rejectedEncoding) throw err;
      data = await this.#transport.send({
        operation,
        method: "POST",
        path: LOGIN_PATH,
        wholeBody: true,
        idempotent: true,
        form: { clientId, clientSecret },
      });
    }
    const parsed = TokenResponseWire.safeParse(data);
    if (!parsed.success) {
      throw new VpsieError(`VPSie API ${operation} answered without an access token`, false);
    }
    this.#token = { value: parsed.data.token, expiresAt: expiryOf(parsed.data.expires, this.#now()) };
    this.lastExpiryFormat = expiryFormat(parsed.data.expires);
    return parsed.data.token;
  }
}
