import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { NexStreamError } from './errors.js';
import type { NexStreamEvent } from './events.js';
import {
  encodeNexStreamEvent,
  encodeSseEvent,
  readNexStreamEvents,
  readSseEvents,
  type SseEventInit,
  type SseMessage,
} from './sse.js';

const encoder = new TextEncoder();

/** A byte stream that yields the given chunks one by one, and records whether it was cancelled. */
function streamOf(
  chunks: Array<string | Uint8Array>,
): ReadableStream<Uint8Array> & { cancelled: () => boolean } {
  let index = 0;
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[index++];
      if (chunk === undefined) controller.close();
      else controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk);
    },
    cancel() {
      cancelled = true;
    },
  });
  return Object.assign(stream, { cancelled: () => cancelled });
}

/** Splits bytes into chunks of the given sizes, cycling through them. */
function slice(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  let turn = 0;
  while (offset < bytes.length) {
    const size = sizes[turn++ % sizes.length]!;
    chunks.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

async function collect(source: ReadableStream<Uint8Array> | Response): Promise<SseMessage[]> {
  const messages: SseMessage[] = [];
  for await (const message of readSseEvents(source)) messages.push(message);
  return messages;
}

function caught(run: () => unknown): NexStreamError {
  try {
    run();
  } catch (error) {
    if (NexStreamError.is(error)) return error;
    throw error;
  }
  throw new Error('expected a NexStreamError');
}

describe('encodeSseEvent', () => {
  it('writes the fields in spec form and ends the frame with a blank line', () => {
    expect(encodeSseEvent({ event: 'progress', id: '7', retry: 2500, data: 'hello' })).toBe(
      'event: progress\nid: 7\nretry: 2500\ndata: hello\n\n',
    );
  });

  it('sends non-string data as JSON on one line', () => {
    expect(encodeSseEvent({ data: { a: 'x\ny', b: [1, 2] } })).toBe('data: {"a":"x\\ny","b":[1,2]}\n\n');
    expect(encodeSseEvent({ data: 42 })).toBe('data: 42\n\n');
    expect(encodeSseEvent({ data: null })).toBe('data: null\n\n');
  });

  it('splits multi-line data into data lines, treating CR, LF and CRLF as one break each', () => {
    expect(encodeSseEvent({ data: 'one\r\ntwo\rthree\nfour' })).toBe(
      'data: one\ndata: two\ndata: three\ndata: four\n\n',
    );
    expect(encodeSseEvent({ data: '\n' })).toBe('data:\ndata:\n\n');
    expect(encodeSseEvent({ data: '' })).toBe('data:\n\n');
  });

  it('writes comments as colon lines and sends nothing else for a comment-only frame', () => {
    expect(encodeSseEvent({ comment: 'heartbeat' })).toBe(': heartbeat\n\n');
    expect(encodeSseEvent({ comment: 'a\nb' })).toBe(': a\n: b\n\n');
  });

  it('writes an empty id as a bare field, which resets the last event id', () => {
    expect(encodeSseEvent({ id: '', data: 'x' })).toBe('id:\ndata: x\n\n');
  });

  it.each<[string, SseEventInit, RegExp]>([
    ['an id with a line feed', { id: 'a\nb', data: 'x' }, /SSE id "a\\nb" contains a line break/],
    ['an id with a carriage return', { id: 'a\rb', data: 'x' }, /contains a line break or NUL/],
    ['an id with NUL', { id: 'a\0b', data: 'x' }, /contains a line break or NUL/],
    ['an event name with a line break', { event: 'a\nb', data: 'x' }, /event name .* contains a line break/],
    ['a negative retry', { retry: -1 }, /not a whole number of milliseconds/],
    ['a fractional retry', { retry: 1.5 }, /not a whole number of milliseconds/],
    ['data without a JSON form', { data: () => 1 }, /has no JSON form/],
  ])('rejects %s with NXS_INVALID_INPUT', (_name, init, message) => {
    const error = caught(() => encodeSseEvent(init));
    expect(error.code).toBe('NXS_INVALID_INPUT');
    expect(error.message).toMatch(message);
  });
});

describe('readSseEvents', () => {
  it('round-trips encoded frames fed one byte at a time', async () => {
    const inits: SseEventInit[] = [
      { event: 'metadata', id: '1', data: { title: 'Tränen lügen nicht 🎵', artists: ['Michael Holm'] } },
      { data: 'line one\nline two\r\nline three' },
      { comment: 'heartbeat' },
      { event: 'log', id: '2', retry: 3000, data: '  leading spaces kept' },
      { data: '' },
      { id: '3', data: '日本語のテキスト' },
    ];
    const bytes = encoder.encode(inits.map(encodeSseEvent).join(''));
    expect(await collect(streamOf(slice(bytes, [1])))).toEqual([
      {
        event: 'metadata',
        id: '1',
        data: '{"title":"Tränen lügen nicht 🎵","artists":["Michael Holm"]}',
      },
      { event: 'message', id: '1', data: 'line one\nline two\nline three' },
      { event: 'log', id: '2', data: '  leading spaces kept', retry: 3000 },
      { event: 'message', id: '2', data: '', retry: 3000 },
      { event: 'message', id: '3', data: '日本語のテキスト', retry: 3000 },
    ]);
  });

  it('decodes multi-byte UTF-8 characters split across chunks at every offset', async () => {
    const bytes = encoder.encode('data: é€😀𝄞\n\n');
    for (const size of [1, 2, 3, 5, 7]) {
      expect(await collect(streamOf(slice(bytes, [size])))).toEqual([
        { event: 'message', id: undefined, data: 'é€😀𝄞' },
      ]);
    }
  });

  it('accepts CRLF, bare CR and LF line ends, also when a CRLF is split across chunks', async () => {
    const messages = await collect(
      streamOf(['event: a\r\ndata: 1\r', '\n\r', '\nevent: b\rdata: 2\r\rdata: 3\n', '\n']),
    );
    expect(messages).toEqual([
      { event: 'a', id: undefined, data: '1' },
      { event: 'b', id: undefined, data: '2' },
      { event: 'message', id: undefined, data: '3' },
    ]);
  });

  it('strips one leading byte order mark, even when split across chunks', async () => {
    const bom = new Uint8Array([0xef, 0xbb, 0xbf]);
    expect(await collect(streamOf([bom.subarray(0, 1), bom.subarray(1), 'data: x\n\n']))).toEqual([
      { event: 'message', id: undefined, data: 'x' },
    ]);
  });

  it('ignores comments, unknown fields and events without data, and keeps the last id across events', async () => {
    const messages = await collect(
      streamOf([
        ': welcome\n\n',
        'id: 41\nevent: ping\n\n',
        'foo: bar\ndata: after-unknown\n\n',
        'data:no-space\n\n',
        'id\ndata: reset\n\n',
        'id: 9\u0000x\ndata: nul-id-ignored\n\n',
      ]),
    );
    expect(messages).toEqual([
      { event: 'message', id: '41', data: 'after-unknown' },
      { event: 'message', id: '41', data: 'no-space' },
      { event: 'message', id: undefined, data: 'reset' },
      { event: 'message', id: undefined, data: 'nul-id-ignored' },
    ]);
  });

  it('applies retry values and ignores malformed ones', async () => {
    const messages = await collect(
      streamOf(['retry: 1000\n\n', 'retry: soon\ndata: a\n\n', 'retry: 20\ndata: b\n\n']),
    );
    expect(messages).toEqual([
      { event: 'message', id: undefined, data: 'a', retry: 1000 },
      { event: 'message', id: undefined, data: 'b', retry: 20 },
    ]);
  });

  it('drops an event the stream ends in the middle of', async () => {
    expect(await collect(streamOf(['data: complete\n\n', 'data: cut off\n']))).toEqual([
      { event: 'message', id: undefined, data: 'complete' },
    ]);
  });

  it('cancels the source and releases its reader when the consumer stops early', async () => {
    const source = streamOf(['data: 1\n\n', 'data: 2\n\n', 'data: 3\n\n']);
    for await (const message of readSseEvents(source)) {
      expect(message.data).toBe('1');
      break;
    }
    expect(source.cancelled()).toBe(true);
    expect(source.locked).toBe(false);
  });

  it('stops with NXS_ABORTED and cancels the source when the signal aborts', async () => {
    let cancelled = false;
    const source = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode('data: first\n\n'));
      },
      cancel() {
        cancelled = true;
      },
    });
    const controller = new AbortController();
    const seen: string[] = [];
    let thrown: unknown;
    try {
      for await (const message of readSseEvents(source, { signal: controller.signal })) {
        seen.push(message.data);
        setTimeout(() => controller.abort(), 0);
      }
    } catch (error) {
      thrown = error;
    }
    expect(seen).toEqual(['first']);
    expect(NexStreamError.is(thrown) && thrown.code).toBe('NXS_ABORTED');
    expect(cancelled).toBe(true);
  });

  it('throws NXS_UPSTREAM for a response whose status is not 2xx', async () => {
    const response = new Response('nope', { status: 503, statusText: 'Service Unavailable' });
    await expect(collect(response)).rejects.toMatchObject({ code: 'NXS_UPSTREAM', message: /HTTP 503/ });
  });
});

describe('NexStream events over SSE', () => {
  const events: NexStreamEvent[] = [
    { type: 'progress', phase: 'race', done: 1, total: 3 },
    { type: 'log', level: 'info', source: 'deezer', message: 'found by ISRC\nline 2', at: 1_700_000_000_000 },
    { type: 'done', elapsedMs: 1234 },
  ];

  it('round-trips typed events with their ids and skips unknown event names', async () => {
    const frames = [
      encodeNexStreamEvent(events[0]!, '1'),
      encodeSseEvent({ event: 'replay-gap', data: { lastEventId: '0', reason: 'evicted' } }),
      encodeNexStreamEvent(events[1]!, '2'),
      encodeSseEvent({ event: 'something-new', id: '3', data: { type: 'something-new' } }),
      encodeNexStreamEvent(events[2]!, '4'),
    ].join('');
    const skipped: string[] = [];
    const received = [];
    for await (const event of readNexStreamEvents(streamOf(slice(encoder.encode(frames), [3, 11])), {
      onUnknownEvent: (message) => skipped.push(message.event),
    })) {
      received.push(event);
    }
    expect(received).toEqual([
      { ...events[0], id: '1' },
      { ...events[1], id: '2' },
      { ...events[2], id: '4' },
    ]);
    expect(skipped).toEqual(['replay-gap', 'something-new']);
  });

  it('accepts event types that later packages add when told their names', async () => {
    type ChannelEvent = { type: 'channel-item'; index: number };
    const frame = encodeNexStreamEvent({ type: 'channel-item', index: 2 });
    const received: ChannelEvent[] = [];
    for await (const event of readNexStreamEvents<ChannelEvent>(streamOf([frame]), {
      types: ['channel-item'],
    })) {
      received.push(event);
    }
    expect(received).toEqual([{ type: 'channel-item', index: 2 }]);
  });

  it('throws NXS_UPSTREAM when a known event carries data that is not a JSON object', async () => {
    const read = async (frame: string) => {
      for await (const _ of readNexStreamEvents(streamOf([frame]))) {
        // drain
      }
    };
    await expect(read('event: progress\ndata: {oops\n\n')).rejects.toMatchObject({
      code: 'NXS_UPSTREAM',
      message: /not JSON/,
    });
    await expect(read('event: done\ndata: [1]\n\n')).rejects.toMatchObject({
      code: 'NXS_UPSTREAM',
      message: /an array, not a JSON object/,
    });
  });
});

describe('readSseEvents over real HTTP', () => {
  let server: Server | undefined;

  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  async function serve(chunks: Uint8Array[]): Promise<string> {
    server = createServer(async (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
      response.flushHeaders();
      response.socket?.setNoDelay(true);
      for (const chunk of chunks) {
        response.write(chunk);
        // Let each piece leave as its own write, so the client sees the awkward boundaries.
        await nextTurn();
      }
      response.end();
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  }

  it('reads events a node:http server writes in awkward chunks, through fetch', async () => {
    const body = [
      '\uFEFF: stream start\r\n\r\n',
      encodeSseEvent({
        event: 'metadata',
        id: '1',
        data: { title: 'Café del Mar ☕', artists: ['Energy 52'] },
      }),
      'retry: 5000\r\nevent: log\r\nid: 2\r\ndata: a\r\ndata: b\r\n\r\n',
      encodeNexStreamEvent({ type: 'done', elapsedMs: 5 }, '3'),
    ].join('');
    const url = await serve(slice(encoder.encode(body), [1, 2, 5, 3, 13]));
    const response = await fetch(url, { headers: { accept: 'text/event-stream' } });
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(await collect(response)).toEqual([
      { event: 'metadata', id: '1', data: '{"title":"Café del Mar ☕","artists":["Energy 52"]}' },
      { event: 'log', id: '2', data: 'a\nb', retry: 5000 },
      { event: 'done', id: '3', data: '{"type":"done","elapsedMs":5}', retry: 5000 },
    ]);
  });
});
