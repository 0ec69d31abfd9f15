/**
 * Errors of the VPSie client. Messages are built only from the method, the path, the HTTP status and
 * VPSie's own message: never from request headers or bodies, so no credential can end up in one.
 */
export class VpsieError extends Error {
  override name = "VpsieError";
  constructor(
    message: string,
    /** Whether trying the same request again later can succeed. */
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** VPSie answered with an error (`error: true`, or an error status with a JSON body). */
export class VpsieApiError extends VpsieError {
  override name = "VpsieApiError";
  constructor(
    readonly operation: string,
    status: number,
    readonly apiMessage: string,
    readonly retryAfterMs?: number,
  ) {
    super(
      `VPSie API ${operation} failed (${status}): ${apiMessage}`,
      status === 429 || status >= 500,
      status,
    );
  }
}

/**
 * The account, plan or quota does not allow the request (for example "Worker nodes count exceeds the
 * allowed limit"). Terminal: retrying cannot help; the caller backs off the node group instead.
 */
export class VpsieQuotaError extends VpsieApiError {
  override name = "VpsieQuotaError";
  override readonly retryable = false;
}

/** The resource does not exist (any more). Deletes treat this as success. */
export class VpsieNotFoundError extends VpsieApiError {
  override name = "VpsieNotFoundError";
  override readonly retryable = false;
}

/** The credentials were refused. */
export class VpsieAuthError extends VpsieApiError {
  override name = "VpsieAuthError";
  override readonly retryable = false;
}

/** The answer was not VPSie's JSON envelope (an HTML error page from a proxy, a truncated body). */
export class VpsieBadResponseError extends VpsieError {
  override name = "VpsieBadResponseError";
  constructor(operation: string, status: number, bodyStart: string) {
    super(
      `VPSie API ${operation} answered ${status} with a body that is not JSON: ${bodyStart}`,
      true,
      status,
    );
  }
}

/** The request did not complete: connection refused or dropped, DNS, or the per-request timeout. */
export class VpsieNetworkError extends VpsieError {
  override name = "VpsieNetworkError";
  constructor(
    operation: string,
    reason: string,
    /** The system error code (ECONNREFUSED, ECONNRESET, …), when there was one. */
    readonly code?: string,
  ) {
    super(`VPSie API ${operation} did not complete: ${reason}`, true);
  }

  /** Whether the failure happened before any byte of the request left: VPSie cannot have acted on it. */
  get unsent(): boolean {
    return this.code !== undefined && UNSENT_CODES.has(this.code);
  }
}

/** Failures of name resolution or of the connection itself: the request was never sent. */
const UNSENT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

/**
 * A request that is not safe to repeat (adding a worker, creating a group) may have been carried out:
 * its answer was lost (a proxy's 502, a timeout, a reset connection, a 5xx). It is never sent again;
 * the caller reconciles instead, by looking for what the request would have made.
 */
export class VpsieOutcomeUnknownError extends VpsieError {
  override name = "VpsieOutcomeUnknownError";
  constructor(
    readonly operation: string,
    override readonly cause: VpsieError,
  ) {
    super(
      `VPSie API ${operation} may or may not have been carried out (${cause.message}); not sent again`,
      false,
      cause.status,
    );
  }
}

/** Too many recent failures: the client stops calling VPSie for a while instead of piling on. */
export class VpsieCircuitOpenError extends VpsieError {
  override name = "VpsieCircuitOpenError";
  constructor(operation: string) {
    super(`VPSie API ${operation} not attempted: the circuit is open after repeated failures`, true);
  }
}

const QUOTA_PATTERNS = [
  "exceeds the allowed limit",
  "quota exceeded",
  "plan does not allow",
  "maximum number of",
  "limit reached",
  "subscription does not allow",
  "has same selected size",
];

const NOT_FOUND_PATTERN = /\bnot found\b|does not exist/i;

/** Turns VPSie's error answer into the typed error callers can tell apart. */
export function apiError(
  operation: string,
  status: number,
  message: string,
  retryAfterMs?: number,
): VpsieApiError {
  const lower = message.toLowerCase();
  if (QUOTA_PATTERNS.some((pattern) => lower.includes(pattern)))
    return new VpsieQuotaError(operation, status, message);
  if (status === 401 || status === 403) return new VpsieAuthError(operation, status, message);
  if (status === 404 || (status < 500 && NOT_FOUND_PATTERN.test(message))) {
    return new VpsieNotFoundError(operation, status, message);
  }
  return new VpsieApiError(operation, status, message, retryAfterMs);
}
