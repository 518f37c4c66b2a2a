import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { httpStatusFor, NexStreamError, NexStreamErrorCode, toNexStreamError } from '@nexstream/core';
import busboy from 'busboy';
import type { Broadcaster } from './broadcaster.js';
import type { Channel } from './channel.js';
import type { PlaylistItem } from './playlist.js';

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
  /** Largest JSON body, in bytes. Default 1 MiB. */
  maxJsonBytes?: number;
  /** Segment `Cache-Control` max-age in seconds. Default 60. */
  segmentMaxAgeS?: number;
}

/** A framework-free request handler; `next` (when given) is called for paths it does not serve. */
export type HttpHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  next?: (error?: unknown) => void,
) => Promise<void>;

/** Bytes of multipart framing (boundaries, part headers, small fields) allowed on top of the upload limit. */
const multipartAllowanceBytes = 256 * 1024;

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
 * `{ error: { code, message } }` with the status of `httpStatusFor` (from `@nexstream/core`). Client input never becomes a path:
 * stored names are generated, HLS names must match a strict pattern.
 */
export function createHttpHandler(options: HttpHandlerOptions): HttpHandler {
  const resolveChannel = (): Channel => {
    if (options.channel) return options.channel;
    if (options.broadcaster) return options.broadcaster.channel(options.channelId ?? 'main');
    throw new NexStreamError(
      NexStreamErrorCode.Internal,
      'createHttpHandler needs a channel or a broadcaster',
    );
  };
  const basePath = (options.basePath ?? '').replace(/\/+$/, '');
  const hlsPath = `/${(options.hlsPath ?? '/hls').replace(/^\/+|\/+$/g, '')}`;
  const maxJsonBytes = options.maxJsonBytes ?? 1024 * 1024;

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
      return async (channel, _r, response) => sendJson(response, 200, await channel.list());
    if (method === 'DELETE' && pathname === '/playlist')
      return async (channel, _r, response) => sendJson(response, 200, await channel.clear());
    if (method === 'PUT' && pathname === '/playlist/order') {
      return async (channel, request, response) => {
        const body = await readJson(request, maxJsonBytes);
        const ids = Array.isArray(body)
          ? body
          : ((body as { order?: unknown; ids?: unknown } | null)?.order ??
            (body as { ids?: unknown } | null)?.ids);
        if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) {
          throw new NexStreamError(NexStreamErrorCode.InvalidInput, 'body must be { "order": [item ids] }');
        }
        sendJson(response, 200, await channel.reorder(ids));
      };
    }
    if (itemMatch && method === 'DELETE' && !itemMatch[2]) {
      return async (channel, _r, response) =>
        sendJson(response, 200, await channel.removeItem(decodeId(itemMatch[1])));
    }
    if (itemMatch && method === 'POST' && itemMatch[2]) {
      return async (channel, _r, response) =>
        sendJson(response, 200, await channel.jump(decodeId(itemMatch[1])));
    }
    if (streamMatch && method === 'POST') {
      const action = streamMatch[1] as 'start' | 'stop' | 'pause' | 'resume';
      return async (channel, _r, response) => sendJson(response, 200, await channel[action]());
    }
    if (method === 'GET' && pathname === '/stream/status') {
      return async (channel, _r, response) => sendJson(response, 200, channel.status());
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
    const isPlaylist = extension === 'm3u8';
    response.writeHead(200, {
      'Content-Type': mimeTypes[extension] ?? 'application/octet-stream',
      'Content-Length': String(info.size),
      'Cache-Control': isPlaylist ? 'no-cache, no-store' : `public, max-age=${options.segmentMaxAgeS ?? 60}`,
    });
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
    const items = await new Promise<PlaylistItem[]>((resolve, reject) => {
      let parser: busboy.Busboy;
      try {
        // The ingest enforces the size limit itself; busboy only bounds the number of files and fields.
        parser = busboy({
          headers: request.headers,
          preservePath: true,
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
      const pending: Promise<PlaylistItem>[] = [];
      let failed = false;
      parser.on('file', (_field, file, info) => {
        const name = info.filename ?? '';
        if (isHostileName(name)) {
          file.resume();
          const refused = Promise.reject(
            new NexStreamError(
              NexStreamErrorCode.InvalidInput,
              'upload file name must be a plain name (no path separators, "..", or control characters)',
            ),
          );
          refused.catch(() => undefined);
          pending.push(refused);
          return;
        }
        // One file at a time: the next one waits in busboy until this one is stored.
        const previous = pending.at(-1)?.catch(() => undefined) ?? Promise.resolve();
        pending.push(previous.then(() => channel.ingest(file, { originalName: name })));
        pending.at(-1)?.catch(() => undefined);
      });
      parser.on('error', (error) => {
        failed = true;
        reject(
          new NexStreamError(
            NexStreamErrorCode.InvalidInput,
            `malformed multipart upload: ${(error as Error).message}`,
          ),
        );
      });
      parser.on('close', () => {
        if (failed) return;
        if (pending.length === 0) {
          reject(new NexStreamError(NexStreamErrorCode.InvalidInput, 'upload has no file field'));
          return;
        }
        Promise.allSettled(pending).then(async (results) => {
          const rejected = results.find((result) => result.status === 'rejected');
          if (rejected) {
            // All or nothing: undo the files of this request that were stored.
            for (const result of results) {
              if (result.status === 'fulfilled')
                await channel.removeItem(result.value.id).catch(() => undefined);
            }
            reject((rejected as PromiseRejectedResult).reason);
            return;
          }
          resolve(results.map((result) => (result as PromiseFulfilledResult<PlaylistItem>).value));
        }, reject);
      });
      request.pipe(parser);
    });
    sendJson(response, 201, { items, item: items[0] });
  }

  async function events(channel: Channel, request: IncomingMessage, response: ServerResponse): Promise<void> {
    response.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    const write = (type: string, payload: unknown) => {
      response.write(`event: ${type}\ndata: ${JSON.stringify(payload)}\n\n`);
    };
    write('status', channel.status());
    const unsubscribe = channel.onAny((type, payload) => write(String(type), payload));
    const heartbeat = setInterval(() => response.write(': keep-alive\n\n'), 15_000);
    heartbeat.unref();
    await new Promise<void>((resolve) => {
      const done = () => {
        clearInterval(heartbeat);
        unsubscribe();
        resolve();
      };
      request.on('close', done);
      response.on('close', done);
    });
    response.end();
  }
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
  response.setHeader('Access-Control-Allow-Headers', 'Content-Type, Authorization, Range');
}

async function readJson(request: IncomingMessage, maxBytes: number): Promise<unknown> {
  const parsed = (request as IncomingMessage & { body?: unknown }).body;
  if (parsed !== undefined && typeof parsed === 'object' && !Buffer.isBuffer(parsed)) return parsed;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      throw new NexStreamError(NexStreamErrorCode.TooLarge, `JSON body is larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
  } catch {
    throw new NexStreamError(NexStreamErrorCode.InvalidInput, 'body is not valid JSON');
  }
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
  sendJson(response, status === 499 ? 400 : status, { error: { code: error.code, message: error.message } });
}
