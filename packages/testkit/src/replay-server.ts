import { readFile } from 'node:fs/promises';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request the replay server received, as a handler and a test assertion see it. */
export interface ReplayRequest {
  /** Upper-case HTTP method, e.g. `GET`. */
  method: string;
  /** The pathname, without the query string, e.g. `/2.0/search`. */
  path: string;
  /** The parsed query string. */
  query: URLSearchParams;
  /** The request headers (lower-case names, as Node gives them). */
  headers: IncomingHttpHeaders;
  /** The whole request body decoded as UTF-8 (`''` when there is none). */
  body: string;
}

/**
 * What the replay server answers for one request. Every field is optional: `{}` is an empty 200.
 * The failure knobs (`latencyMs`, `stall`, `truncateAfterBytes`, `malformed`) reproduce what real services
 * do on a bad day, so that a test can prove the client copes.
 */
export interface ReplayReply {
  /** HTTP status. Defaults to 200. */
  status?: number;
  /** Extra response headers; they override the defaults (`content-type`, `content-length`). */
  headers?: Record<string, string>;
  /** A JSON body, sent as `application/json; charset=utf-8`. Wins over `body`. */
  json?: unknown;
  /** A raw body, used when `json` is absent. Strings are sent as UTF-8 (`text/plain` unless a header says otherwise). */
  body?: string | Uint8Array;
  /** Wait this many milliseconds before sending the status line and headers. */
  latencyMs?: number;
  /** Never answer: the socket stays open until the client aborts or the server closes. */
  stall?: boolean;
  /** Announce the full `Content-Length`, send only this many body bytes, then destroy the socket. */
  truncateAfterBytes?: number;
  /** Send the body cut in half (invalid JSON for a JSON body) with a `Content-Length` that matches what is sent. */
  malformed?: boolean;
}

/** A fixed reply, or a function of the request (sync or async) that builds one. */
export type ReplayHandler = ReplayReply | ((request: ReplayRequest) => ReplayReply | Promise<ReplayReply>);

/** Options of {@link ReplayServer.on}. */
export interface ReplayRouteOptions {
  /** Answer at most this many requests, after which earlier routes for the same request answer again. */
  times?: number;
}

/**
 * A loopback HTTP server standing in for a third-party service (Deezer, Spotify, an LLM API…). Tests point
 * an engine's `baseURL` at {@link ReplayServer.url}, declare routes with bodies of the real shapes, and
 * assert on {@link ReplayServer.requests}.
 */
export interface ReplayServer {
  /** The base URL, `http://127.0.0.1:<port>` (no trailing slash). */
  readonly url: string;
  /** Every request received, in arrival order (including unmatched ones). Cleared in place by {@link reset}. */
  readonly requests: ReplayRequest[];
  /**
   * Routes `method` (case-insensitive; `'*'` matches any method) and `path` (a string matches the pathname
   * exactly, a RegExp is tested against the pathname) to `handler`. Later routes win; a route with `times`
   * answers that many requests, after which earlier routes answer again. Returns the server for chaining.
   */
  on(
    method: string,
    path: string | RegExp,
    handler: ReplayHandler,
    options?: ReplayRouteOptions,
  ): ReplayServer;
  /** Drops every route and every recorded request. */
  reset(): void;
  /** Stops listening and destroys every socket, stalled ones too, so a test never hangs on teardown. */
  close(): Promise<void>;
}

interface Route {
  method: string;
  path: string | RegExp;
  handler: ReplayHandler;
  remaining: number;
}

/**
 * Starts a {@link ReplayServer} on 127.0.0.1 with a random port. Keep-alive connections are supported.
 * A request no route matches answers 404 with `{"error":"no replay route for GET /x"}`; a handler that
 * throws answers 500 with the error message.
 *
 * @example
 * ```ts
 * const server = await startReplayServer();
 * server.on('GET', '/track/isrc:USRC17607839', { json: await readFixture(new URL('./__fixtures__/track.json', import.meta.url)) });
 * server.on('GET', /^\/search/, replies.rateLimited(2), { times: 1 });
 * const engine = createDeezerEngine({ baseURL: server.url });
 * // …
 * await server.close();
 * ```
 */
export async function startReplayServer(): Promise<ReplayServer> {
  let routes: Route[] = [];
  const requests: ReplayRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Map<NodeJS.Timeout, () => void>();
  let closing = false;

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent && !response.destroyed) {
        sendBytes(
          response,
          500,
          { 'content-type': 'application/json; charset=utf-8' },
          jsonBytes(errorBody(error)),
        );
      } else {
        response.destroy();
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // A destroyed client socket must not crash the test process.
  server.on('clientError', (_error, socket) => socket.destroy());

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const recorded: ReplayRequest = {
      method: (request.method ?? 'GET').toUpperCase(),
      path: url.pathname,
      query: url.searchParams,
      headers: request.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    requests.push(recorded);

    const route = findRoute(recorded);
    if (!route) {
      sendBytes(
        response,
        404,
        { 'content-type': 'application/json; charset=utf-8' },
        jsonBytes({ error: `no replay route for ${recorded.method} ${recorded.path}` }),
      );
      return;
    }
    route.remaining -= 1;
    const reply = typeof route.handler === 'function' ? await route.handler(recorded) : route.handler;
    await send(response, reply);
  }

  function findRoute(request: ReplayRequest): Route | undefined {
    for (let index = routes.length - 1; index >= 0; index -= 1) {
      const route = routes[index]!;
      if (route.remaining <= 0) continue;
      if (route.method !== '*' && route.method !== request.method) continue;
      const matches =
        typeof route.path === 'string' ? route.path === request.path : testRegExp(route.path, request.path);
      if (matches) return route;
    }
    return undefined;
  }

  async function send(response: ServerResponse, reply: ReplayReply): Promise<void> {
    if (reply.latencyMs !== undefined && reply.latencyMs > 0) {
      await wait(reply.latencyMs, timers);
      if (closing || response.destroyed) return;
    }
    if (reply.stall) {
      // Keep the socket (it is in `sockets`) until the client aborts or close() destroys it.
      return;
    }
    const status = reply.status ?? 200;
    const headers: Record<string, string> = {};
    let body: Uint8Array;
    if (reply.json !== undefined) {
      headers['content-type'] = 'application/json; charset=utf-8';
      body = jsonBytes(reply.json);
    } else if (typeof reply.body === 'string') {
      headers['content-type'] = 'text/plain; charset=utf-8';
      body = Buffer.from(reply.body, 'utf8');
    } else {
      if (reply.body !== undefined) headers['content-type'] = 'application/octet-stream';
      body = reply.body ?? new Uint8Array(0);
    }
    for (const [name, value] of Object.entries(reply.headers ?? {})) headers[name.toLowerCase()] = value;
    if (reply.malformed) body = body.subarray(0, Math.floor(body.byteLength / 2));

    if (reply.truncateAfterBytes !== undefined) {
      const sent = body.subarray(0, Math.max(0, reply.truncateAfterBytes));
      response.writeHead(status, { ...headers, 'content-length': String(body.byteLength) });
      if (sent.byteLength === 0) {
        // Headers only: flush them, then close the connection (end() sends what is buffered first).
        response.flushHeaders();
        response.socket?.end();
        return;
      }
      response.write(sent, () => response.socket?.destroy());
      return;
    }
    sendBytes(response, status, headers, body);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  const replay: ReplayServer = {
    url: `http://127.0.0.1:${port}`,
    requests,
    on(method, path, handler, options = {}) {
      routes.push({
        method: method.toUpperCase(),
        path,
        handler,
        remaining: options.times ?? Number.POSITIVE_INFINITY,
      });
      return replay;
    },
    reset() {
      routes = [];
      requests.length = 0;
    },
    async close() {
      closing = true;
      for (const [timer, release] of timers) {
        clearTimeout(timer);
        release();
      }
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await closed;
    },
  };
  return replay;
}

/**
 * Ready-made replies for the failures every engine must handle.
 */
export const replies = {
  /**
   * 429 Too Many Requests with `Retry-After: <retryAfterSeconds>` and a JSON body (`{"error":"rate limited"}`
   * unless given; a string body is sent as text).
   */
  rateLimited(retryAfterSeconds: number, body?: unknown): ReplayReply {
    return {
      ...bodyReply(body ?? { error: 'rate limited' }),
      status: 429,
      headers: { 'retry-after': String(retryAfterSeconds) },
    };
  },
  /**
   * Any status (usually an error: 401, 403, 500, 503…) with a body: a string is sent as text, anything else
   * as JSON; without a body, `{"error":"<reason phrase>"}`.
   */
  status(status: number, body?: unknown): ReplayReply {
    return { ...bodyReply(body ?? { error: STATUS_CODES[status] ?? `status ${status}` }), status };
  },
};

/**
 * Reads a JSON fixture by file URL, so tests can keep fixtures beside themselves:
 * `await readFixture(new URL('./__fixtures__/deezer-track.json', import.meta.url))`.
 */
export async function readFixture(fixtureUrl: URL): Promise<unknown> {
  return JSON.parse(await readFile(fixtureUrl, 'utf8')) as unknown;
}

function bodyReply(body: unknown): ReplayReply {
  return typeof body === 'string' || body instanceof Uint8Array ? { body } : { json: body };
}

function sendBytes(
  response: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: Uint8Array,
): void {
  response.writeHead(status, { ...headers, 'content-length': String(body.byteLength) });
  response.end(body);
}

function jsonBytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

function errorBody(error: unknown): { error: string } {
  return { error: `replay handler failed: ${error instanceof Error ? error.message : String(error)}` };
}

function testRegExp(pattern: RegExp, value: string): boolean {
  // A global or sticky RegExp keeps state between calls; reset it so every request is tested from the start.
  pattern.lastIndex = 0;
  return pattern.test(value);
}

/** Waits `durationMs`; close() releases every pending wait early so no handler outlives the server. */
function wait(durationMs: number, timers: Map<NodeJS.Timeout, () => void>): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      resolve();
    }, durationMs);
    timers.set(timer, resolve);
  });
}
