import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import {
  httpStatusFor,
  NexStreamError,
  NexStreamErrorCode,
  type SerializedError,
  toNexStreamError,
} from '@nexstream/core';
import busboy from 'busboy';
import type { Broadcaster } from './broadcaster.js';
import type { Channel } from './channel.js';
import { type ClientLimits, createClientLimits } from './client-limits.js';
import { streamChannelEvents } from './event-stream.js';
import { sanitizeOriginalName } from './ingest.js';
import { type EditOptions, type PlaylistItem, type PlaylistSnapshot, revisionConflict } from './playlist.js';

/**
 * What happened to one file of an upload, in the order the files were sent: the item it became, or why it
 * was refused (`error.code` such as `NXS_UNSUPPORTED_MEDIA` or `NXS_TOO_LARGE`; the message names the file
 * by `name`, never by a temp path).
 */
export type UploadFileResult =
  | {
      /** The file name the client sent (sanitized, display only). */
      name: string;
      /** Stored. */
      ok: true;
      /** The playlist item the file became. */
      item: PlaylistItem;
    }
  | {
      /** The file name the client sent (sanitized, display only). */
      name: string;
      /** Refused; nothing of it was kept. */
      ok: false;
      /** Why, as `{ code, message, retryable, details? }`. */
      error: SerializedError;
    };

/**
 * The body of an upload answer. Every file is reported in `results`; the good files of a batch are kept even
 * when others are refused. Status 201 when every file was stored, 207 when some were, and the first refusal's
 * status (with `error`) when none was.
 */
export interface UploadResponse {
  /** The stored items, in upload order. */
  items: PlaylistItem[];
  /** The first stored item (for single-file clients). */
  item?: PlaylistItem;
  /** One result per file, in upload order. */
  results: UploadFileResult[];
  /** When no file was stored: the first refusal. */
  error?: SerializedError;
}

/** Which part of the API a request is for (given to the {@link HttpHandlerOptions.authorize} hook). */
export type RouteKind = 'api' | 'upload' | 'events' | 'hls';

/** Cross-origin settings. */
export interface CorsOptions {
  /** Allowed origins: `*`, a list, or a predicate. */
  origin: '*' | readonly string[] | ((origin: string) => boolean);
  /** Apply to the HLS files only (default) or to the whole API. */
  scope?: 'hls' | 'all';
}

/** Options for {@link createHttpHandler}. */
export interface HttpHandlerOptions {
  /** The channel to serve, or a broadcaster plus {@link HttpHandlerOptions.channelId}. */
  channel?: Channel;
  /**
   * With {@link HttpHandlerOptions.channelId}: the broadcaster whose channel to serve. The channel is looked
   * up with {@link Broadcaster.get} on every request and never created: until it exists (see
   * {@link Broadcaster.create}), every route answers 404 `NXS_NOT_FOUND` and nothing is written to disk.
   */
  broadcaster?: Broadcaster;
  /** With `broadcaster`: the channel id. Default `main`. */
  channelId?: string;
  /** Path prefix the handler is mounted at (for plain `http` servers), e.g. `/tv`. Default none. */
  basePath?: string;
  /** Path of the HLS files under the mount. Default `/hls`. */
  hlsPath?: string;
  /** CORS; none when absent. */
  cors?: CorsOptions;
  /**
   * Authentication hook, called before every route. Return false (→ 401 `NXS_UNAUTHORIZED`) or throw a
   * NexStreamError (for example `NXS_FORBIDDEN`) to refuse.
   */
  authorize?: (request: IncomingMessage, route: RouteKind) => boolean | Promise<boolean>;
  /**
   * Largest JSON body, in bytes. Default 1 MiB. A reorder (`PUT /playlist/order`) may be larger: its limit
   * is the larger of this and 64 bytes per playlist item + 4 KiB, so any playlist can be reordered.
   */
  maxJsonBytes?: number;
  /**
   * Segment `Cache-Control` max-age in seconds. Default 31 536 000 (a year, with `immutable`): a segment's
   * name is never reused (each encoder run names its segments with its own run id), so a cache may keep it.
   */
  segmentMaxAgeS?: number;
  /**
   * An upload body that sends nothing for this long, in milliseconds, is aborted (its temp file removed,
   * its write handle closed) and answered 408 `NXS_TIMEOUT` with `Connection: close`. Time the server
   * itself holds the body back (while an earlier file of the request is probed) does not count. Default
   * 30 000.
   */
  uploadIdleTimeoutMs?: number;
  /**
   * Uploads one client may run at once, across every handler sharing {@link HttpHandlerOptions.clientLimits};
   * one more is answered 429 `NXS_RATE_LIMITED` with `Connection: close`, before its body is read. Default 2.
   */
  maxUploadsPerClient?: number;
  /** Event streams (`GET /events`) one channel serves at once; more → 429 `NXS_RATE_LIMITED`. Default 100. */
  maxEventStreamsPerChannel?: number;
  /**
   * Event streams one client may hold at once, across every handler sharing
   * {@link HttpHandlerOptions.clientLimits} (so across channels); more → 429 `NXS_RATE_LIMITED`. Default 10.
   */
  maxEventStreamsPerClient?: number;
  /**
   * Who a request comes from, for the per-client limits. Default: the socket's remote address. Behind a
   * reverse proxy every request comes from the proxy: return the client address it forwards (and take it
   * only from that proxy).
   */
  clientId?: (request: IncomingMessage) => string;
  /**
   * The counters behind the per-client and per-channel limits. Default: one {@link ClientLimits} shared by
   * every handler made with the same `broadcaster` (or, without one, the same `channel`), so a server
   * that makes one handler per channel still counts each client once.
   */
  clientLimits?: ClientLimits;
  /**
   * Events of a channel kept for event-stream clients that reconnect with `Last-Event-ID` (the first handler
   * of a channel to serve `GET /events` sets it). Default 500.
   */
  eventReplayCapacity?: number;
}

/** A framework-free request handler; `next` (when given) is called for paths it does not serve. */
export type HttpHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  next?: (error?: unknown) => void,
) => Promise<void>;

/** Bytes of multipart framing (boundaries, part headers, small fields) allowed on top of the upload limit. */
const multipartAllowanceBytes = 256 * 1024;

/** Limits shared by the handlers of one broadcaster (or one channel), found by that object. */
const sharedLimits = new WeakMap<object, ClientLimits>();

function limitsFor(owner: object | undefined): ClientLimits {
  if (!owner) return createClientLimits();
  let limits = sharedLimits.get(owner);
  if (!limits) {
    limits = createClientLimits();
    sharedLimits.set(owner, limits);
  }
  return limits;
}

const hlsFilePattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,100}\.(m3u8|ts|m4s|mp4|aac)$/;
const mimeTypes: Record<string, string> = {
  m3u8: 'application/vnd.apple.mpegurl',
  ts: 'video/mp2t',
  m4s: 'video/iso.segment',
  mp4: 'video/mp4',
  aac: 'audio/aac',
};

/**
 * The seed API and HLS file serving as one `(req, res)` handler for `node:http` or any framework:
 * `POST /upload` (multipart), `GET /playlist`, `DELETE /playlist/:id`, `PUT /playlist/order`,
 * `DELETE /playlist`, `POST /playlist/:id/play`, `POST /stream/start|stop|pause|resume`,
 * `GET /stream/status`, `GET /events` (SSE) and `GET /hls/<file>`. Errors answer
 * `{ error: { code, message, retryable, retryAfterMs?, details? } }` (the error's `toJSON()`, the body the
 * example server sends too, with `Retry-After` when there is a `retryAfterMs`) with the status of
 * `httpStatusFor` (from `@nexstream/core`), except 408 for an upload that went idle.
 *
 * `GET /playlist` carries `ETag: "<revision>"`; every edit (upload, remove, reorder, clear, play now) takes
 * `If-Match: "<revision>"` and is refused with 409 `NXS_CONFLICT` when the playlist was edited since, and its
 * answer carries the new `ETag`. Client input never
 * becomes a path: stored names are generated, HLS names must match a strict pattern, and a channel that does
 * not exist is never created by a request.
 *
 * Uploads are streamed to a temp file and aborted (temp file removed, handle closed) when the client
 * disconnects or goes idle; each client may run {@link HttpHandlerOptions.maxUploadsPerClient} at once.
 */
export function createHttpHandler(options: HttpHandlerOptions): HttpHandler {
  const resolveChannel = (): Channel => {
    if (options.channel) return options.channel;
    if (options.broadcaster) {
      const id = options.channelId ?? 'main';
      const channel = options.broadcaster.get(id);
      if (!channel) {
        throw new NexStreamError(
          NexStreamErrorCode.NotFound,
          `channel ${JSON.stringify(id.slice(0, 80))} does not exist; create it first`,
          { details: { reason: 'unknown-channel' } },
        );
      }
      return channel;
    }
    throw new NexStreamError(
      NexStreamErrorCode.Internal,
      'createHttpHandler needs a channel or a broadcaster',
    );
  };
  const basePath = (options.basePath ?? '').replace(/\/+$/, '');
  const hlsPath = `/${(options.hlsPath ?? '/hls').replace(/^\/+|\/+$/g, '')}`;
  const maxJsonBytes = options.maxJsonBytes ?? 1024 * 1024;
  const uploadIdleTimeoutMs = options.uploadIdleTimeoutMs ?? 30_000;
  const maxUploadsPerClient = options.maxUploadsPerClient ?? 2;
  const maxEventStreamsPerChannel = options.maxEventStreamsPerChannel ?? 100;
  const maxEventStreamsPerClient = options.maxEventStreamsPerClient ?? 10;
  const limits = options.clientLimits ?? limitsFor(options.broadcaster ?? options.channel);
  const clientOf = (request: IncomingMessage): string =>
    (options.clientId ? options.clientId(request) : request.socket?.remoteAddress) || 'unknown';

  return async (request, response, next) => {
    let pathname: string;
    try {
      pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
    } catch {
      pathname = '/';
    }
    if (basePath) {
      if (pathname !== basePath && !pathname.startsWith(`${basePath}/`)) {
        if (next) next();
        else sendError(response, notFound(request.method, pathname));
        return;
      }
      pathname = pathname.slice(basePath.length) || '/';
    }
    const method = (request.method ?? 'GET').toUpperCase();
    const isHls = pathname.startsWith(`${hlsPath}/`);
    const route: RouteKind = isHls
      ? 'hls'
      : pathname === '/upload'
        ? 'upload'
        : pathname === '/events'
          ? 'events'
          : 'api';
    try {
      applyCors(request, response, options.cors, isHls);
      if (method === 'OPTIONS' && options.cors) {
        response.writeHead(204).end();
        return;
      }
      const handled = matchRoute(method, pathname, isHls);
      if (!handled) {
        if (next) next();
        else sendError(response, notFound(method, pathname));
        return;
      }
      if (options.authorize && !(await options.authorize(request, route))) {
        throw new NexStreamError(NexStreamErrorCode.Unauthorized, 'authentication required');
      }
      const channel = resolveChannel();
      await handled(channel, request, response);
    } catch (error) {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      // The client is gone (it disconnected mid-upload): nobody to answer.
      if (response.destroyed || request.socket?.destroyed) return;
      // A body left unread (an upload refused early, an oversized JSON body) is not drained: the connection closes.
      if (!request.complete) response.setHeader('Connection', 'close');
      if (request.readable) request.resume();
      sendError(response, toNexStreamError(error));
    }
  };

  function matchRoute(
    method: string,
    pathname: string,
    isHls: boolean,
  ): ((channel: Channel, request: IncomingMessage, response: ServerResponse) => Promise<void>) | undefined {
    if (isHls) {
      if (method !== 'GET' && method !== 'HEAD') return undefined;
      const name = pathname.slice(hlsPath.length + 1);
      return (channel, request, response) => serveHlsFile(channel, name, request, response);
    }
    const itemMatch = /^\/playlist\/([^/]+)(\/play)?$/.exec(pathname);
    const streamMatch = /^\/stream\/(start|stop|pause|resume)$/.exec(pathname);
    if (method === 'POST' && pathname === '/upload') return upload;
    if (method === 'GET' && pathname === '/playlist')
      return async (channel, _r, response) => sendSnapshot(response, await channel.list());
    if (method === 'DELETE' && pathname === '/playlist')
      return async (channel, request, response) =>
        sendSnapshot(response, await channel.clear(editOptions(request)));
    if (method === 'PUT' && pathname === '/playlist/order') {
      return async (channel, request, response) => {
        // A reorder names every item: size its limit by the playlist, so a long playlist can be reordered.
        const size = (await channel.list()).items.length;
        const body = await readJson(request, Math.max(maxJsonBytes, size * 64 + 4096));
        const ids = Array.isArray(body)
          ? body
          : ((body as { order?: unknown; ids?: unknown } | null)?.order ??
            (body as { ids?: unknown } | null)?.ids);
        if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) {
          throw new NexStreamError(NexStreamErrorCode.InvalidInput, 'body must be { "order": [item ids] }');
        }
        sendSnapshot(response, await channel.reorder(ids, editOptions(request)));
      };
    }
    if (itemMatch && method === 'DELETE' && !itemMatch[2]) {
      return async (channel, request, response) =>
        sendSnapshot(response, await channel.removeItem(decodeId(itemMatch[1]), editOptions(request)));
    }
    if (itemMatch && method === 'POST' && itemMatch[2]) {
      return async (channel, request, response) =>
        sendSnapshot(response, await channel.jump(decodeId(itemMatch[1]), editOptions(request)));
    }
    if (streamMatch && method === 'POST') {
      const action = streamMatch[1] as 'start' | 'stop' | 'pause' | 'resume';
      return async (channel, _r, response) => sendJson(response, 200, await channel[action]());
    }
    if (method === 'GET' && pathname === '/stream/status') {
      return async (channel, _r, response) => {
        // Loaded (and, when it was on air before a restart, started again) before the first answer.
        await channel.ready().catch(() => undefined);
        sendJson(response, 200, channel.status());
      };
    }
    if (method === 'GET' && pathname === '/events') return events;
    return undefined;
  }

  async function serveHlsFile(
    channel: Channel,
    name: string,
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> {
    if (!hlsFilePattern.test(name)) {
      throw new NexStreamError(
        NexStreamErrorCode.NotFound,
        `no HLS file ${JSON.stringify(name.slice(0, 100))}`,
      );
    }
    const path = join(channel.hlsDirectory, name);
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) throw new NexStreamError(NexStreamErrorCode.NotFound, `no HLS file ${name}`);
    const extension = name.slice(name.lastIndexOf('.') + 1);
    if (extension === 'm3u8') {
      // Playlists are small and replaced atomically by ffmpeg (temp file, rename): read whole, validated by
      // their content.
      const text = await readFile(path).catch(() => undefined);
      if (!text) throw new NexStreamError(NexStreamErrorCode.NotFound, `no HLS file ${name}`);
      sendCacheable(request, response, {
        body: text,
        contentType: mimeTypes.m3u8 as string,
        cacheControl: `public, max-age=${playlistMaxAgeS(text.toString('latin1'))}`,
        etag: `"${createHash('sha1').update(text).digest('base64url').slice(0, 22)}"`,
        lastModified: info.mtime,
      });
      return;
    }
    const headers = {
      contentType: mimeTypes[extension] ?? 'application/octet-stream',
      cacheControl: `public, max-age=${options.segmentMaxAgeS ?? 31_536_000}, immutable`,
      etag: `"${info.size.toString(36)}-${Math.floor(info.mtimeMs).toString(36)}"`,
      lastModified: info.mtime,
    };
    if (notModified(request, headers.etag, info.mtime)) {
      sendNotModified(response, headers);
      return;
    }
    writeCacheHeaders(response, headers);
    response.writeHead(200, { 'Content-Length': String(info.size) });
    if (request.method === 'HEAD') {
      response.end();
      return;
    }
    await new Promise<void>((resolve) => {
      const stream = createReadStream(path);
      stream.on('error', () => {
        response.destroy();
        resolve();
      });
      response.on('close', () => {
        stream.destroy();
        resolve();
      });
      stream.pipe(response);
    });
  }

  async function upload(channel: Channel, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const type = request.headers['content-type'] ?? '';
    if (!/^multipart\/form-data/i.test(type)) {
      throw new NexStreamError(
        NexStreamErrorCode.InvalidInput,
        'upload must be multipart/form-data with a file field',
      );
    }
    // A body announced far over the limit is refused before it is read (room for the multipart framing).
    const announced = Number(request.headers['content-length'] ?? Number.NaN);
    if (Number.isFinite(announced) && announced > channel.maxUploadBytes + multipartAllowanceBytes) {
      response.setHeader('Connection', 'close');
      throw new NexStreamError(
        NexStreamErrorCode.TooLarge,
        `upload is larger than the limit of ${channel.maxUploadBytes} bytes`,
        { retryable: false, details: { maxBytes: channel.maxUploadBytes } },
      );
    }
    // A stale If-Match is refused before the body is read; the first file's append checks it again.
    const { expectedRevision } = editOptions(request);
    if (expectedRevision !== undefined) {
      const { revision } = await channel.list();
      if (revision !== expectedRevision) {
        response.setHeader('Connection', 'close');
        throw revisionConflict(revision, expectedRevision);
      }
    }
    const release = limits.acquire(`upload\u0000${clientOf(request)}`, maxUploadsPerClient);
    if (!release) {
      response.setHeader('Connection', 'close');
      throw new NexStreamError(
        NexStreamErrorCode.RateLimited,
        `too many uploads at once from this client (at most ${maxUploadsPerClient}); wait for one to finish`,
        { details: { reason: 'uploads-per-client', limit: maxUploadsPerClient } },
      );
    }
    try {
      const results = await receiveUpload(channel, request, response, expectedRevision);
      const items = results.flatMap((result) => (result.ok ? [result.item] : []));
      const firstRefusal = results.find((result) => !result.ok);
      if (items.length === 0 && firstRefusal && !firstRefusal.ok) {
        const body: UploadResponse = { items, results, error: firstRefusal.error };
        const status = httpStatusFor(firstRefusal.error.code);
        sendJson(response, status === 499 ? 400 : status, body);
        return;
      }
      const body: UploadResponse = { items, ...(items[0] ? { item: items[0] } : {}), results };
      sendJson(response, firstRefusal ? 207 : 201, body);
    } finally {
      release();
    }
  }

  /**
   * Parses the multipart body and ingests its files one at a time, each on its own: a refused file (not a
   * video, too large, a path for a name) is reported in its result and the others are kept. A client that
   * disconnects, goes idle, or sends a malformed body aborts every ingest of the request through one
   * AbortController (temp files removed, handles closed) and undoes the files already stored, since the
   * request as a whole failed; the promise settles only once all of that is done.
   */
  function receiveUpload(
    channel: Channel,
    request: IncomingMessage,
    response: ServerResponse,
    expectedRevision: number | undefined,
  ): Promise<UploadFileResult[]> {
    return new Promise<UploadFileResult[]>((resolve, reject) => {
      let parser: busboy.Busboy;
      try {
        // The ingest enforces the size limit itself; busboy only bounds the number of files and fields.
        // File names are UTF-8 (what browsers and fetch send), not busboy's default latin1.
        parser = busboy({
          headers: request.headers,
          preservePath: true,
          defParamCharset: 'utf8',
          limits: { files: 10, fields: 20, fieldSize: 64 * 1024 },
        });
      } catch (error) {
        reject(
          new NexStreamError(
            NexStreamErrorCode.InvalidInput,
            `malformed multipart upload: ${(error as Error).message}`,
          ),
        );
        return;
      }
      const controller = new AbortController();
      const pending: Promise<PlaylistItem>[] = [];
      const names: string[] = [];
      let failure: NexStreamError | undefined;
      let concluding = false;
      let done = false;
      let idleTimer: NodeJS.Timeout | undefined;

      const armIdleTimer = () => {
        clearTimeout(idleTimer);
        if (done || request.complete) return;
        idleTimer = setTimeout(onIdle, uploadIdleTimeoutMs);
      };
      const onIdle = () => {
        if (done || concluding || request.complete) return;
        // Paused by backpressure: the server is the slow one (an earlier file is being probed).
        if (request.readableFlowing === false) {
          armIdleTimer();
          return;
        }
        if (!response.headersSent) response.setHeader('Connection', 'close');
        abandon(
          new NexStreamError(
            NexStreamErrorCode.Timeout,
            `the upload sent nothing for ${uploadIdleTimeoutMs} ms and was dropped; send it again`,
            { details: { reason: 'upload-idle', idleTimeoutMs: uploadIdleTimeoutMs } },
          ),
        );
      };
      const onBodyEnd = () => clearTimeout(idleTimer);
      const onRequestClose = () => {
        if (!request.complete) abandon(clientGone());
      };
      const onResponseClose = () => {
        if (!response.writableFinished) abandon(clientGone());
      };
      const detach = () => {
        clearTimeout(idleTimer);
        request.off('data', armIdleTimer);
        request.off('end', onBodyEnd);
        request.off('close', onRequestClose);
        response.off('close', onResponseClose);
      };

      /** Stops reading the body and aborts every ingest of this request; settles once they are cleaned up. */
      const abandon = (error: NexStreamError) => {
        if (done || failure) return;
        failure = error;
        clearTimeout(idleTimer);
        controller.abort(error);
        request.off('data', armIdleTimer);
        request.unpipe(parser);
        parser.destroy();
        conclude();
      };

      /**
       * Waits for every ingest of the request, then answers with one result per file; when the request
       * itself failed (client gone, idle, malformed body), none is kept (stored ones undone).
       */
      const conclude = () => {
        if (concluding) return;
        concluding = true;
        Promise.allSettled(pending).then(async (results) => {
          if (failure) {
            for (const result of results) {
              if (result.status === 'fulfilled')
                await channel.removeItem(result.value.id).catch(() => undefined);
            }
            done = true;
            detach();
            reject(failure);
            return;
          }
          done = true;
          detach();
          resolve(
            results.map((result, index): UploadFileResult => {
              const name = names[index] ?? '';
              return result.status === 'fulfilled'
                ? { name, ok: true, item: result.value }
                : { name, ok: false, error: toNexStreamError(result.reason).toJSON() };
            }),
          );
        }, reject);
      };

      parser.on('file', (_field, file, info) => {
        const name = info.filename ?? '';
        names.push(sanitizeOriginalName(name));
        if (isHostileName(name)) {
          file.resume();
          const shown = sanitizeOriginalName(name);
          const refused = Promise.reject(
            new NexStreamError(
              NexStreamErrorCode.InvalidInput,
              `${shown ? `"${shown}": ` : ''}upload file name must be a plain name (no path separators, "..", or control characters)`,
            ),
          );
          refused.catch(() => undefined);
          pending.push(refused);
          return;
        }
        // One file at a time: the next one waits in busboy until this one is stored.
        const previous = pending.at(-1)?.catch(() => undefined) ?? Promise.resolve();
        // The request's If-Match guards its first append; the files after it follow the request's own edit.
        const guard = pending.length === 0 && expectedRevision !== undefined ? { expectedRevision } : {};
        const ingested = previous.then(() =>
          channel.ingest(file, { originalName: name, signal: controller.signal, ...guard }),
        );
        ingested.catch(() => undefined);
        pending.push(ingested);
      });
      parser.on('error', (error) => {
        abandon(
          new NexStreamError(
            NexStreamErrorCode.InvalidInput,
            `malformed multipart upload: ${(error as Error).message}`,
          ),
        );
      });
      parser.on('close', () => {
        if (failure) return;
        if (pending.length === 0) {
          failure = new NexStreamError(NexStreamErrorCode.InvalidInput, 'upload has no file field');
        }
        conclude();
      });
      request.on('close', onRequestClose);
      response.on('close', onResponseClose);
      request.once('end', onBodyEnd);
      request.pipe(parser);
      request.on('data', armIdleTimer);
      armIdleTimer();
    });
  }

  async function events(channel: Channel, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const releaseChannel = limits.acquire(`events-channel\u0000${channel.id}`, maxEventStreamsPerChannel);
    if (!releaseChannel) {
      throw new NexStreamError(
        NexStreamErrorCode.RateLimited,
        `channel ${channel.id} already serves ${maxEventStreamsPerChannel} event streams; try again later`,
        { details: { reason: 'event-streams-per-channel', limit: maxEventStreamsPerChannel } },
      );
    }
    const releaseClient = limits.acquire(`events-client\u0000${clientOf(request)}`, maxEventStreamsPerClient);
    if (!releaseClient) {
      releaseChannel();
      throw new NexStreamError(
        NexStreamErrorCode.RateLimited,
        `too many event streams from this client (at most ${maxEventStreamsPerClient}); close one first`,
        { details: { reason: 'event-streams-per-client', limit: maxEventStreamsPerClient } },
      );
    }
    try {
      await streamChannelEvents(channel, request, response, {
        ...(options.eventReplayCapacity === undefined ? {} : { replayCapacity: options.eventReplayCapacity }),
      });
    } finally {
      releaseChannel();
      releaseClient();
    }
  }
}

/**
 * The edit guard of a request: `If-Match: "<revision>"` (the playlist's ETag) becomes `expectedRevision`;
 * `*` or no header means no check.
 *
 * @throws NexStreamError `NXS_INVALID_INPUT` for anything but one quoted revision or `*`.
 */
function editOptions(request: IncomingMessage): EditOptions {
  const header = request.headers['if-match'];
  const value = (Array.isArray(header) ? header.join(',') : header)?.trim();
  if (!value || value === '*') return {};
  const match = /^"(\d{1,15})"$/.exec(value);
  if (!match) {
    throw new NexStreamError(
      NexStreamErrorCode.InvalidInput,
      `If-Match must be one playlist revision in quotes, as GET /playlist's ETag gives it (for example "12"), not ${JSON.stringify(value.slice(0, 40))}`,
    );
  }
  return { expectedRevision: Number(match[1]) };
}

/** A playlist answer, with its edit revision as the ETag (for the next edit's If-Match). */
function sendSnapshot(response: ServerResponse, snapshot: PlaylistSnapshot): void {
  response.setHeader('ETag', `"${snapshot.revision}"`);
  sendJson(response, 200, snapshot);
}

function decodeId(raw: string | undefined): string {
  try {
    return decodeURIComponent(raw ?? '');
  } catch {
    throw new NexStreamError(NexStreamErrorCode.InvalidInput, 'malformed item id');
  }
}

/** True for a client file name that tries to name a path (it is refused, not "cleaned"). */
function isHostileName(name: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  return /[/\\\u0000-\u001f\u007f]/.test(name) || name === '.' || name === '..';
}

function notFound(method: string | undefined, pathname: string): NexStreamError {
  return new NexStreamError(
    NexStreamErrorCode.NotFound,
    `no route for ${method ?? 'GET'} ${pathname.slice(0, 200)}`,
  );
}

function applyCors(
  request: IncomingMessage,
  response: ServerResponse,
  cors: CorsOptions | undefined,
  isHls: boolean,
) {
  if (!cors || (!isHls && cors.scope !== 'all')) return;
  const origin = request.headers.origin;
  const allowed =
    cors.origin === '*'
      ? '*'
      : origin &&
          (typeof cors.origin === 'function'
            ? cors.origin(origin)
            : (cors.origin as readonly string[]).includes(origin))
        ? origin
        : undefined;
  if (!allowed) return;
  response.setHeader('Access-Control-Allow-Origin', allowed);
  if (allowed !== '*') response.setHeader('Vary', 'Origin');
  response.setHeader('Access-Control-Allow-Methods', 'GET, HEAD, POST, PUT, DELETE, OPTIONS');
  response.setHeader(
    'Access-Control-Allow-Headers',
    'Content-Type, Authorization, Range, If-Match, If-None-Match, Last-Event-ID',
  );
  response.setHeader('Access-Control-Expose-Headers', 'ETag, Retry-After');
}

async function readJson(request: IncomingMessage, maxBytes: number): Promise<unknown> {
  const parsed = (request as IncomingMessage & { body?: unknown }).body;
  if (parsed !== undefined && typeof parsed === 'object' && !Buffer.isBuffer(parsed)) return parsed;
  // Listeners, not `for await`: leaving a `for await` early destroys the request (and its socket) before the
  // 413 is sent; here the rest of an oversized body is left to the error path, which answers and closes.
  const chunks = await new Promise<Buffer[]>((resolve, reject) => {
    const received: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        reject(new NexStreamError(NexStreamErrorCode.TooLarge, `JSON body is larger than ${maxBytes} bytes`));
        return;
      }
      received.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(received);
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    request.on('data', onData);
    request.once('end', onEnd);
    request.once('error', onError);
  });
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
  } catch {
    throw new NexStreamError(NexStreamErrorCode.InvalidInput, 'body is not valid JSON');
  }
}

/** The cache headers of an HLS file. */
interface CacheHeaders {
  contentType: string;
  cacheControl: string;
  etag: string;
  lastModified: Date;
}

/**
 * How long a caching proxy or player may keep a playlist, in seconds. A media playlist changes once per
 * segment: half its target duration (at least 1 s) keeps a CDN's copy at most half a segment behind, so
 * the origin sees about two requests per target duration however many viewers poll. A multivariant
 * playlist never changes during a run: one target duration of the stream (its variants' EXT-X-TARGETDURATION
 * is not in it, so 2 s, the default segment length).
 */
function playlistMaxAgeS(text: string): number {
  const target = /#EXT-X-TARGETDURATION:(\d+)/.exec(text)?.[1];
  if (target !== undefined) return Math.max(1, Math.floor(Number(target) / 2));
  return 2;
}

/** True when the request's validators say the client already holds this version (RFC 9110 §13.1.2–3). */
function notModified(request: IncomingMessage, etag: string, lastModified: Date): boolean {
  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() === '*') return true;
    // Weak comparison: W/"x" matches "x".
    const bare = etag.replace(/^W\//, '');
    return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === bare);
  }
  const ifModifiedSince = request.headers['if-modified-since'];
  if (ifModifiedSince === undefined) return false;
  const since = Date.parse(ifModifiedSince);
  return Number.isFinite(since) && Math.floor(lastModified.getTime() / 1000) * 1000 <= since;
}

function writeCacheHeaders(response: ServerResponse, headers: CacheHeaders): void {
  response.setHeader('Content-Type', headers.contentType);
  response.setHeader('Cache-Control', headers.cacheControl);
  response.setHeader('ETag', headers.etag);
  response.setHeader('Last-Modified', headers.lastModified.toUTCString());
}

/** 304: the validators and freshness again, no body. */
function sendNotModified(response: ServerResponse, headers: CacheHeaders): void {
  response.setHeader('Cache-Control', headers.cacheControl);
  response.setHeader('ETag', headers.etag);
  response.setHeader('Last-Modified', headers.lastModified.toUTCString());
  response.writeHead(304).end();
}

/** Answers a small in-memory file with its cache headers, or 304 when the client's copy is current. */
function sendCacheable(
  request: IncomingMessage,
  response: ServerResponse,
  file: CacheHeaders & { body: Buffer },
): void {
  if (notModified(request, file.etag, file.lastModified)) {
    sendNotModified(response, file);
    return;
  }
  writeCacheHeaders(response, file);
  response.writeHead(200, { 'Content-Length': String(file.body.length) });
  response.end(request.method === 'HEAD' ? undefined : file.body);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
    'Cache-Control': 'no-store',
  });
  response.end(text);
}

function sendError(response: ServerResponse, error: NexStreamError): void {
  const status = httpStatusFor(error.code);
  if (error.retryAfterMs !== undefined) {
    response.setHeader('Retry-After', String(Math.ceil(error.retryAfterMs / 1000)));
  }
  // An upload that went idle is the client's timeout (408), not a gateway's (504).
  const idle = (error.details as { reason?: unknown } | undefined)?.reason === 'upload-idle';
  sendJson(response, idle ? 408 : status === 499 ? 400 : status, { error: error.toJSON() });
}

function clientGone(): NexStreamError {
  return new NexStreamError(
    NexStreamErrorCode.Aborted,
    'the client disconnected before the upload was stored',
  );
}
