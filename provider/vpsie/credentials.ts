/**
 * How the client proves who it is: a static access token, or API client credentials exchanged for
 * a token. Secrets live in private fields so that logging or inspecting the object shows nothing.
 */
export type CredentialsKind = "token" | "client";

export class Credentials {
  readonly kind: CredentialsKind;
  readonly clientId?: string;
  readonly #secret: string;

  private constructor(kind: CredentialsKind, secret: string, clientId?: string) {
    this.kind = kind;
    this.#secret = secret;
    this.clientId = clientId;
  }

  static token(token: string): Credentials {
    return new Credentials("token", token);
  }

  static client(clientId: string, clientSecret: string): Credentials {
    return new Credentials("client", clientSecret, clientId);
  }

  /** The token itself, or the client secret: only for the request that needs it. */
  reveal(): string {
    return this.#secret;
  }

  toJSON(): object {
    return { kind: this.kind, clientId: this.clientId };
  }
}

export const DEFAULT_API_URL = "https://api.vpsie.com";

/** A VPSie setting in the environment is missing or wrong; the message names the variable and the fix. */
export class VpsieEnvironmentError extends Error {
  override name = "VpsieEnvironmentError";
}

/** Why credentials could not be read from the environment; says which variables to set. */
export class MissingCredentialsError extends VpsieEnvironmentError {
  override name = "MissingCredentialsError";
}

/**
 * VPSIE_API_RATE_LIMIT: requests per minute the client allows itself (default 100, the predecessor's);
 * VPSie documents no limit, so an account that may do more can say so.
 */
export function rateLimitFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): { requests: number; intervalMs: number } | undefined {
  const text = env.VPSIE_API_RATE_LIMIT;
  if (text === undefined || text === "") return undefined;
  const requests = Number(text);
  if (!Number.isInteger(requests) || requests < 1)
    throw new VpsieEnvironmentError(
      `VPSIE_API_RATE_LIMIT=${text}: expected a whole number of requests per minute, e.g. 100`,
    );
  return { requests, intervalMs: 60_000 };
}

/** VPSIE_TOKEN, or VPSIE_CLIENT_ID with VPSIE_CLIENT_SECRET; VPSIE_API_URL for the host. */
export function credentialsFromEnv(env: NodeJS.ProcessEnv = process.env): {
  credentials: Credentials;
  apiUrl: string;
} {
  const apiUrl = env.VPSIE_API_URL || DEFAULT_API_URL;
  if (env.VPSIE_TOKEN) return { credentials: Credentials.token(env.VPSIE_TOKEN), apiUrl };
  if (env.VPSIE_CLIENT_ID && env.VPSIE_CLIENT_SECRET) {
    return { credentials: Credentials.client(env.VPSIE_CLIENT_ID, env.VPSIE_CLIENT_SECRET), apiUrl };
  }
  if (env.VPSIE_CLIENT_ID || env.VPSIE_CLIENT_SECRET) {
    throw new MissingCredentialsError(
      `VPSie client credentials are incomplete: set both VPSIE_CLIENT_ID and VPSIE_CLIENT_SECRET (or VPSIE_TOKEN instead)`,
    );
  }
  throw new MissingCredentialsError(
    "no VPSie credentials: set VPSIE_TOKEN to an access token, or VPSIE_CLIENT_ID and VPSIE_CLIENT_SECRET",
  );
}
