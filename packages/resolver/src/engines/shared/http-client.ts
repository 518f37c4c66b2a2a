import { STATUS_CODES } from 'node:http';
import type { LogEvent, LogLevel } from '@nexstream/core';
import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import { Agent, type Dispatcher, request as undiciRequest } from 'undici';
import {
  type Clock,
  createRateLimiter,
  type RateLimit,
  type RateLimiter,
  systemClock,
} from './rate-limiter.js';

/** A WHATWG `fetch` (for example undici's, or one with a proxy dispatcher) used instead of the built-in pool. */
export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

/** How requests are retried. Only 429 (and what an engine marks retryable) is retried automatically. */
export interface RetryPolicy {
  /** Retries after the first attempt. Default 2. */
  retries: number;
  /** First backoff delay when the service gave no `Retry-After`, in ms; doubles per retry. Default 500. */
  baseDelayMs: number;
  /** Longest backoff delay, in ms. Default 8000. */
  maxDelayMs: number;
  /**
   * A 429 whose `Retry-After` is longer than this (ms) is not waited for: the call fails at once with
   * `NXS_RATE_LIMITED` and `retryAfterMs`, and the engine's limiter holds further calls. Default 5000.
   */
  maxRetryAfterMs: number;
  /** Also retry 502/503/504 with backoff (MusicBrainz answers 503 when over its rate). Default false. */
  retryServerErrors: boolean;
}

/** The HTTP settings every HTTP engine accepts. */
export interface HttpEngineSettings {
  /** The service's base URL (tests point it at the replay server). */
  baseURL?: string;
  /**
   * An undici dispatcher (`Agent`, `Pool`, `ProxyAgent`, `MockAgent`) to send requests through. The engine
   * does not close a dispatcher it was given. Default: a keep-alive `Agent` owned by the engine.
   */
  dispatcher?: Dispatcher;
  /** A `fetch` to use instead of undici's `request` (takes precedence over `dispatcher`). */
  fetch?: FetchFunction;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** Deadline per request (connect, headers and body), in ms. Default 10000. */
  timeoutMs?: number;
  /** TCP/TLS connect deadline for the owned pool, in ms. Default 5000. */
  connectTimeoutMs?: number;
  /**
   * The engine's sliding-window limit; `false` disables it. Defaults to the service's published limit
   * (`serviceRateLimits`). Raise it only when the service granted you more (a key, a paid plan): the limit
   * is per IP or per key at the service, so several processes behind one IP share it.
   */
  rateLimit?: RateLimit | false;
  /**
   * Connections the owned pool opens to the service's origin. Default: as many requests as the rate limit
   * lets start in one window (`poolConnections`), so that the pool never queues a request the limiter has
   * let through. Ignored with `dispatcher` or `fetch`, whose pools are their own.
   */
  connections?: number;
  /**
   * Identical GETs in flight at once (same URL, headers and body check) share one request and its answer.
   * One upstream request then counts once against the service's limit however many resolutions wait for
   * it. Default `true`.
   */
  coalesce?: boolean;
  /** Retry policy overrides. */
  retry?: Partial<RetryPolicy>;
  /** Where credentials env vars are read. Default `process.env`. */
  env?: Record<string, string | undefined>;
}

/** One request. */
export interface HttpRequestOptions {
  method?: 'GET' | 'POST';
  /** Appended to the base URL, or an absolute URL. */
  path: string;
  /** A different base URL for this request (Spotify's token endpoint lives on another host). */
  baseURL?: string;
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
  /** A JSON request body (sets `content-type`). */
  json?: unknown;
  /** A form request body (`application/x-www-form-urlencoded`). */
  form?: Record<string, string>;
  signal?: AbortSignal | undefined;
  onLog?: ((event: LogEvent) => void) | undefined;
  /** Non-2xx statuses handed back to the caller instead of thrown (their body is parsed when it is JSON). */
  acceptStatus?: readonly number[];
  /**
   * Looks at a parsed response and returns an error to throw, for services that report errors inside
   * HTTP 200 bodies. A retryable error is retried with backoff (or its `retryAfterMs`) while retries remain.
   */
  check?: (response: HttpResponse) => NexStreamError | undefined;
}

/** A response with its body read. */
export interface HttpResponse<T = unknown> {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string>;
  /** The parsed JSON (`json()`), the text (`text()`), or `undefined` for an unparsable accepted status. */
  data: T;
  /** The URL with secrets masked, for messages. */
  url: string;
}

/** The HTTP layer one engine uses: keep-alive pool, deadlines, rate limit, retries, error mapping. */
export interface HttpClient {
  /** Sends a request and parses the body as JSON. */
  json(options: HttpRequestOptions): Promise<HttpResponse<unknown>>;
  /** Sends a request and returns the body as text. */
  text(options: HttpRequestOptions): Promise<HttpResponse<string>>;
  /** Aborts in-flight requests and closes the owned pool. */
  close(): Promise<void>;
}

/** Options for {@link createHttpClient}. */
export interface HttpClientOptions extends HttpEngineSettings {
  /** The engine id, used in messages and logs. */
  name: string;
  baseURL: string;
  /** What to tell the user on 401/403 (which env vars to check). */
  credentialsHint?: string;
  /**
   * The service's published limit: the limiter's default when `rateLimit` is not given, and what the pool
   * is sized by (also when the limiter is off).
   */
  serviceLimit?: RateLimit;
  /** Injectable clock for tests. */
  clock?: Clock;
}

/** The fewest connections an owned pool opens: one slow answer must not hold back the next allowed request. */
export const minPoolConnections = 2;
/** The most connections a pool opens by default, whatever the limit; pass `connections` to go past it. */
export const maxPoolConnections = 64;

/**
 * The connections a pool needs under a rate limit: at most `limit` requests start in any `windowMs`, so
 * while answers come faster than the window at most `limit` are in flight at once. Fewer connections would
 * queue requests the service allows (the old fixed 8 held 100 concurrent Deezer calls back by ~1 s); more
 * would sit idle. Clamped to [{@link minPoolConnections}, {@link maxPoolConnections}]; 8 without a limit.
 */
export function poolConnections(limit: RateLimit | undefined): number {
  if (limit === undefined) return 8;
  return Math.min(maxPoolConnections, Math.max(minPoolConnections, Math.ceil(limit.limit)));
}

const defaultRetry: RetryPolicy = {
  retries: 2,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 5_000,
  retryServerErrors: false,
};

const secretParameter = /key|token|secret|sig|signature|password|auth|code/i;

/** Masks secrets in a URL for messages and logs: query values whose names look secret, and user info. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    for (const name of [...parsed.searchParams.keys()]) {
      if (secretParameter.test(name)) parsed.searchParams.set(name, '***');
    }
    return parsed.toString().replaceAll('%2A%2A%2A', '***');
  } catch {
    return url.replace(/\?.*$/, '');
  }
}

/**
 * Parses a `Retry-After` value (delay in seconds, or an HTTP date) into milliseconds from `now`.
 * Returns `undefined` when absent or unreadable.
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * Reads Google's `RetryInfo.retryDelay` (`"12s"`, `"0.5s"`) from an error body
 * (`error.details[]` with `@type` ending in `RetryInfo`), in milliseconds.
 */
export function parseGoogleRetryDelay(body: unknown): number | undefined {
  const details = (body as { error?: { details?: unknown } } | undefined)?.error?.details;
  if (!Array.isArray(details)) return undefined;
  for (const detail of details) {
    const type = (detail as { '@type'?: unknown })['@type'];
    const delay = (detail as { retryDelay?: unknown }).retryDelay;
    if (typeof type === 'string' && type.endsWith('RetryInfo') && typeof delay === 'string') {
      const match = /^(\d+(?:\.\d+)?)s$/.exec(delay.trim());
      if (match) return Math.round(Number(match[1]) * 1000);
    }
  }
  return undefined;
}

/** A service's non-2xx answer, as {@link serviceStatusError} reads it. */
export interface FailedResponse {
  method: string;
  /** The request URL with secrets masked ({@link redactUrl}). */
  url: string;
  status: number;
  /** Response headers, lower-case names. */
  headers: Record<string, string>;
  /** The raw body; a JSON error body's message is quoted in the error. */
  text: string;
}

/** Who answered, for {@link serviceStatusError}. */
export interface ServiceErrorContext {
  /** The engine id (`deezer`, `youtube-music`), named in messages and `details.service`. */
  service: string;
  /** What to tell the user on 401/403 (which env vars to check). */
  credentialsHint?: string;
  /** Epoch ms, to read an HTTP-date `Retry-After`. Default `Date.now()`. */
  now?: number;
  /** `retryAfterMs` of a 429 that names no delay (the caller's backoff); absent leaves it unset. */
  fallbackRetryAfterMs?: number;
}

/**
 * The one reading of a service's non-2xx answer (status, headers and JSON error body) into a NexStreamError,
 * shared by every engine: 401 `NXS_UNAUTHORIZED` and 403 `NXS_FORBIDDEN` with the credentials hint, 404
 * `NXS_NOT_FOUND` (engines turn it into `null` / `[]`, see `MetadataEngine`), 429 `NXS_RATE_LIMITED` with
 * `retryAfterMs` from `Retry-After` or Google's `RetryInfo`, 5xx a retryable `NXS_UPSTREAM`, anything else a
 * non-retryable `NXS_UPSTREAM`. The service's own message (`error.message`, `message`, `errors[0].message`)
 * is quoted. Errors a service reports inside a 200 body (Deezer) are the engine's `check`.
 */
export function serviceStatusError(response: FailedResponse, context: ServiceErrorContext): NexStreamError {
  const { method, url, status } = response;
  const details = { status, service: context.service };
  if (status === 429) {
    const retryAfterMs =
      parseRetryAfter(response.headers['retry-after'], context.now ?? Date.now()) ??
      parseGoogleRetryDelay(safeJson(response.text));
    const waitMs = retryAfterMs ?? context.fallbackRetryAfterMs;
    return new NexStreamError(
      NexStreamErrorCode.RateLimited,
      `[${method}] "${url}": 429 Too Many Requests${retryAfterMs === undefined ? '' : `, retry after ${Math.ceil(retryAfterMs / 1000)} s`}; ${context.service} is rate limiting us, try again later`,
      { retryable: true, ...(waitMs === undefined ? {} : { retryAfterMs: waitMs }), details },
    );
  }
  const statusLine = `${status} ${STATUS_CODES[status] ?? ''}`.trim();
  const serviceMessage = extractServiceMessage(response.text);
  const prefix = `[${method}] "${url}": ${statusLine}${serviceMessage ? ` (${serviceMessage})` : ''}`;
  if (status === 401) {
    return new NexStreamError(
      NexStreamErrorCode.Unauthorized,
      `${prefix}; ${context.credentialsHint ?? 'check the credentials'}`,
      { retryable: false, details },
    );
  }
  if (status === 403) {
    return new NexStreamError(
      NexStreamErrorCode.Forbidden,
      `${prefix}; ${context.credentialsHint ?? 'the service refused the request'}`,
      { retryable: false, details },
    );
  }
  if (status === 404) {
    return new NexStreamError(NexStreamErrorCode.NotFound, prefix, { retryable: false, details });
  }
  if (status >= 500) {
    return new NexStreamError(NexStreamErrorCode.Upstream, `${prefix}; the service failed, try again later`, {
      retryable: true,
      details,
    });
  }
  return new NexStreamError(NexStreamErrorCode.Upstream, prefix, { retryable: false, details });
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
}

/** One request's abort controller, from {@link requestDeadline}. */
export interface RequestDeadline {
  /** Aborted at the deadline or when one of the given signals aborts (with that signal's reason). */
  readonly controller: AbortController;
  /** Whether the deadline fired (so the failure is a timeout, not a caller's abort). */
  timedOut(): boolean;
  /** Clears the timer and the listeners; call it once the request settled. */
  dispose(): void;
}

/**
 * The abort plumbing of one HTTP request: a controller aborted after `timeoutMs` or by any of `signals` (the
 * caller's, the engine's close), used by the HTTP client and by engines that hand a fetch to a library.
 */
export function requestDeadline(
  timeoutMs: number,
  signals: ReadonlyArray<AbortSignal | undefined>,
): RequestDeadline {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error('timeout'));
  }, timeoutMs);
  const onAbort = (event: Event) => controller.abort((event.target as AbortSignal).reason);
  for (const signal of signals) signal?.addEventListener('abort', onAbort, { once: true });
  return {
    controller,
    timedOut: () => timedOut,
    dispose() {
      clearTimeout(timer);
      for (const signal of signals) signal?.removeEventListener('abort', onAbort);
    },
  };
}

/** Creates the HTTP layer of one engine. */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const clock = options.clock ?? systemClock;
  const retry: RetryPolicy = { ...defaultRetry, ...options.retry };
  const timeoutMs = options.timeoutMs ?? 10_000;
  // An absent (or explicitly undefined) `rateLimit` means the service's own; only `false` turns it off.
  const rateLimit = options.rateLimit === undefined ? options.serviceLimit : options.rateLimit;
  const connections = options.connections ?? poolConnections(rateLimit || options.serviceLimit);
  const ownedAgent =
    options.fetch || options.dispatcher
      ? undefined
      : new Agent({
          keepAliveTimeout: 10_000,
          keepAliveMaxTimeout: 60_000,
          connections,
          connect: { timeout: options.connectTimeoutMs ?? 5_000 },
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        });
  const dispatcher = options.dispatcher ?? ownedAgent;
  const limiter: RateLimiter | undefined =
    rateLimit === false || rateLimit === undefined
      ? undefined
      : createRateLimiter({
          name: options.name,
          ...rateLimit,
          maxPauseWaitMs: retry.maxRetryAfterMs,
          clock,
        });
  const coalesce = options.coalesce ?? true;
  const shared = new Map<string, SharedRequest>();
  const inFlight = new Set<AbortController>();
  const errorContext: ServiceErrorContext = {
    service: options.name,
    ...(options.credentialsHint ? { credentialsHint: options.credentialsHint } : {}),
  };
  let closed = false;

  function log(request: HttpRequestOptions, level: LogLevel, message: string): void {
    request.onLog?.({ type: 'log', level, source: options.name, message, at: clock.now() });
  }

  function buildUrl(request: HttpRequestOptions): string {
    const base = request.baseURL ?? options.baseURL;
    const url = /^https?:\/\//.test(request.path)
      ? new URL(request.path)
      : new URL(base.replace(/\/+$/, '') + (request.path.startsWith('/') ? '' : '/') + request.path);
    for (const [name, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    return url.toString();
  }

  async function fetchOnce(
    request: HttpRequestOptions,
    method: string,
    url: string,
    shownUrl: string,
  ): Promise<RawResponse> {
    const deadline = requestDeadline(timeoutMs, [request.signal]);
    const { controller } = deadline;
    inFlight.add(controller);
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...options.headers,
      ...request.headers,
    };
    let body: string | undefined;
    if (request.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(request.json);
    } else if (request.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(request.form).toString();
    }
    let phase: 'headers' | 'body' = 'headers';
    let received = 0;
    let announced: string | undefined;
    try {
      if (request.signal?.aborted) throw request.signal.reason;
      if (options.fetch) {
        const response = await options.fetch(url, { method, headers, body, signal: controller.signal });
        phase = 'body';
        const responseHeaders: Record<string, string> = {};
        response.headers.forEach((value, name) => {
          responseHeaders[name] = value;
        });
        announced = responseHeaders['content-length'];
        const buffer = new Uint8Array(await response.arrayBuffer());
        received = buffer.byteLength;
        return { status: response.status, headers: responseHeaders, text: new TextDecoder().decode(buffer) };
      }
      const response = await undiciRequest(url, {
        dispatcher,
        method: method as Dispatcher.HttpMethod,
        headers,
        body,
        signal: controller.signal,
      });
      phase = 'body';
      const responseHeaders: Record<string, string> = {};
      for (const [name, value] of Object.entries(response.headers)) {
        if (value !== undefined) responseHeaders[name] = Array.isArray(value) ? value.join(', ') : value;
      }
      announced = responseHeaders['content-length'];
      const chunks: Uint8Array[] = [];
      for await (const chunk of response.body) {
        chunks.push(chunk as Uint8Array);
        received += (chunk as Uint8Array).byteLength;
      }
      return {
        status: response.statusCode,
        headers: responseHeaders,
        text: new TextDecoder().decode(Buffer.concat(chunks)),
      };
    } catch (error) {
      if (deadline.timedOut()) {
        throw new NexStreamError(
          NexStreamErrorCode.Timeout,
          `[${method}] "${shownUrl}": no complete response within ${timeoutMs} ms; try again later or raise timeoutMs`,
          { cause: error, retryable: true },
        );
      }
      if (controller.signal.aborted || closed) {
        throw new NexStreamError(
          NexStreamErrorCode.Aborted,
          `[${method}] "${shownUrl}": aborted${closed ? ' (engine closed)' : ''}`,
          { cause: controller.signal.reason ?? error, retryable: false },
        );
      }
      if (phase === 'body') {
        throw new NexStreamError(
          NexStreamErrorCode.Upstream,
          `[${method}] "${shownUrl}": truncated body, the connection closed after ${received}${announced ? ` of ${announced}` : ''} bytes; try again`,
          { cause: error, retryable: true },
        );
      }
      const code = networkErrorCode(error);
      if (code !== undefined && unreachableCodes.has(code)) {
        throw new NexStreamError(
          NexStreamErrorCode.Unreachable,
          `[${method}] "${shownUrl}": cannot reach the service (${code}); check the server's internet access, DNS, firewall or proxy`,
          { cause: error, retryable: true, details: { networkCode: code } },
        );
      }
      throw new NexStreamError(
        NexStreamErrorCode.Upstream,
        `[${method}] "${shownUrl}": request failed (${code ?? (error as Error).message}); check the network or the baseURL`,
        { cause: error, retryable: true },
      );
    } finally {
      deadline.dispose();
      inFlight.delete(controller);
    }
  }

  function backoff(attempt: number): number {
    const delay = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** attempt);
    return Math.round(delay / 2 + (Math.random() * delay) / 2);
  }

  async function wait(request: HttpRequestOptions, ms: number, method: string, shownUrl: string) {
    try {
      await clock.sleep(ms, request.signal);
    } catch (error) {
      throw new NexStreamError(NexStreamErrorCode.Aborted, `[${method}] "${shownUrl}": aborted`, {
        cause: error,
        retryable: false,
      });
    }
  }

  async function send(request: HttpRequestOptions, parse: 'json' | 'text'): Promise<HttpResponse<unknown>> {
    if (closed) {
      throw new NexStreamError(NexStreamErrorCode.Aborted, `${options.name}: the engine is closed`, {
        retryable: false,
      });
    }
    const method = request.method ?? 'GET';
    const url = buildUrl(request);
    const shownUrl = redactUrl(url);
    for (let attempt = 0; ; attempt++) {
      const canRetry = attempt < retry.retries;
      if (limiter) {
        try {
          await limiter.acquire(request.signal);
        } catch (error) {
          if (NexStreamError.is(error)) throw error;
          throw new NexStreamError(NexStreamErrorCode.Aborted, `[${method}] "${shownUrl}": aborted`, {
            cause: error,
            retryable: false,
          });
        }
      }
      const raw = await fetchOnce(request, method, url, shownUrl);
      const accepted = request.acceptStatus?.includes(raw.status) ?? false;

      if (raw.status === 429 && !accepted) {
        const error = serviceStatusError(
          { method, url: shownUrl, ...raw },
          { ...errorContext, now: clock.now(), fallbackRetryAfterMs: backoff(attempt) },
        );
        const waitMs = error.retryAfterMs ?? 0;
        limiter?.pauseUntil(clock.now() + waitMs);
        if (canRetry && waitMs <= retry.maxRetryAfterMs) {
          log(request, 'warn', `429 from ${shownUrl}; retrying in ${waitMs} ms`);
          await wait(request, waitMs, method, shownUrl);
          continue;
        }
        throw error;
      }
      if (raw.status >= 500 && !accepted) {
        const error = serviceStatusError({ method, url: shownUrl, ...raw }, errorContext);
        if (canRetry && retry.retryServerErrors && [502, 503, 504].includes(raw.status)) {
          const waitMs = parseRetryAfter(raw.headers['retry-after'], clock.now()) ?? backoff(attempt);
          log(request, 'warn', `${raw.status} from ${shownUrl}; retrying in ${waitMs} ms`);
          await wait(request, Math.min(waitMs, retry.maxDelayMs), method, shownUrl);
          continue;
        }
        throw error;
      }
      if ((raw.status < 200 || raw.status >= 300) && !accepted) {
        throw serviceStatusError({ method, url: shownUrl, ...raw }, errorContext);
      }

      let data: unknown = raw.text;
      if (parse === 'json') {
        try {
          data = JSON.parse(raw.text);
        } catch (cause) {
          if (accepted && (raw.status < 200 || raw.status >= 300)) {
            data = undefined;
          } else {
            throw new NexStreamError(
              NexStreamErrorCode.Upstream,
              `[${method}] "${shownUrl}": invalid JSON in a ${raw.status} response (${(cause as Error).message}); the service sent a broken body, try again`,
              { cause, retryable: true, details: { status: raw.status, service: options.name } },
            );
          }
        }
      }
      const response: HttpResponse<unknown> = {
        status: raw.status,
        headers: raw.headers,
        data,
        url: shownUrl,
      };
      const problem = request.check?.(response);
      if (problem) {
        const waitMs = problem.retryAfterMs ?? backoff(attempt);
        if (problem.code === NexStreamErrorCode.RateLimited) limiter?.pauseUntil(clock.now() + waitMs);
        if (problem.retryable && canRetry && waitMs <= retry.maxRetryAfterMs) {
          log(request, 'warn', `${problem.message}; retrying in ${waitMs} ms`);
          await wait(request, waitMs, method, shownUrl);
          continue;
        }
        throw problem;
      }
      return response;
    }
  }

  /**
   * Sends a request, joining an identical GET already in flight. The shared request runs on its own signal,
   * aborted only when every caller waiting for it has given up; each caller gets its own copy of the body.
   */
  async function sendShared(
    request: HttpRequestOptions,
    parse: 'json' | 'text',
  ): Promise<HttpResponse<unknown>> {
    const method = request.method ?? 'GET';
    if (!coalesce || closed || method !== 'GET' || request.json !== undefined || request.form !== undefined) {
      return send(request, parse);
    }
    if (request.signal?.aborted) return send(request, parse);
    const key = JSON.stringify([
      parse,
      buildUrl(request),
      request.baseURL ?? '',
      request.headers ?? {},
      request.acceptStatus ?? [],
    ]);
    let entry = shared.get(key);
    if (entry && entry.check !== request.check) return send(request, parse);
    if (!entry) {
      const controller = new AbortController();
      const listeners: ((event: LogEvent) => void)[] = [];
      const promise = send(
        {
          ...request,
          signal: controller.signal,
          onLog: (event) => {
            for (const listener of listeners) listener(event);
          },
        },
        parse,
      );
      const created: SharedRequest = {
        promise,
        controller,
        check: request.check,
        waiting: 0,
        callers: 0,
        settled: false,
        listeners,
      };
      const forget = () => {
        created.settled = true;
        if (shared.get(key) === created) shared.delete(key);
      };
      created.promise.then(forget, forget);
      shared.set(key, created);
      entry = created;
    }
    const joined = entry;
    joined.waiting += 1;
    joined.callers += 1;
    if (request.onLog) joined.listeners.push(request.onLog);
    try {
      const response = await untilAborted(joined.promise, request.signal);
      if (joined.callers === 1 || typeof response.data !== 'object' || response.data === null)
        return response;
      return { ...response, headers: { ...response.headers }, data: structuredClone(response.data) };
    } catch (error) {
      if (request.signal?.aborted && !NexStreamError.is(error)) {
        throw new NexStreamError(
          NexStreamErrorCode.Aborted,
          `[${method}] "${redactUrl(buildUrl(request))}": aborted`,
          {
            cause: request.signal.reason ?? error,
            retryable: false,
          },
        );
      }
      throw error;
    } finally {
      joined.waiting -= 1;
      if (request.onLog) joined.listeners.splice(joined.listeners.indexOf(request.onLog), 1);
      if (joined.waiting === 0 && !joined.settled) {
        if (shared.get(key) === joined) shared.delete(key);
        joined.controller.abort(request.signal?.reason);
      }
    }
  }

  return {
    json: (request) => sendShared(request, 'json'),
    text: (request) => sendShared(request, 'text') as Promise<HttpResponse<string>>,
    async close() {
      closed = true;
      for (const controller of inFlight) controller.abort(new Error('engine closed'));
      await ownedAgent?.close();
    },
  };
}

/** One GET in flight that identical calls share ({@link HttpEngineSettings.coalesce}). */
interface SharedRequest {
  promise: Promise<HttpResponse<unknown>>;
  /** Aborts the shared request; used once no caller waits for it any more. */
  controller: AbortController;
  check: HttpRequestOptions['check'];
  /** Callers still waiting. */
  waiting: number;
  /** Callers that ever joined (more than one: each gets its own copy of the body). */
  callers: number;
  settled: boolean;
  /** The waiting callers' `onLog`, which the shared request's retries and warnings go to. */
  listeners: ((event: LogEvent) => void)[];
}

/** Waits for `promise`, or rejects with the signal's reason as soon as it aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason ?? new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A short service-provided error message from a JSON error body, for error messages (max 200 chars). */
function extractServiceMessage(text: string): string | undefined {
  const body = safeJson(text) as Record<string, unknown> | undefined;
  if (!body || typeof body !== 'object') return undefined;
  const error = body.error;
  const candidates = [
    typeof error === 'object' && error !== null ? (error as { message?: unknown }).message : error,
    body.message,
    Array.isArray(body.errors) ? (body.errors[0] as { message?: unknown } | undefined)?.message : undefined,
  ];
  const found = candidates.find((value): value is string => typeof value === 'string' && value.length > 0);
  return found && found.length > 200 ? `${found.slice(0, 197)}…` : found;
}

/**
 * Network error codes that mean the service was not reached at all: its name did not resolve, or no
 * connection could be opened (refused, no route, the connect deadline passed).
 */
const unreachableCodes = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NONAME',
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * The system or undici code of a failed request: the first code on the error or its causes that means
 * "unreachable", else the error's own code.
 */
function networkErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && unreachableCodes.has(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
