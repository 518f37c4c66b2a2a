import { createServer, get, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { NexStreamError } from '../errors.js';
import type { NexStreamEvent } from '../events.js';
import { readNexStreamEvents, readSseEvents, type SseMessage } from '../sse.js';
import { createSseReplayBuffer } from './sse-replay-buffer.js';
import { createSseStream, type SseStream } from './sse-writer.js';

type Handler = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;

let server: Server | undefined;

afterEach(async () => {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server!.close(() => resolve()));
  server = undefined;
});

/** A real http server on 127.0.0.1 that answers each connection with the next handler. */
async function serve(...handlers: Handler[]): Promise<string> {
  let index = 0;
  server = createServer((request, response) => {
    const handler = handlers[Math.min(index++, handlers.length - 1)]!;
    void handler(request, response);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/resolve?q=abc`;
}

/** A promise with its resolve function, to hand values from server handlers to the test. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}

const progress = (done: number): NexStreamEvent => ({ type: 'progress', phase: 'race', done, total: 10 });

describe('createSseStream', () => {
  it('sends SSE headers that stop buffering and compression, before any event', async () => {
    const url = await serve((request, response) => {
      createSseStream(request, response, { heartbeatMs: 0 });
    });
    const headers = await new Promise<IncomingMessage['headers']>((resolve, reject) => {
      const request = get(url, { headers: { 'accept-encoding': 'gzip, br' } }, (response) => {
        resolve(response.headers);
        request.destroy();
      });
      request.on('error', reject);
    });
    expect(headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(headers['cache-control']).toBe('no-cache, no-transform');
    expect(headers.connection).toBe('keep-alive');
    expect(headers['x-accel-buffering']).toBe('no');
    expect(headers['content-encoding']).toBeUndefined();
  });

  it('numbers events, sends retry first, and ends the client iteration on close', async () => {
    const signalAborted = deferred<boolean>();
    const url = await serve(async (request, response) => {
      const stream = createSseStream(request, response, { heartbeatMs: 0, retryMs: 2000 });
      await stream.send(progress(1));
      await stream.send({ type: 'done', elapsedMs: 12 });
      stream.close();
      signalAborted.resolve(stream.signal.aborted);
    });
    const messages: SseMessage[] = [];
    for await (const message of readSseEvents(await fetch(url))) messages.push(message);
    expect(messages).toEqual([
      { event: 'progress', id: '1', data: JSON.stringify(progress(1)), retry: 2000 },
      { event: 'done', id: '2', data: '{"type":"done","elapsedMs":12}', retry: 2000 },
    ]);
    expect(await signalAborted.promise).toBe(true);
  });

  it('writes heartbeat comments while idle', async () => {
    const url = await serve((request, response) => {
      createSseStream(request, response, { heartbeatMs: 20 });
    });
    const controller = new AbortController();
    const response = await fetch(url, { signal: controller.signal });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes(': heartbeat\n\n: heartbeat\n\n')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    controller.abort();
    await reader.cancel().catch(() => undefined);
    expect(text.startsWith(': heartbeat\n\n: heartbeat\n\n')).toBe(true);
  });

  it('aborts its signal with NXS_ABORTED when the client disconnects', async () => {
    const opened = deferred<SseStream>();
    const url = await serve(async (request, response) => {
      const stream = createSseStream(request, response, { heartbeatMs: 0 });
      opened.resolve(stream);
      await stream.send(progress(1));
    });
    const controller = new AbortController();
    const reason = deferred<unknown>();
    const response = await fetch(url, { signal: controller.signal });
    const stream = await opened.promise;
    stream.signal.addEventListener('abort', () => reason.resolve(stream.signal.reason));
    for await (const message of readSseEvents(response)) {
      expect(message.event).toBe('progress');
      break;
    }
    const thrown = await reason.promise;
    expect(NexStreamError.is(thrown) && thrown.code).toBe('NXS_ABORTED');
    expect((thrown as Error).message).toBe('the SSE client disconnected');
    expect(stream.closed).toBe(true);
    // Sending after the disconnect is harmless.
    await expect(stream.send(progress(2))).resolves.toBe('2');
  });

  it('replays exactly the missed events to a client reconnecting with Last-Event-ID, then goes on live', async () => {
    const replay = createSseReplayBuffer({ capacity: 50 });
    const firstStream = deferred<SseStream>();
    const secondHeader = deferred<string | undefined>();
    const url = await serve(
      async (request, response) => {
        const stream = createSseStream(request, response, { heartbeatMs: 0, replay });
        firstStream.resolve(stream);
        for (const done of [1, 2, 3]) await stream.send(progress(done));
      },
      async (request, response) => {
        const stream = createSseStream(request, response, { heartbeatMs: 0, replay });
        secondHeader.resolve(stream.lastEventId);
        await stream.send(progress(6));
        stream.close();
      },
    );

    // First connection: read three events, then drop the connection.
    const controller = new AbortController();
    const seen: Array<{ id?: string; done?: number }> = [];
    for await (const event of readNexStreamEvents(await fetch(url, { signal: controller.signal }))) {
      seen.push({ id: event.id, done: event.type === 'progress' ? event.done : undefined });
      if (seen.length === 3) break;
    }
    controller.abort();
    const stream = await firstStream.promise;
    await new Promise((resolve) => stream.signal.addEventListener('abort', resolve, { once: true }));
    // The work went on a little after the disconnect: these land in the buffer only.
    await stream.send(progress(4));
    await stream.send(progress(5));

    const lastEventId = seen.at(-1)!.id!;
    const after: Array<{ id?: string; done?: number }> = [];
    const skipped: string[] = [];
    const response = await fetch(url, { headers: { 'last-event-id': lastEventId } });
    for await (const event of readNexStreamEvents(response, {
      onUnknownEvent: (m) => skipped.push(m.event),
    })) {
      after.push({ id: event.id, done: event.type === 'progress' ? event.done : undefined });
    }
    expect(seen).toEqual([
      { id: '1', done: 1 },
      { id: '2', done: 2 },
      { id: '3', done: 3 },
    ]);
    expect(await secondHeader.promise).toBe('3');
    expect(after).toEqual([
      { id: '4', done: 4 },
      { id: '5', done: 5 },
      { id: '6', done: 6 },
    ]);
    expect(skipped).toEqual([]);
  });

  it('says so with a replay-gap event when the Last-Event-ID is older than the buffer holds', async () => {
    const replay = createSseReplayBuffer({ capacity: 2 });
    const url = await serve(
      async (request, response) => {
        const stream = createSseStream(request, response, { heartbeatMs: 0, replay });
        for (const done of [1, 2, 3, 4, 5]) await stream.send(progress(done));
        stream.close();
      },
      (request, response) => {
        const stream = createSseStream(request, response, { heartbeatMs: 0, replay });
        stream.close();
      },
    );
    const first: SseMessage[] = [];
    for await (const message of readSseEvents(await fetch(url))) first.push(message);
    expect(first.map((message) => message.id)).toEqual(['1', '2', '3', '4', '5']);

    const second: SseMessage[] = [];
    for await (const message of readSseEvents(await fetch(url, { headers: { 'last-event-id': '1' } }))) {
      second.push(message);
    }
    expect(second.map((message) => [message.event, message.id])).toEqual([
      ['replay-gap', undefined],
      ['progress', '4'],
      ['progress', '5'],
    ]);
    expect(JSON.parse(second[0]!.data)).toEqual({
      lastEventId: '1',
      reason: 'evicted',
      firstAvailableId: '4',
    });
  });

  it('without a replay buffer, reports the gap and keeps ids increasing after the Last-Event-ID', async () => {
    const url = await serve(async (request, response) => {
      const stream = createSseStream(request, response, { heartbeatMs: 0 });
      await stream.send(progress(1));
      stream.close();
    });
    const messages: SseMessage[] = [];
    for await (const message of readSseEvents(await fetch(url, { headers: { 'last-event-id': '41' } }))) {
      messages.push(message);
    }
    expect(messages.map((message) => [message.event, message.id])).toEqual([
      ['replay-gap', undefined],
      ['progress', '42'],
    ]);
    expect(JSON.parse(messages[0]!.data)).toEqual({ lastEventId: '41', reason: 'no-replay-buffer' });
  });

  it('waits for drain when the client reads slower than events are sent', async () => {
    const result = deferred<{ pendingWhileFull: boolean; sent: number }>();
    const resumed = deferred<void>();
    const big = {
      type: 'log',
      level: 'debug',
      source: 'test',
      message: 'x'.repeat(256 * 1024),
      at: 0,
    } as const;
    const url = await serve(async (request, response) => {
      const stream = createSseStream(request, response, { heartbeatMs: 0 });
      let sent = 0;
      let pending: Promise<string> | undefined;
      // Fill the socket and the kernel buffers until a send stays pending (bounded at 256 MB).
      while (sent < 1024 && !pending) {
        const sending = stream.send(big);
        sent += 1;
        let settled = false;
        void sending.then(() => {
          settled = true;
        });
        for (let turn = 0; turn < 20 && !settled; turn += 1) await nextTurn();
        if (!settled) pending = sending;
      }
      const pendingWhileFull = pending !== undefined && response.writableNeedDrain;
      resumed.resolve();
      await pending;
      result.resolve({ pendingWhileFull, sent });
      stream.close();
    });
    let received = 0;
    await new Promise<void>((resolve, reject) => {
      const request = get(url, (response) => {
        response.pause();
        void resumed.promise.then(() => {
          response.on('data', (chunk: Buffer) => {
            received += chunk.length;
          });
          response.on('end', resolve);
          response.resume();
        });
      });
      request.on('error', reject);
    });
    const { pendingWhileFull, sent } = await result.promise;
    expect(pendingWhileFull).toBe(true);
    expect(received).toBeGreaterThan(sent * 256 * 1024);
  });

  it('refuses a response whose headers were already sent', async () => {
    const outcome = deferred<unknown>();
    const url = await serve((request, response) => {
      response.writeHead(200).flushHeaders();
      try {
        createSseStream(request, response);
        outcome.resolve(undefined);
      } catch (error) {
        outcome.resolve(error);
      }
      response.end();
    });
    await (await fetch(url)).text();
    expect(await outcome.promise).toMatchObject({ code: 'NXS_CONFLICT' });
  });
});

describe('createSseReplayBuffer', () => {
  const entry = (id: number) => ({ id, event: 'progress', data: `{"done":${id}}` });

  it('keeps the last `capacity` events per stream and replays those after an id', () => {
    const buffer = createSseReplayBuffer({ capacity: 3 });
    for (const id of [1, 2, 3, 4, 5]) buffer.push('/a', entry(id));
    buffer.push('/b', entry(1));
    expect(buffer.after('/a', '3')).toEqual({ events: [entry(4), entry(5)], complete: true });
    expect(buffer.after('/a', '5')).toEqual({ events: [], complete: true });
    expect(buffer.after('/a', '1')).toEqual({
      events: [entry(3), entry(4), entry(5)],
      complete: false,
      gap: { lastEventId: '1', reason: 'evicted', firstAvailableId: '3' },
    });
    expect(buffer.after('/b', '0')).toEqual({ events: [entry(1)], complete: true });
    expect(buffer.lastId('/a')).toBe(5);
  });

  it('reports unknown streams and ids it never handed out', () => {
    const buffer = createSseReplayBuffer({ capacity: 3 });
    buffer.push('/a', entry(1));
    expect(buffer.after('/missing', '1')).toEqual({
      events: [],
      complete: false,
      gap: { lastEventId: '1', reason: 'unknown-stream' },
    });
    expect(buffer.after('/a', '9').gap).toEqual({
      lastEventId: '9',
      reason: 'unknown-id',
      firstAvailableId: '1',
    });
    expect(buffer.after('/a', 'abc').gap?.reason).toBe('unknown-id');
  });

  it('drops the least recently written stream beyond maxStreams', () => {
    const buffer = createSseReplayBuffer({ capacity: 2, maxStreams: 2 });
    buffer.push('/a', entry(1));
    buffer.push('/b', entry(1));
    buffer.push('/a', entry(2));
    buffer.push('/c', entry(1));
    expect(buffer.streamCount).toBe(2);
    expect(buffer.lastId('/b')).toBeUndefined();
    expect(buffer.lastId('/a')).toBe(2);
  });

  it('refuses ids that do not increase and bad sizes', () => {
    const buffer = createSseReplayBuffer({ capacity: 2 });
    buffer.push('/a', entry(2));
    expect(() => buffer.push('/a', entry(2))).toThrow(/not above the last id 2/);
    expect(() => createSseReplayBuffer({ capacity: 0 })).toThrow(/capacity must be a positive integer/);
  });
});
