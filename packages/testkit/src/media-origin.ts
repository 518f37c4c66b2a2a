import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { extname, resolve, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseByteRange } from '@nexstream/core/node';

/** One request the media origin answered, updated live while its body is being sent. */
export interface MediaOriginRequest {
  /** Upper-case HTTP method (`GET`, `HEAD`). */
  method: string;
  /** The raw pathname, without the query string, e.g. `/media/video.mp4`. */
  path: string;
  /** The `Range` header as received, when there was one. */
  range?: string;
  /** The status sent (0 until the headers are sent). */
  status: number;
  /** Body bytes handed to the socket so far. */
  bytesSent: number;
}

/** Options of {@link MediaOrigin.add}. */
export interface MediaOriginAddOptions {
  /** The `Content-Type` to send; by default it follows the file extension of `name` (then of the file). */
  contentType?: string;
  /** Refuse the plain URL (403): only {@link MediaOrigin.signedUrl} URLs are served, like a private CDN bucket. */
  requireSignature?: boolean;
}

/** Options of {@link MediaOrigin.signedUrl}. */
export interface SignedUrlOptions {
  /**
   * How long the URL stays valid, in milliseconds. Default one hour. The expiry is written in whole Unix
   * seconds like real CDNs do, so `0` (or a negative value) gives a URL that is already expired.
   */
  expiresInMs?: number;
}

/** Options of the fault injectors {@link MediaOrigin.dropAfter} and {@link MediaOrigin.failNext}. */
export interface MediaOriginFaultOptions {
  /** How many requests the fault applies to. `failNext` defaults to 1; `dropAfter` to every request until cleared. */
  times?: number;
}

/**
 * A CDN stand-in on 127.0.0.1: serves files with byte ranges, expiring signed URLs, per-connection throttling
 * and injected failures, and logs what it sent. Use it wherever production code fetches media from a CDN
 * (the tunnel, the muxers, yt-dlp's generic extractor).
 */
export interface MediaOrigin {
  /** The base URL, `http://127.0.0.1:<port>` (no trailing slash). */
  readonly url: string;
  /** Serves `filePath` at `/media/<name>` and returns that plain URL. */
  add(name: string, filePath: string, options?: MediaOriginAddOptions): string;
  /**
   * Serves every file below `directoryPath` at `/files/<prefix>/…` (for DASH/HLS manifests and their
   * segments) and returns the base URL, ending with `/`. Paths with `..` are refused.
   */
  addDirectory(prefix: string, directoryPath: string): string;
  /**
   * A URL for a file added with {@link add} carrying `?expire=<unix s>&sig=<hmac>`; it answers 403 once
   * expired or when any part of it is changed (HMAC-SHA256 with a key random per origin).
   */
  signedUrl(name: string, options?: SignedUrlOptions): string;
  /** Makes every signed URL handed out so far invalid (403), as if the CDN rotated its key. */
  expireSignedUrls(): void;
  /** Per-connection throughput in bytes per second for requests from now on; `undefined` removes the limit. */
  throttle(bytesPerSecond: number | undefined): void;
  /**
   * Destroys the connection after `bytes` body bytes for requests from now on (only those whose body is
   * longer count towards `times`); `undefined` clears it.
   */
  dropAfter(bytes: number | undefined, options?: MediaOriginFaultOptions): void;
  /** The next request(s) (`times`, default 1) answer `status` (403, 404, 503…) with a short text body. */
  failNext(status: number, options?: MediaOriginFaultOptions): void;
  /** Every request in arrival order; entries are updated while their body is sent. */
  readonly requests: MediaOriginRequest[];
  /** The number of TCP connections open right now. */
  readonly openConnections: number;
  /** Stops listening and destroys every connection (transfers in progress too). */
  close(): Promise<void>;
}

/** Options of {@link startMediaOrigin}. */
export interface StartMediaOriginOptions {
  /** An initial per-connection throughput limit, in bytes per second (see {@link MediaOrigin.throttle}). */
  throttleBytesPerSecond?: number;
}

/** The content types the origin sends, by lower-case file extension (without the dot). */
export const mediaContentTypes: Readonly<Record<string, string>> = {
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  m4a: 'audio/mp4',
  m4s: 'video/iso.segment',
  webm: 'video/webm',
  weba: 'audio/webm',
  mkv: 'video/x-matroska',
  mp3: 'audio/mpeg',
  mpd: 'application/dash+xml',
  m3u8: 'application/vnd.apple.mpegurl',
  ts: 'video/mp2t',
  json: 'application/json',
  html: 'text/html; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
};

interface ServedFile {
  filePath: string;
  contentType: string | undefined;
  requireSignature: boolean;
}

interface Fault {
  status: number;
  remaining: number;
}

interface Drop {
  bytes: number;
  remaining: number;
}

/** Chunk size of an unthrottled transfer: large enough for 200 MB bodies at loopback speed. */
const fastChunkBytes = 256 * 1024;

/**
 * Starts a {@link MediaOrigin} on 127.0.0.1 with a random port. It answers GET and HEAD with
 * `Accept-Ranges: bytes`, `Content-Length` and a `Content-Type` by extension; a single `Range`
 * (`bytes=a-b`, `bytes=a-`, `bytes=-n`) answers 206 with `Content-Range`, an unsatisfiable one 416 with
 * `Content-Range: bytes *\/<size>`; a multi-range or malformed `Range` is ignored (200, whole file) as
 * RFC 9110 allows.
 *
 * @example
 * ```ts
 * const origin = await startMediaOrigin();
 * origin.add('video.mp4', await sampleMedia('h264-video-mp4'));
 * const url = origin.signedUrl('video.mp4', { expiresInMs: 60_000 });
 * origin.throttle(256 * 1024);       // each connection gets 256 KB/s
 * origin.dropAfter(100_000, { times: 1 });
 * // … run the tunnel against `url` …
 * await origin.close();
 * ```
 */
export async function startMediaOrigin(options: StartMediaOriginOptions = {}): Promise<MediaOrigin> {
  const files = new Map<string, ServedFile>();
  const directories = new Map<string, string>();
  const requests: MediaOriginRequest[] = [];
  const sockets = new Set<Socket>();
  const closing = new AbortController();
  let signingKey = randomBytes(32);
  let throttleBytesPerSecond = options.throttleBytesPerSecond;
  let drop: Drop | undefined;
  const faults: Fault[] = [];

  const server = createServer((request, response) => {
    handle(request, response).catch(() => response.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  function sign(name: string, expire: string): string {
    return createHmac('sha256', signingKey).update(`${name}\n${expire}`).digest('base64url');
  }

  function verify(name: string, query: URLSearchParams): 'ok' | 'expired' | 'invalid' {
    const expire = query.get('expire');
    const signature = query.get('sig');
    if (!expire || !signature || !/^\d+$/.test(expire)) return 'invalid';
    const expected = Buffer.from(sign(name, expire));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'invalid';
    return Number(expire) * 1000 <= Date.now() ? 'expired' : 'ok';
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const rawUrl = request.url ?? '/';
    const queryStart = rawUrl.indexOf('?');
    const path = queryStart === -1 ? rawUrl : rawUrl.slice(0, queryStart);
    const query = new URLSearchParams(queryStart === -1 ? '' : rawUrl.slice(queryStart + 1));
    const method = (request.method ?? 'GET').toUpperCase();
    const entry: MediaOriginRequest = { method, path, status: 0, bytesSent: 0 };
    if (request.headers.range !== undefined) entry.range = request.headers.range;
    requests.push(entry);
    request.resume();

    const answer = (status: number, text: string, headers: Record<string, string> = {}): void => {
      entry.status = status;
      const body = Buffer.from(`${text}\n`, 'utf8');
      response.writeHead(status, {
        'content-type': 'text/plain; charset=utf-8',
        'content-length': String(body.byteLength),
        ...headers,
      });
      response.end(method === 'HEAD' ? undefined : body);
    };

    if (method !== 'GET' && method !== 'HEAD') {
      answer(405, `${method} is not allowed: the media origin serves GET and HEAD`, { allow: 'GET, HEAD' });
      return;
    }
    const fault = faults[0];
    if (fault) {
      fault.remaining -= 1;
      if (fault.remaining <= 0) faults.shift();
      answer(
        fault.status,
        `${fault.status} ${STATUS_CODES[fault.status] ?? ''} (injected by the media origin)`,
      );
      return;
    }

    const target = locate(path, query);
    if ('status' in target) {
      answer(target.status, target.message);
      return;
    }
    let size: number;
    let modifiedMs: number;
    try {
      const info = await stat(target.filePath);
      if (!info.isFile()) throw new Error('not a file');
      size = info.size;
      modifiedMs = info.mtimeMs;
    } catch {
      answer(404, `not found: ${path}`);
      return;
    }

    const headers: Record<string, string> = {
      'accept-ranges': 'bytes',
      'content-type': target.contentType,
      'last-modified': new Date(modifiedMs).toUTCString(),
      etag: `"${size.toString(16)}-${Math.floor(modifiedMs).toString(16)}"`,
    };
    const range = parseRange(request.headers.range, size);
    if (range === 'unsatisfiable') {
      answer(416, `range not satisfiable: ${request.headers.range} (size ${size})`, {
        'content-range': `bytes */${size}`,
        'accept-ranges': 'bytes',
      });
      return;
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? size - 1;
    const length = end - start + 1;
    entry.status = range ? 206 : 200;
    if (range) headers['content-range'] = `bytes ${start}-${end}/${size}`;
    headers['content-length'] = String(length);
    response.writeHead(entry.status, headers);
    if (method === 'HEAD' || length === 0) {
      response.end();
      return;
    }

    let limit: number | undefined;
    if (drop && length > drop.bytes) {
      limit = drop.bytes;
      drop.remaining -= 1;
      if (drop.remaining <= 0) drop = undefined;
    }
    await streamBody(response, target.filePath, start, end, {
      bytesPerSecond: throttleBytesPerSecond,
      limit,
      entry,
      closing: closing.signal,
    });
  }

  function locate(
    path: string,
    query: URLSearchParams,
  ): { filePath: string; contentType: string } | { status: number; message: string } {
    if (path.startsWith('/media/')) {
      let name: string;
      try {
        name = decodeURIComponent(path.slice('/media/'.length));
      } catch {
        return { status: 400, message: `malformed path: ${path}` };
      }
      const file = files.get(name);
      if (!file)
        return { status: 404, message: `not found: ${path} (no media named ${JSON.stringify(name)})` };
      if (file.requireSignature || query.has('sig') || query.has('expire')) {
        const verdict = verify(name, query);
        if (verdict !== 'ok') return { status: 403, message: `forbidden: signature ${verdict}` };
      }
      return {
        filePath: file.filePath,
        contentType: file.contentType ?? contentTypeFor(name, file.filePath),
      };
    }
    if (path.startsWith('/files/')) {
      const segments: string[] = [];
      try {
        for (const segment of path.slice('/files/'.length).split('/'))
          segments.push(decodeURIComponent(segment));
      } catch {
        return { status: 400, message: `malformed path: ${path}` };
      }
      const [prefix, ...rest] = segments;
      const directory = prefix === undefined ? undefined : directories.get(prefix);
      if (!directory) return { status: 404, message: `not found: ${path} (no directory prefix)` };
      if (rest.length === 0 || rest.some((segment) => !isSafeSegment(segment))) {
        return { status: 400, message: `refused path: ${path}` };
      }
      const filePath = resolve(directory, ...rest);
      if (!filePath.startsWith(directory + sep)) return { status: 400, message: `refused path: ${path}` };
      return { filePath, contentType: contentTypeFor(filePath, filePath) };
    }
    return { status: 404, message: `not found: ${path}` };
  }

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    requests,
    get openConnections() {
      return sockets.size;
    },
    add(name, filePath, addOptions = {}) {
      files.set(name, {
        filePath: resolve(filePath),
        contentType: addOptions.contentType,
        requireSignature: addOptions.requireSignature ?? false,
      });
      return `${url}/media/${encodeName(name)}`;
    },
    addDirectory(prefix, directoryPath) {
      if (!isSafeSegment(prefix)) {
        throw new TypeError(
          `addDirectory: the prefix must be one path segment without "/" or "..", got ${prefix}`,
        );
      }
      directories.set(prefix, resolve(directoryPath));
      return `${url}/files/${encodeURIComponent(prefix)}/`;
    },
    signedUrl(name, signOptions = {}) {
      if (!files.has(name))
        throw new TypeError(`signedUrl: no media named ${JSON.stringify(name)}; add() it first`);
      const expire = String(Math.floor((Date.now() + (signOptions.expiresInMs ?? 3_600_000)) / 1000));
      return `${url}/media/${encodeName(name)}?expire=${expire}&sig=${sign(name, expire)}`;
    },
    expireSignedUrls() {
      signingKey = randomBytes(32);
    },
    throttle(bytesPerSecond) {
      throttleBytesPerSecond = bytesPerSecond;
    },
    dropAfter(bytes, faultOptions = {}) {
      drop =
        bytes === undefined
          ? undefined
          : { bytes: Math.max(0, bytes), remaining: faultOptions.times ?? Number.POSITIVE_INFINITY };
    },
    failNext(status, faultOptions = {}) {
      faults.push({ status, remaining: faultOptions.times ?? 1 });
    },
    async close() {
      closing.abort();
      const closed = new Promise<void>((resolveClose) => server.close(() => resolveClose()));
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await closed;
    },
  };
}

interface StreamOptions {
  bytesPerSecond: number | undefined;
  /** Destroy the connection after this many body bytes. */
  limit: number | undefined;
  entry: MediaOriginRequest;
  closing: AbortSignal;
}

/**
 * Streams `[start, end]` of the file into the response, respecting backpressure. A throttled transfer is
 * paced against an absolute schedule (a token bucket whose burst is one slice), with timers, so timer lateness
 * never accumulates and the CPU stays idle between slices.
 */
async function streamBody(
  response: ServerResponse,
  filePath: string,
  start: number,
  end: number,
  options: StreamOptions,
): Promise<void> {
  const { bytesPerSecond, limit, entry } = options;
  const total = end - start + 1;
  const toSend = limit === undefined ? total : Math.min(total, limit);
  const throttled = bytesPerSecond !== undefined && bytesPerSecond > 0;
  // About 50 slices a second when throttled, so pacing is smooth and accurate at 1 MB/s.
  const sliceBytes = throttled
    ? Math.min(64 * 1024, Math.max(1024, Math.floor(bytesPerSecond / 50)))
    : fastChunkBytes;
  const stopped = AbortSignal.any([options.closing, closedSignal(response)]);

  if (toSend === 0) {
    response.flushHeaders();
    response.socket?.destroy();
    return;
  }
  const file = createReadStream(filePath, { start, end: start + toSend - 1, highWaterMark: sliceBytes });
  const startedAt = performance.now();
  let sent = 0;
  try {
    for await (const chunk of file as AsyncIterable<Buffer>) {
      for (let offset = 0; offset < chunk.length; offset += sliceBytes) {
        const piece = chunk.subarray(offset, offset + sliceBytes);
        if (throttled) {
          const dueMs = ((sent + piece.length - sliceBytes) / bytesPerSecond) * 1000;
          const waitMs = dueMs - (performance.now() - startedAt);
          if (waitMs > 1) await sleep(waitMs, undefined, { signal: stopped });
        }
        if (stopped.aborted) return;
        const last = sent + piece.length >= toSend;
        if (last && toSend < total) {
          // The dropped transfer: make sure the N bytes reach the socket, then cut the connection.
          await new Promise<void>((resolveWrite) => response.write(piece, () => resolveWrite()));
          sent += piece.length;
          entry.bytesSent = sent;
          response.socket?.destroy();
          return;
        }
        const flowing = response.write(piece);
        sent += piece.length;
        entry.bytesSent = sent;
        if (!flowing) await drained(response, stopped);
      }
    }
    response.end();
  } catch {
    response.destroy();
  } finally {
    file.destroy();
  }
}

function closedSignal(response: ServerResponse): AbortSignal {
  const controller = new AbortController();
  response.once('close', () => controller.abort());
  return controller.signal;
}

function drained(response: ServerResponse, stopped: AbortSignal): Promise<void> {
  if (stopped.aborted) return Promise.resolve();
  return new Promise((resolveDrain) => {
    const done = (): void => {
      response.off('drain', done);
      stopped.removeEventListener('abort', done);
      resolveDrain();
    };
    response.on('drain', done);
    stopped.addEventListener('abort', done, { once: true });
  });
}

/**
 * Parses a single byte range against `size`. `undefined` means "send the whole file" (no header, a
 * malformed header, or several ranges); `'unsatisfiable'` means 416. The tunnel's own parser, so the origin
 * and the tunnel agree on every edge case.
 */
export const parseRange = parseByteRange;

function contentTypeFor(name: string, filePath: string): string {
  const extension = (extname(name) || extname(filePath)).slice(1).toLowerCase();
  return mediaContentTypes[extension] ?? 'application/octet-stream';
}

function isSafeSegment(segment: string): boolean {
  return (
    segment !== '' &&
    segment !== '.' &&
    segment !== '..' &&
    !segment.includes('/') &&
    !segment.includes('\\') &&
    !segment.includes('\0')
  );
}

function encodeName(name: string): string {
  return name.split('/').map(encodeURIComponent).join('/');
}
