import { createParser } from 'eventsource-parser';
import { NexStreamError, NexStreamErrorCode } from './errors.js';
import { type NexStreamEvent, nexStreamEventTypes } from './events.js';

/**
 * The fields of one Server-Sent Events frame, as {@link encodeSseEvent} writes it. Every field is optional
 * except that a frame without `data` dispatches no event on the client (it can still set `retry` or carry a
 * comment, which is how heartbeats work).
 */
export interface SseEventInit {
  /** The event name (`event:` field). Clients default it to `message`. Must not contain line breaks. */
  event?: string;
  /** The event id (`id:` field), echoed back by reconnecting clients in `Last-Event-ID`. No line breaks or NUL. */
  id?: string;
  /**
   * The payload. A string is sent as is (line breaks become several `data:` lines; CR, LF and CRLF all
   * count as one break and arrive as LF). Any other value is sent as its `JSON.stringify` form. `undefined`
   * sends no `data:` line.
   */
  data?: unknown;
  /** The client's reconnection delay in milliseconds (`retry:` field): a non-negative integer. */
  retry?: number;
  /** A comment line (`: …`), ignored by clients; keeps idle connections and proxies alive. */
  comment?: string;
}

/** One event read from a Server-Sent Events stream by {@link readSseEvents}. */
export interface SseMessage {
  /** The event name; `message` when the server sent none, as in browsers' `EventSource`. */
  event: string;
  /**
   * The stream's last event id when this event was dispatched (the spec's "last event ID": it persists
   * across events until the server sends another `id:`), or `undefined` when none was set or it was reset.
   */
  id: string | undefined;
  /** The data lines of the event joined with `\n`. */
  data: string;
  /** The reconnection delay in milliseconds the server last set with `retry:`, if it ever did. */
  retry?: number;
}

/** Options for {@link readSseEvents} and {@link readNexStreamEvents}. */
export interface ReadSseEventsOptions {
  /** Stops reading: the iterator cancels the stream and throws `NXS_ABORTED`. */
  signal?: AbortSignal;
}

const lineBreak = /\r\n|\r|\n/;

/**
 * Encodes one Server-Sent Events frame per the WHATWG HTML spec: comment, `event:`, `id:`, `retry:`, one
 * `data:` line per line of data, then a blank line. The result is a complete frame: write it as is.
 *
 * @example
 * ```ts
 * encodeSseEvent({ event: 'progress', id: '7', data: { done: 3, total: 10 } });
 * // 'event: progress\nid: 7\ndata: {"done":3,"total":10}\n\n'
 * ```
 *
 * @throws NexStreamError `NXS_INVALID_INPUT` when `event` or `id` contains a line break (or `id` a NUL),
 *   or `retry` is not a non-negative integer.
 */
export function encodeSseEvent(init: SseEventInit): string {
  let frame = '';
  if (init.comment !== undefined) {
    for (const line of init.comment.split(lineBreak)) frame += line === '' ? ':\n' : `: ${line}\n`;
  }
  if (init.event !== undefined) {
    if (/[\r\n]/.test(init.event)) {
      throw invalid(
        `SSE event name ${JSON.stringify(init.event)} contains a line break: use a single-line name`,
      );
    }
    frame += `event: ${init.event}\n`;
  }
  if (init.id !== undefined) {
    if (/[\r\n\0]/.test(init.id)) {
      throw invalid(`SSE id ${JSON.stringify(init.id)} contains a line break or NUL: use a single-line id`);
    }
    frame += init.id === '' ? 'id:\n' : `id: ${init.id}\n`;
  }
  if (init.retry !== undefined) {
    if (!Number.isSafeInteger(init.retry) || init.retry < 0) {
      throw invalid(`SSE retry ${init.retry} is not a whole number of milliseconds >= 0`);
    }
    frame += `retry: ${init.retry}\n`;
  }
  if (init.data !== undefined) {
    const text = typeof init.data === 'string' ? init.data : JSON.stringify(init.data);
    if (text === undefined) {
      throw invalid(`SSE data of type ${typeof init.data} has no JSON form: send a string or a JSON value`);
    }
    for (const line of text.split(lineBreak)) frame += line === '' ? 'data:\n' : `data: ${line}\n`;
  }
  return `${frame}\n`;
}

/**
 * Encodes a NexStream event as one SSE frame: the event name is `event.type`, the data its JSON. Works for
 * events that later packages add to the union too (anything with a string `type`).
 *
 * @typeParam TEvent - The event type: {@link NexStreamEvent} or an event a later package adds.
 * @param event - The event to send.
 * @param id - The frame's id; the Node SSE writer assigns increasing ids for replay after reconnects.
 */
export function encodeNexStreamEvent<TEvent extends { readonly type: string } = NexStreamEvent>(
  event: TEvent,
  id?: string,
): string {
  return encodeSseEvent({ event: event.type, data: event, ...(id === undefined ? {} : { id }) });
}

/**
 * Reads Server-Sent Events from a byte stream or a `fetch` response, as an async iterable. Built on
 * eventsource-parser: CR, LF and CRLF line ends, a leading BOM, comments, `retry:` and `id:` are handled per
 * spec, and multi-byte UTF-8 characters split across chunks decode correctly. An event cut off by the end of
 * the stream (no blank line after it) is dropped, as the spec says.
 *
 * Breaking out of the loop, or aborting `options.signal`, cancels the stream and releases its reader (for a
 * `fetch` response this closes the connection).
 *
 * @example
 * ```ts
 * const response = await fetch('http://127.0.0.1:3000/resolve?q=…', { headers: { accept: 'text/event-stream' } });
 * for await (const message of readSseEvents(response)) console.log(message.event, message.data);
 * ```
 *
 * @throws NexStreamError `NXS_UPSTREAM` when a response's status is not 2xx, `NXS_ABORTED` when the signal
 *   aborts; a failing stream's own error is passed on.
 */
export async function* readSseEvents(
  source: ReadableStream<Uint8Array> | Response,
  options: ReadSseEventsOptions = {},
): AsyncGenerator<SseMessage, void, undefined> {
  const { signal } = options;
  let stream: ReadableStream<Uint8Array> | null;
  if (isResponse(source)) {
    if (!source.ok) {
      await source.body?.cancel().catch(() => undefined);
      throw new NexStreamError(
        NexStreamErrorCode.Upstream,
        `SSE request to ${source.url || 'the server'} failed with HTTP ${source.status} ${source.statusText}`.trim(),
        { details: { status: source.status } },
      );
    }
    stream = source.body;
  } else {
    stream = source;
  }
  if (signal?.aborted) {
    await stream?.cancel(signal.reason).catch(() => undefined);
    throw aborted(signal);
  }
  if (!stream) return;

  const reader = stream.getReader();
  const decoder = new TextDecoder('utf-8');
  const pending: SseMessage[] = [];
  let lastEventId: string | undefined;
  let retry: number | undefined;
  const parser = createParser({
    onId(id) {
      lastEventId = id === '' ? undefined : id;
    },
    onRetry(retryMs) {
      retry = retryMs;
    },
    onEvent(message) {
      pending.push({
        event: message.event ?? 'message',
        id: lastEventId,
        data: message.data,
        ...(retry === undefined ? {} : { retry }),
      });
    },
  });

  let finished = false;
  const onAbort = (): void => {
    reader.cancel(signal?.reason).catch(() => undefined);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (signal?.aborted) throw aborted(signal);
      if (done) {
        finished = true;
        parser.feed(decoder.decode());
      } else {
        parser.feed(decoder.decode(value, { stream: true }));
      }
      while (pending.length > 0) {
        yield pending.shift()!;
        if (signal?.aborted) throw aborted(signal);
      }
      if (finished) return;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/** Options for {@link readNexStreamEvents}. */
export interface ReadNexStreamEventsOptions extends ReadSseEventsOptions {
  /**
   * The event names to accept, for streams that carry events later packages add to {@link NexStreamEvent}.
   * Defaults to {@link nexStreamEventTypes}. Other names are skipped.
   */
  types?: readonly string[];
  /** Called with each skipped message (unknown names, such as the SSE writer's `replay-gap`). */
  onUnknownEvent?: (message: SseMessage) => void;
}

/**
 * Reads typed NexStream events from an SSE stream written with {@link encodeNexStreamEvent} (or the Node
 * SSE writer): parses each event's JSON, sets `type` from the event name, adds the SSE `id`, and skips
 * event names it does not know.
 *
 * @typeParam TEvent - The event union; widen it together with `options.types` for events of later packages.
 * @throws NexStreamError `NXS_UPSTREAM` when a known event carries data that is not a JSON object, and
 *   whatever {@link readSseEvents} throws.
 */
export async function* readNexStreamEvents<TEvent extends { type: string } = NexStreamEvent>(
  source: ReadableStream<Uint8Array> | Response,
  options: ReadNexStreamEventsOptions = {},
): AsyncGenerator<TEvent & { id?: string }, void, undefined> {
  const types: readonly string[] = options.types ?? nexStreamEventTypes;
  for await (const message of readSseEvents(source, options)) {
    if (!types.includes(message.event)) {
      options.onUnknownEvent?.(message);
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(message.data);
    } catch (error) {
      throw new NexStreamError(
        NexStreamErrorCode.Upstream,
        `SSE event "${message.event}" carries data that is not JSON: ${message.data.slice(0, 80)}`,
        { cause: error },
      );
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new NexStreamError(
        NexStreamErrorCode.Upstream,
        `SSE event "${message.event}" carries ${Array.isArray(value) ? 'an array' : typeof value}, not a JSON object`,
      );
    }
    yield {
      ...(value as Record<string, unknown>),
      type: message.event,
      ...(message.id === undefined ? {} : { id: message.id }),
    } as TEvent & { id?: string };
  }
}

function isResponse(source: ReadableStream<Uint8Array> | Response): source is Response {
  return typeof (source as Response).status === 'number' && 'body' in source && 'headers' in source;
}

function aborted(signal: AbortSignal): NexStreamError {
  return new NexStreamError(NexStreamErrorCode.Aborted, 'reading the SSE stream was aborted', {
    cause: signal.reason,
  });
}

function invalid(message: string): NexStreamError {
  return new NexStreamError(NexStreamErrorCode.InvalidInput, message);
}

/**
 * The event name the Node SSE writer sends when a reconnecting client's `Last-Event-ID` cannot be served
 * in full, so the client knows it missed events (and can, for example, start over).
 */
export const sseReplayGapEvent = 'replay-gap';

/** The data of a {@link sseReplayGapEvent} event (JSON). */
export interface SseReplayGap {
  /** The `Last-Event-ID` the client sent. */
  lastEventId: string;
  /**
   * Why the replay is incomplete: `evicted` (the id is older than the bounded buffer holds), `unknown-stream`
   * (the buffer holds nothing for this stream, e.g. after a server restart), `unknown-id` (the id was never
   * sent on this stream), or `no-replay-buffer` (the server keeps no buffer).
   */
  reason: 'evicted' | 'unknown-stream' | 'unknown-id' | 'no-replay-buffer';
  /** The oldest id still held, when some events could be replayed; they follow this event. */
  firstAvailableId?: string;
}
