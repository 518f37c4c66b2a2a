import type { IncomingMessage, ServerResponse } from 'node:http';
import { httpStatusFor, NexStreamError, NexStreamErrorCode, toNexStreamError } from '../errors.js';
import {
  defaultTunnelChunkBytes,
  defaultTunnelParallel,
  fetchRanges,
  type RangeFetchEvent,
} from './range-fetcher.js';
import { createTunnelGuard, type TunnelLookup } from './tunnel-guard.js';
import {
  type MintTunnelTokenInput,
  mintTunnelToken,
  type TunnelDisposition,
  type TunnelTokenClaims,
  tunnelSecretBytes,
  verifyTunnelToken,
} from './tunnel-token.js';
import { createTunnelUpstream, type TunnelOrigin } from './tunnel-upstream.js';

/** What the resolver knows about one format: where to fetch it now and how to present it. */
export interface TunnelTarget extends TunnelOrigin {
  /** The exact size in bytes when known (yt-dlp `filesize`); otherwise the tunnel asks the origin once. */
  sizeBytes?: number;
  /** The `Content-Type` to send (e.g. `video/mp4`); otherwise the origin's. */
  contentType?: string;
  /** The download's file name, from the track's metadata (e.g. `Artist - Title.mp4`). */
  filename?: string;
}

/** Context passed to {@link TunnelOptions.lookupMedia} and {@link TunnelOptions.refresh}. */
export interface TunnelLookupContext {
  /** Aborted when the client leaves. */
  signal: AbortSignal;
}

/** What the tunnel reports while it works, for logs and metrics. */
export type TunnelEvent =
  | (RangeFetchEvent & { mediaId: string; formatId: string })
  | { type: 'error'; mediaId?: string; formatId?: string; status: number; error: NexStreamError };

/** Options for {@link createTunnel}. */
export interface TunnelOptions {
  /** The HMAC key for tokens: at least 32 bytes (a random base64url string of 43+ characters). */
  secret: string | Uint8Array;
  /**
   * The current origin for a media id and format id (from the registry or the resolver). Throw a
   * `NXS_NOT_FOUND` NexStreamError for an unknown pair (the client gets 404).
   */
  lookupMedia(mediaId: string, formatId: string, context: TunnelLookupContext): Promise<TunnelTarget>;
  /**
   * The origin after re-extraction, called when the origin answers 403 or 410 (an expired link); the
   * transfer then continues at the same byte. Without it an expired link fails the transfer.
   */
  refresh?(mediaId: string, formatId: string, context: TunnelLookupContext): Promise<TunnelTarget>;
  /**
   * Hosts the tunnel may fetch from (`*.domain` or exact, optionally `:port` or `:*`; without a port only the
   * scheme's default port). Default `['*.googlevideo.com']`. See `TunnelGuardOptions.allowedHosts`.
   */
  allowedHosts?: readonly string[];
  /** Allow loopback origins (127.0.0.0/8, ::1). Tests only. Default false. */
  allowLoopback?: boolean;
  /** DNS resolver for the address check (tests inject one). Default the OS resolver. */
  lookup?: TunnelLookup;
  /** Origin URLs longer than this are refused, in characters. Default 4096. */
  maxUrlLength?: number;
  /** Range requests in flight per transfer. Default 6 (decision 0060). */
  parallel?: number;
  /** Bytes per range request. Default 8 MiB; memory per transfer is at most `parallel × chunkBytes`. */
  chunkBytes?: number;
  /** Failed attempts in a row per chunk before the transfer fails. Default 5. */
  maxRetries?: number;
  /**
   * Link refreshes in a row that bring no new byte before a transfer fails with `NXS_LINK_EXPIRED`. A byte
   * fetched through a refreshed link resets the count, so a long transfer over short-lived links may refresh
   * any number of times. Default 3.
   */
  maxRefreshes?: number;
  /** First retry delay in milliseconds (doubles per failure in a row). Default 200. */
  retryDelayMs?: number;
  /** Redirect hops followed, each re-checked. Default 5. */
  maxRedirects?: number;
  /** Wait for origin response headers, in milliseconds. Default 15000. */
  headersTimeoutMs?: number;
  /** A stalled origin body fails (and is retried) after this long, in milliseconds. Default 20000. */
  bodyTimeoutMs?: number;
  /** Observes retries, refreshes and errors. */
  onEvent?: (event: TunnelEvent) => void;
  /** The clock for token expiry, epoch milliseconds. Default `Date.now`. */
  now?: () => number;
}

/** A tunnel: mints tokens and serves them. Created by {@link createTunnel}. */
export interface Tunnel {
  /**
   * Mints a signed, expiring token for one media format. Put it in a URL your server routes to
   * {@link Tunnel.handle}, either as the last path segment (`/tunnel/<token>`) or as `?token=`.
   */
  mintToken(input: Omit<MintTunnelTokenInput, 'now'>): string;
  /** Verifies a token (constant-time) and returns what it names. @throws NexStreamError `NXS_FORBIDDEN`. */
  verifyToken(token: string | undefined): TunnelTokenClaims;
  /**
   * Serves a token's media on a Node request/response (plain `http` or Express): GET and HEAD, a single
   * client `Range` (206, or 416 with `Content-Range: bytes *\/size`), `Accept-Ranges`, `Content-Length`,
   * `Content-Type` and an RFC 6266 `Content-Disposition`. Errors before the headers are answered as JSON
   * (`{ error: { code, message } }`) with {@link httpStatusFor}'s status; errors after them cut the
   * connection so the client sees an incomplete download. Never rejects.
   */
  handle(request: IncomingMessage, response: ServerResponse): Promise<void>;
  /** Closes the pooled origin connections. */
  close(): Promise<void>;
}

/**
 * Creates the delivery tunnel: media bytes reach clients only through tokens this server minted (signed
 * with HMAC-SHA256, expiring, naming a media id and a format id, never a URL), fetched from the origin
 * with parallel range requests, resumed at the exact byte after a drop, and refreshed through the
 * resolver when the link expires. Outbound requests go only to allowed hosts and public addresses,
 * checked after DNS resolution, at connect time and on every redirect.
 *
 * @example
 * ```ts
 * const tunnel = createTunnel({
 *   secret: process.env.TUNNEL_SECRET!,
 *   lookupMedia: (mediaId, formatId) => registry.mediaFormat(mediaId, formatId),
 *   refresh: (mediaId, formatId) => resolver.refreshFormat(mediaId, formatId),
 * });
 * app.get('/tunnel/:token', (req, res) => tunnel.handle(req, res));
 * const token = tunnel.mintToken({ mediaId: 'youtube:dQw4w9WgXcQ', formatId: '251', expiresInMs: 3_600_000 });
 * ```
 *
 * @throws NexStreamError `NXS_INVALID_INPUT` for a secret shorter than 32 bytes or bad numeric options.
 */
export function createTunnel(options: TunnelOptions): Tunnel {
  const secret = tunnelSecretBytes(options.secret);
  const now = options.now ?? Date.now;
  const parallel = options.parallel ?? defaultTunnelParallel;
  const chunkBytes = options.chunkBytes ?? defaultTunnelChunkBytes;
  if (!(Number.isSafeInteger(parallel) && parallel >= 1 && parallel <= 32)) {
    throw new NexStreamError(
      NexStreamErrorCode.InvalidInput,
      `tunnel parallel must be 1..32, got ${parallel}`,
    );
  }
  if (!(Number.isSafeInteger(chunkBytes) && chunkBytes >= 16 * 1024)) {
    throw new NexStreamError(
      NexStreamErrorCode.InvalidInput,
      `tunnel chunkBytes must be a whole number >= 16384, got ${chunkBytes}`,
    );
  }
  const guard = createTunnelGuard({
    allowedHosts: options.allowedHosts,
    allowLoopback: options.allowLoopback,
    lookup: options.lookup,
    maxUrlLength: options.maxUrlLength,
  });
  const upstream = createTunnelUpstream({
    guard,
    maxRedirects: options.maxRedirects,
    headersTimeoutMs: options.headersTimeoutMs,
    bodyTimeoutMs: options.bodyTimeoutMs,
  });

  async function probe(
    claims: TunnelTokenClaims,
    target: TunnelTarget,
    signal: AbortSignal,
  ): Promise<{ target: TunnelTarget; totalBytes: number; contentType: string | undefined }> {
    let current = target;
    for (let attempt = 0; ; attempt += 1) {
      const response = await upstream.open(current, { range: 'bytes=0-0', signal });
      response.body.destroy();
      const contentType = headerValue(response.headers['content-type']);
      if ((response.statusCode === 403 || response.statusCode === 410) && options.refresh && attempt === 0) {
        current = await options.refresh(claims.mediaId, claims.formatId, { signal });
        continue;
      }
      if (response.statusCode === 206) {
        const total = /\/(\d+)\s*$/.exec(headerValue(response.headers['content-range']) ?? '')?.[1];
        if (total !== undefined) return { target: current, totalBytes: Number(total), contentType };
      }
      if (response.statusCode === 416) {
        const total = /\*\/(\d+)/.exec(headerValue(response.headers['content-range']) ?? '')?.[1];
        if (total === '0') return { target: current, totalBytes: 0, contentType };
      }
      const code =
        response.statusCode === 403 || response.statusCode === 410
          ? NexStreamErrorCode.LinkExpired
          : response.statusCode === 404
            ? NexStreamErrorCode.NotFound
            : NexStreamErrorCode.Upstream;
      throw new NexStreamError(
        code,
        `could not learn the size of ${claims.mediaId} format ${claims.formatId}: the origin answered ` +
          `${response.statusCode} to a range request${response.statusCode === 200 ? ' (it does not support ranges)' : ''}`,
      );
    }
  }

  async function serve(
    request: IncomingMessage,
    response: ServerResponse,
    signal: AbortSignal,
  ): Promise<void> {
    const method = (request.method ?? 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      throw new NexStreamError(NexStreamErrorCode.InvalidInput, `${method} is not allowed on the tunnel`, {
        details: { status: 405 },
      });
    }
    const claims = verifyTunnelToken(secret, tokenFrom(request), now());
    let target = await options.lookupMedia(claims.mediaId, claims.formatId, { signal });
    await guard.check(target.url);
    let totalBytes = target.sizeBytes;
    let contentType = target.contentType;
    if (totalBytes === undefined) {
      const probed = await probe(claims, target, signal);
      target = probed.target;
      totalBytes = probed.totalBytes;
      contentType ??= probed.contentType;
    }

    const range = request.headers['if-range'] ? undefined : parseByteRange(request.headers.range, totalBytes);
    response.setHeader('accept-ranges', 'bytes');
    response.setHeader('content-type', contentType ?? 'application/octet-stream');
    response.setHeader('x-content-type-options', 'nosniff');
    response.setHeader('cache-control', 'private, no-store');
    const filename = claims.options.filename ?? target.filename;
    if (filename)
      response.setHeader('content-disposition', contentDisposition(filename, claims.options.disposition));
    if (range === 'unsatisfiable') {
      response.setHeader('content-range', `bytes */${totalBytes}`);
      throw new NexStreamError(
        NexStreamErrorCode.RangeNotSatisfiable,
        `range ${request.headers.range} is outside the ${totalBytes} bytes of this file`,
      );
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? totalBytes - 1;
    response.statusCode = range ? 206 : 200;
    if (range) response.setHeader('content-range', `bytes ${start}-${end}/${totalBytes}`);
    response.setHeader('content-length', String(end - start + 1));
    if (method === 'HEAD' || end < start) {
      response.end();
      return;
    }
    const { mediaId, formatId } = claims;
    const pieces = fetchRanges({
      upstream,
      origin: target,
      refresh: options.refresh
        ? async () => (await options.refresh?.(mediaId, formatId, { signal })) as TunnelOrigin
        : undefined,
      start,
      end,
      totalBytes,
      parallel,
      chunkBytes,
      maxRetries: options.maxRetries,
      maxRefreshes: options.maxRefreshes,
      retryDelayMs: options.retryDelayMs,
      signal,
      onEvent: options.onEvent ? (event) => options.onEvent?.({ ...event, mediaId, formatId }) : undefined,
    });
    // The headers go out with the first piece, so a failure before any byte (a refused redirect, a link
    // that cannot be refreshed) is still answered with a proper status.
    for await (const piece of pieces) {
      if (!response.write(piece)) await drained(response, signal);
      if (signal.aborted) break;
    }
    if (!signal.aborted) response.end();
  }

  return {
    mintToken(input) {
      return mintTunnelToken(secret, { ...input, now: now() });
    },
    verifyToken(token) {
      return verifyTunnelToken(secret, token, now());
    },
    async handle(request, response) {
      const controller = new AbortController();
      const onClose = (): void => {
        if (!response.writableFinished) {
          controller.abort(new NexStreamError(NexStreamErrorCode.Aborted, 'the client disconnected'));
        }
      };
      response.on('close', onClose);
      let claims: Partial<TunnelTokenClaims> = {};
      try {
        claims = safeClaims(request);
        await serve(request, response, controller.signal);
      } catch (thrown) {
        if (controller.signal.aborted) return;
        const error = toNexStreamError(thrown);
        const explicit = (error.details as { status?: unknown } | undefined)?.status;
        const status = typeof explicit === 'number' ? explicit : httpStatusFor(error.code);
        options.onEvent?.({
          type: 'error',
          mediaId: claims.mediaId,
          formatId: claims.formatId,
          status,
          error,
        });
        if (response.headersSent) {
          response.destroy(error);
          return;
        }
        const body = JSON.stringify({ error: { code: error.code, message: error.message } });
        response.statusCode = status;
        response.removeHeader('content-disposition');
        response.removeHeader('content-length');
        response.setHeader('content-type', 'application/json; charset=utf-8');
        response.setHeader('content-length', String(Buffer.byteLength(body)));
        response.end(request.method === 'HEAD' ? undefined : body);
      } finally {
        response.off('close', onClose);
        controller.abort();
      }
    },
    close() {
      return upstream.close();
    },
  };

  function safeClaims(request: IncomingMessage): Partial<TunnelTokenClaims> {
    try {
      return verifyTunnelToken(secret, tokenFrom(request), now());
    } catch {
      return {};
    }
  }
}

/**
 * The token of a tunnel request: the `token` query parameter, else the last path segment
 * (`/tunnel/<token>`).
 */
export function tokenFrom(request: IncomingMessage): string | undefined {
  const url = new URL(request.url ?? '/', 'http://tunnel.invalid');
  const fromQuery = url.searchParams.get('token');
  if (fromQuery) return fromQuery;
  const segment = url.pathname.split('/').filter(Boolean).pop();
  if (!segment) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * Parses a client `Range` header against `size` bytes: `undefined` means "send everything" (no header, a
 * malformed one, another unit, or several ranges, as RFC 9110 allows); `'unsatisfiable'` means 416.
 * Positions are inclusive.
 */
export function parseByteRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (last !== '' && Number(last) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) };
}

/**
 * An RFC 6266 `Content-Disposition` value: `filename*=UTF-8''…` (RFC 8187 percent-encoding) for the real
 * name, plus an ASCII `filename="…"` fallback for old clients (accents dropped, typographic dashes and quotes made
 * ASCII, other non-ASCII characters, double quotes, backslashes and percent signs replaced by `_`). Path separators and control characters never survive.
 */
export function contentDisposition(filename: string, disposition: TunnelDisposition = 'attachment'): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is being removed
  const clean = filename.replace(/[\u0000-\u001f\u007f/\\]+/g, '_').trim() || 'download';
  const ascii =
    clean
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(/[\u2010-\u2015\u2212]/g, '-')
      .replace(/[\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u00ab\u00bb]/g, "'")
      .replace(/[^\x20-\x7e]|["%\\]/g, '_')
      .trim() || 'download';
  const encoded = encodeURIComponent(clean).replace(
    /['()*]/g,
    (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${disposition}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function drained(response: ServerResponse, signal: AbortSignal): Promise<void> {
  if (signal.aborted || response.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      response.off('drain', done);
      response.off('close', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
    signal.addEventListener('abort', done, { once: true });
  });
}
