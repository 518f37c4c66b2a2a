import type { IncomingMessage, ServerResponse } from 'node:http';
import { NexStreamError, NexStreamErrorCode } from '../errors.js';
import type { NexStreamEvent } from '../events.js';
import { encodeSseEvent, type SseReplayGap, sseReplayGapEvent } from '../sse.js';
import type { SseReplayBuffer } from './sse-replay-buffer.js';

/** Options for {@link createSseStream}. */
export interface SseStreamOptions {
  /**
   * How often a comment line (`: heartbeat`) is written while the stream is idle, in milliseconds, so proxies
   * and load balancers do not close it. Default 15000; `0` turns heartbeats off.
   */
  heartbeatMs?: number;
  /** Where sent events are kept so a reconnect with `Last-Event-ID` gets the ones it missed. */
  replay?: SseReplayBuffer;
  /** The stream's key in `replay`. Default: the request URL (path and query), which `EventSource` reconnects to. */
  streamId?: string;
  /** Sent first as `retry:`: how long clients wait before reconnecting, in milliseconds. */
  retryMs?: number;
}

/** An open Server-Sent Events response. Created by {@link createSseStream}. */
export interface SseStream<TEvent extends { readonly type: string } = NexStreamEvent> {
  /**
   * Aborted when the stream ends: the client disconnected (reason: `NXS_ABORTED` "client disconnected"),
   * or {@link SseStream.close} was called. Pass it to the work that feeds the stream so it stops with it.
   */
  readonly signal: AbortSignal;
  /** The stream's key in the replay buffer. */
  readonly streamId: string;
  /** The `Last-Event-ID` the client sent, if it is reconnecting. */
  readonly lastEventId: string | undefined;
  /** True once the client disconnected or {@link SseStream.close} was called. */
  readonly closed: boolean;
  /**
   * Sends an event: name `event.type`, data its JSON, and the next id (1, 2, 3… per stream, continuing after
   * the replay buffer's last id). Resolves with the id once the data is handed to the socket, waiting for
   * `drain` when the client reads slower than events come (await it to respect backpressure). After the
   * stream closed, the event is only kept in the replay buffer.
   */
  send(event: TEvent): Promise<string>;
  /** Writes a comment line (ignored by clients). Resolves like {@link SseStream.send}. */
  comment(text: string): Promise<void>;
  /** Ends the response, stops the heartbeat and aborts {@link SseStream.signal}. Safe to call twice. */
  close(): void;
}

/**
 * Opens a Server-Sent Events response on a Node `http` request (plain `http`, Express, or anything built on
 * `IncomingMessage` / `ServerResponse`). It sends the headers at once, with `Cache-Control: no-transform`
 * and `X-Accel-Buffering: no` so neither compression middleware nor nginx buffers the stream; writes
 * heartbeat comments; numbers events; replays what a reconnecting client missed (from `Last-Event-ID`, out
 * of `options.replay`, with a `replay-gap` event when that is not possible in full); and aborts
 * `stream.signal` when the client goes away.
 *
 * @example
 * ```ts
 * const replay = createSseReplayBuffer({ capacity: 200 });
 * http.createServer(async (req, res) => {
 *   const stream = createSseStream(req, res, { replay });
 *   await stream.send({ type: 'progress', phase: 'race', done: 1, total: 3 });
 *   stream.close();
 * });
 * ```
 *
 * @throws NexStreamError `NXS_CONFLICT` when the response's headers were already sent,
 *   `NXS_INVALID_INPUT` for a negative `heartbeatMs` or `retryMs`.
 */
export function createSseStream<TEvent extends { readonly type: string } = NexStreamEvent>(
  request: IncomingMessage,
  response: ServerResponse,
  options: SseStreamOptions = {},
): SseStream<TEvent> {
  const { heartbeatMs = 15_000, replay, retryMs } = options;
  if (response.headersSent) {
    throw new NexStreamError(
      NexStreamErrorCode.Conflict,
      'cannot open an SSE stream: the response headers were already sent; call createSseStream first',
    );
  }
  if (!Number.isFinite(heartbeatMs) || heartbeatMs < 0) {
    throw new NexStreamError(
      NexStreamErrorCode.InvalidInput,
      `SSE heartbeatMs must be >= 0, got ${heartbeatMs}`,
    );
  }
  const streamId = options.streamId ?? request.url ?? '/';
  const header = request.headers['last-event-id'];
  const lastEventId = (Array.isArray(header) ? header[0] : header)?.trim() || undefined;

  if (retryMs !== undefined && (!Number.isSafeInteger(retryMs) || retryMs < 0)) {
    throw new NexStreamError(
      NexStreamErrorCode.InvalidInput,
      `SSE retryMs must be a whole number >= 0, got ${retryMs}`,
    );
  }

  const controller = new AbortController();
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let closed = false;
  let drained: Promise<void> | undefined;
  let lastId = replay?.lastId(streamId) ?? 0;
  if (!replay && lastEventId !== undefined && /^\d{1,15}$/.test(lastEventId)) {
    // Without a buffer nothing can be replayed, but ids keep increasing for the client.
    lastId = Number(lastEventId);
  }

  response.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  response.flushHeaders();
  request.socket.setNoDelay(true);
  request.socket.setTimeout(0);

  const write = (chunk: string): Promise<void> => {
    if (closed || response.writableEnded || response.destroyed) return Promise.resolve();
    if (response.write(chunk)) return drained ?? Promise.resolve();
    drained ??= new Promise<void>((resolve) => {
      const done = (): void => {
        response.off('drain', done);
        response.off('close', done);
        drained = undefined;
        resolve();
      };
      response.on('drain', done);
      response.on('close', done);
    });
    return drained;
  };

  const finish = (reason: string): void => {
    if (closed) return;
    closed = true;
    if (heartbeat) clearInterval(heartbeat);
    controller.abort(new NexStreamError(NexStreamErrorCode.Aborted, reason));
  };

  response.on('close', () => finish('the SSE client disconnected'));

  if (retryMs !== undefined) void write(encodeSseEvent({ retry: retryMs }));

  if (lastEventId !== undefined) {
    const result = replay?.after(streamId, lastEventId) ?? {
      events: [],
      complete: false,
      gap: { lastEventId, reason: 'no-replay-buffer' } satisfies SseReplayGap,
    };
    if (!result.complete && result.gap)
      void write(encodeSseEvent({ event: sseReplayGapEvent, data: result.gap }));
    for (const entry of result.events) {
      void write(encodeSseEvent({ event: entry.event, id: String(entry.id), data: entry.data }));
    }
  }

  if (heartbeatMs > 0) {
    heartbeat = setInterval(() => {
      if (!drained) void write(encodeSseEvent({ comment: 'heartbeat' }));
    }, heartbeatMs);
    heartbeat.unref();
  }
  if (response.destroyed || request.socket.destroyed) finish('the SSE client disconnected');

  return {
    signal: controller.signal,
    streamId,
    lastEventId,
    get closed() {
      return closed;
    },
    async send(event) {
      lastId = Math.max(lastId, replay?.lastId(streamId) ?? 0) + 1;
      const id = lastId;
      const data = JSON.stringify(event);
      replay?.push(streamId, { id, event: event.type, data });
      await write(encodeSseEvent({ event: event.type, id: String(id), data }));
      return String(id);
    },
    async comment(text) {
      await write(encodeSseEvent({ comment: text }));
    },
    close() {
      if (closed) return;
      finish('the SSE stream was closed by the server');
      response.end();
    },
  };
}
