import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  DelegateBackoff,
  ExponentialBackoff,
  handleWhen,
  type IBackoff,
  type IRetryBackoffContext,
  retry,
  wrap,
} from "cockatiel";
import pThrottle from "p-throttle";
import {
  VpsieApiError,
  VpsieBadResponseError,
  VpsieCircuitOpenError,
  VpsieError,
  VpsieNetworkError,
  VpsieOutcomeUnknownError,
  VpsieQuotaError,
  apiError,
} from "./errors.js";
import { Envelope } from "./model.js";

export interface TransportOptions {
  /** Scheme and host, e.g. https://api.vpsie.com; service paths are absolute. */
  baseUrl: string;
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
  /** Attempts per call, the first included (default 5). */
  maxAttempts?: number;
  /** First retry delay and the cap of the exponential backoff (default 500 ms, 30 s). */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Client-side rate limit across all attempts (default 100 requests per 60 s). */
  rateLimit?: { requests: number; intervalMs: number };
  /** The circuit opens after this many failed attempts in a row (default 5) ... */
  breakerFailures?: number;
  /** ... and lets one request through again after this long (default 30 s). */
  breakerHalfOpenAfterMs?: number;
  userAgent?: string;
  /** Called once per HTTP attempt, for logs and metrics; never given headers or bodies. */
  onAttempt?: (attempt: AttemptRecord) => void;
}

export interface AttemptRecord {
  operation: string;
  status?: number;
  /** `ok`, or the error class name, e.g. `VpsieApiError`. */
  result: string;
  durationMs: number;
}

export interface Request {
  /** Short name for messages, logs and metrics, e.g. `POST /apps/v2/k8s/offers`. */
  operation: string;
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  json?: unknown;
  form?: Record<string, string>;
  /** Return the whole JSON body instead of its `data` (the token exchange answers outside `data`). */
  wholeBody?: boolean;
  /** Headers carrying credentials; never copied into errors or records. */
  authHeaders?: () => Promise<Record<string, string>>;
  /**
   * Whether sending it twice does no harm (reads, deletes, the token exchange). A request that is not
   * (adding a worker, creating a group) is sent again only when nothing can have reached VPSie: a 429,
   * or a connection that never opened. Any other failure is a VpsieOutcomeUnknownError.
   */
  idempotent: boolean;
}

/** Retry-After as delta-seconds or an HTTP date, in milliseconds; capped so a bad header cannot stall us. */
function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - now;
  return Number.isFinite(ms) && ms >= 0 ? Math.min(ms, 120_000) : undefined;
}

function isErrorFlag(value: unknown): boolean {
  return value === true || value === 1 || value === "1" || value === "true";
}

function bodyStart(body: string): string {
  const plain = body
    .replace(/<[^>]*>/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  return plain.length > 120 ? `${plain.slice(0, 120)}…` : plain || "(empty)";
}

function networkError(operation: string, err: unknown, timeoutMs: number): VpsieNetworkError {
  if (err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError")) {
    return new VpsieNetworkError(operation, `no answer within ${timeoutMs / 1000}s`);
  }
  if (err instanceof Error) {
    const cause = err.cause as { code?: string; message?: string } | undefined;
    return new VpsieNetworkError(operation, cause?.code ?? cause?.message ?? err.message, cause?.code);
  }
  return new VpsieNetworkError(operation, String(err));
}

/** Whether a failed attempt proves VPSie did not act on the request: it may then be sent again. */
function provablyNotCarriedOut(err: unknown): boolean {
  return (
    (err instanceof VpsieApiError && err.status === 429 && !(err instanceof VpsieQuotaError)) ||
    (err instanceof VpsieNetworkError && err.unsent)
  );
}

/**
 * One HTTP exchange with VPSie's envelope rules, behind a rate limit, a circuit breaker and retries
 * with exponential backoff and jitter (Retry-After wins when longer). Returns the envelope's `data`.
 */
export class Transport {
  readonly #options: Required<Omit<TransportOptions, "onAttempt">> & Pick<TransportOptions, "onAttempt">;
  readonly #throttled: <T>(fn: () => Promise<T>) => Promise<T>;
  readonly #breaker;
  #openedAt = 0;
  readonly #policy;
  readonly #unsafePolicy;

  constructor(options: TransportOptions) {
    this.#options = {
      timeoutMs: 30_000,
      maxAttempts: 5,
      backoffInitialMs: 500,
      backoffMaxMs: 30_000,
      rateLimit: { requests: 100, intervalMs: 60_000 },
      breakerFailures: 5,
      breakerHalfOpenAfterMs: 30_000,
      userAgent: "vpsie-autoscaler",
      ...options,
      baseUrl: options.baseUrl.replace(/\/+$/, ""),
    };
    const throttle = pThrottle({
      limit: this.#options.rateLimit.requests,
      interval: this.#options.rateLimit.intervalMs,
    });
    this.#throttled = throttle(<T>(fn: () => Promise<T>) => fn());
    const retryable = (err: unknown) =>
      err instanceof VpsieError && err.retryable && !(err instanceof VpsieCircuitOpenError);
    this.#breaker = circuitBreaker(handleWhen(retryable), {
      halfOpenAfter: this.#options.breakerHalfOpenAfterMs,
      breaker: new ConsecutiveBreaker(this.#options.breakerFailures),
    });
    this.#breaker.onBreak(() => {
      this.#openedAt = Date.now();
    });
    const exponential = new ExponentialBackoff({
      initialDelay: this.#options.backoffInitialMs,
      maxDelay: this.#options.backoffMaxMs,
    });
    const backoff = new DelegateBackoff<IRetryBackoffContext<unknown>, IBackoff<unknown> | undefined>(
      (context, state) => {
        const next = state ? state.next(undefined) : exponential.next();
        const failure = "error" in context.result ? context.result.error : undefined;
        const asked = failure instanceof VpsieApiError ? failure.retryAfterMs : undefined;
        return { delay: Math.max(next.duration, asked ?? 0), state: next };
      },
    );
    const retryPolicy = retry(handleWhen(retryable), { maxAttempts: this.#options.maxAttempts - 1, backoff });
    this.#policy = wrap(retryPolicy, this.#breaker);
    const unsafeRetry = retry(handleWhen(provablyNotCarriedOut), {
      maxAttempts: this.#options.maxAttempts - 1,
      backoff,
    });
    this.#unsafePolicy = wrap(unsafeRetry, this.#breaker);
  }

  /**
   * True while the breaker refuses calls: callers must not plan actions on VPSie then. Past the half-open
   * delay the breaker lets the next call through as its trial, so it counts as closed: the breaker stays
   * Open until a call is made, and a scaler that waited for it to close made none (found by the chaos
   * campaign: a scale-down waited forever after an outage).
   */
  get circuitOpen(): boolean {
    return (
      this.#breaker.state === CircuitState.Open &&
      Date.now() - this.#openedAt < this.#options.breakerHalfOpenAfterMs
    );
  }

  async send(request: Request): Promise<unknown> {
    const policy = request.idempotent ? this.#policy : this.#unsafePolicy;
    try {
      return await policy.execute(() => this.#throttled(() => this.#attempt(request)));
    } catch (err) {
      if (err instanceof BrokenCircuitError) throw new VpsieCircuitOpenError(request.operation);
      // Refused requests (4xx, quota) were answered; anything else may have been carried out.
      const answeredRefusal = err instanceof VpsieApiError && err.status !== undefined && err.status < 500;
      if (
        !request.idempotent &&
        err instanceof VpsieError &&
        !answeredRefusal &&
        !(err instanceof VpsieQuotaError) &&
        !provablyNotCarriedOut(err)
      )
        throw new VpsieOutcomeUnknownError(request.operation, err);
      throw err;
    }
  }

  async #attempt(request: Request): Promise<unknown> {
    const started = Date.now();
    let status: number | undefined;
    try {
      const headers: Record<string, string> = {
        Accept: "application/json",
        "User-Agent": this.#options.userAgent,
        ...(request.authHeaders ? await request.authHeaders() : {}),
      };
      let body: string | undefined;
      if (request.form) {
        headers["Content-Type"] = "application/x-www-form-urlencoded";
        body = new URLSearchParams(request.form).toString();
      } else if (request.json !== undefined) {
        headers["Content-Type"] = "application/json";
        body = JSON.stringify(request.json);
      }
      let response: Response;
      let text: string;
      try {
        response = await fetch(`${this.#options.baseUrl}${request.path}`, {
          method: request.method,
          headers,
          body,
          signal: AbortSignal.timeout(this.#options.timeoutMs),
        });
        text = await response.text();
      } catch (err) {
        throw networkError(request.operation, err, this.#options.timeoutMs);
      }
      status = response.status;
      const data = this.#interpret(request, response, text);
      this.#options.onAttempt?.({
        operation: request.operation,
        status,
        result: "ok",
        durationMs: Date.now() - started,
      });
      return data;
    } catch (err) {
      this.#options.onAttempt?.({
        operation: request.operation,
        status,
        result: err instanceof Error ? err.name : "Error",
        durationMs: Date.now() - started,
      });
      throw err;
    }
  }

  #interpret({ operation, wholeBody }: Request, response: Response, text: string): unknown {
    const status = response.status;
    if (text.trim() === "" && status >= 200 && status < 300) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new VpsieBadResponseError(operation, status, bodyStart(text));
    }
    const envelope = Envelope.safeParse(json);
    if (!envelope.success) {
      if (status >= 400)
        throw apiError(
          operation,
          status,
          `HTTP ${status}`,
          retryAfterMs(response.headers.get("retry-after")),
        );
      throw new VpsieBadResponseError(operation, status, bodyStart(text));
    }
    const { error, code, message, data } = envelope.data;
    if (isErrorFlag(error) || status >= 400) {
      // A 2xx status with `error: true` is a failure all the same; the body's code says what kind.
      const effective = status >= 400 ? status : code && code >= 400 ? code : 400;
      throw apiError(
        operation,
        effective,
        message ?? `HTTP ${status}`,
        retryAfterMs(response.headers.get("retry-after")),
      );
    }
    return wholeBody ? json : data;
  }
}
