import type { IncomingHttpHeaders } from 'node:http';
import { Agent, type Dispatcher, request } from 'undici';
import { NexStreamError, NexStreamErrorCode } from '../errors.js';
import type { TunnelGuard } from './tunnel-guard.js';

/** Where to fetch a media format from right now. The URL is volatile; the resolver refreshes it. */
export interface TunnelOrigin {
  /** The origin URL (for YouTube: a googlevideo URL from yt-dlp). */
  url: string;
  /** Headers the origin expects (yt-dlp `http_headers`: User-Agent, Referer…). */
  headers?: Record<string, string>;
}

/** One upstream response with its body still unread. */
export interface UpstreamResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: Dispatcher.ResponseData['body'];
  /** The URL that answered, after redirects. */
  url: string;
}

/** Options for {@link createTunnelUpstream}. */
export interface TunnelUpstreamOptions {
  guard: TunnelGuard;
  /** Redirect hops followed (each one re-checked by the guard). Default 5. */
  maxRedirects?: number;
  /** How long to wait for response headers, in milliseconds. Default 15000. */
  headersTimeoutMs?: number;
  /** How long a body may stall between two reads before the request fails (and is retried), in ms. Default 20000. */
  bodyTimeoutMs?: number;
}

/** Sends guarded requests to origins: every URL and redirect hop checked, every connection re-checked. */
export interface TunnelUpstream {
  /**
   * Sends a request and follows redirects by hand, checking each hop with the guard. Never follows a
   * redirect into a refused host or address.
   *
   * @throws NexStreamError `NXS_FORBIDDEN` for a refused URL or hop, `NXS_UPSTREAM` for too many redirects
   *   or a network error.
   */
  open(
    origin: TunnelOrigin,
    init: { method?: 'GET' | 'HEAD'; range?: string; signal?: AbortSignal },
  ): Promise<UpstreamResponse>;
  /** Closes the pooled connections. */
  close(): Promise<void>;
}

const redirectStatuses = new Set([301, 302, 303, 307, 308]);
const sensitiveHeaders = new Set(['authorization', 'cookie', 'proxy-authorization']);

/** Creates the tunnel's outbound HTTP client: one undici `Agent` whose connections resolve through the guard. */
export function createTunnelUpstream(options: TunnelUpstreamOptions): TunnelUpstream {
  const { guard, maxRedirects = 5, headersTimeoutMs = 15_000, bodyTimeoutMs = 20_000 } = options;
  const agent = new Agent({
    connect: { lookup: guard.connectLookup },
    keepAliveTimeout: 10_000,
    headersTimeout: headersTimeoutMs,
    bodyTimeout: bodyTimeoutMs,
  });
  const checked = new Map<string, { at: number; result: Promise<unknown> }>();

  function check(url: string): Promise<unknown> {
    const now = Date.now();
    const cached = checked.get(url);
    if (cached && now - cached.at < 30_000) return cached.result;
    const result = guard.check(url);
    result.catch(() => checked.delete(url));
    if (checked.size > 256) checked.clear();
    checked.set(url, { at: now, result });
    return result;
  }

  return {
    async open(origin, init) {
      let url = origin.url;
      let headers: Record<string, string> = { ...(origin.headers ?? {}) };
      if (init.range) headers.range = init.range;
      for (let hop = 0; ; hop += 1) {
        await check(url);
        let response: Dispatcher.ResponseData;
        try {
          response = await request(url, {
            dispatcher: agent,
            method: init.method ?? 'GET',
            headers,
            signal: init.signal,
          });
        } catch (cause) {
          throw upstreamFailure(cause, url);
        }
        // Bodies we drop (redirects, refusals, aborted transfers) error with an AbortError on destroy; readers
        // still see errors through their own iteration.
        response.body.on('error', ignore);
        if (!redirectStatuses.has(response.statusCode)) {
          return { statusCode: response.statusCode, headers: response.headers, body: response.body, url };
        }
        response.body.destroy();
        const location = response.headers.location;
        const target = Array.isArray(location) ? location[0] : location;
        if (!target) {
          throw new NexStreamError(
            NexStreamErrorCode.Upstream,
            `origin answered ${response.statusCode} without a Location header (${safeUrl(url)})`,
          );
        }
        if (hop >= maxRedirects) {
          throw new NexStreamError(
            NexStreamErrorCode.Upstream,
            `origin redirected more than ${maxRedirects} times (last: ${safeUrl(url)})`,
            { retryable: false },
          );
        }
        const next = new URL(target, url);
        if (next.origin !== new URL(url).origin) {
          headers = Object.fromEntries(
            Object.entries(headers).filter(([name]) => !sensitiveHeaders.has(name.toLowerCase())),
          );
        }
        url = next.href;
      }
    },
    async close() {
      await agent.close();
    },
  };
}

function ignore(): void {}

function upstreamFailure(cause: unknown, url: string): Error {
  if (NexStreamError.is(cause)) return cause;
  const inner = (cause as { cause?: unknown })?.cause;
  if (NexStreamError.is(inner)) return inner;
  if ((cause as { name?: string })?.name === 'AbortError') return cause as Error;
  return new NexStreamError(
    NexStreamErrorCode.Upstream,
    `request to ${safeUrl(url)} failed: ${(cause as Error)?.message ?? String(cause)}`,
    { cause },
  );
}

/** The URL without its query string, for messages and logs (signed CDN queries are secrets). */
export function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(malformed URL)';
  }
}
