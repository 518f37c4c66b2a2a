import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  createSseReplayBuffer,
  createSseStream,
  type SseReplayBuffer,
  type SseStream,
} from '@nexstream/core/node';
import type { Channel } from './channel.js';

/** Options for {@link streamChannelEvents}. */
export interface ChannelEventStreamOptions {
  /**
   * Events kept per channel for clients that reconnect with `Last-Event-ID`. The first stream of a channel
   * sets it. Default 500.
   */
  replayCapacity?: number;
  /** Heartbeat comment interval in milliseconds. Default 15 000. */
  heartbeatMs?: number;
  /**
   * Events one client may have waiting (written but not yet taken by a slow connection); one more closes its
   * stream, and the client's reconnect gets what it missed from the replay buffer. Default 1000.
   */
  maxQueuedEvents?: number;
}

/** One event on the wire: the name is `type`, the data the payload with `type` added. */
type WireEvent = { readonly type: string } & Record<string, unknown>;

interface Connection {
  stream: SseStream<WireEvent>;
  queued: number;
}

/**
 * The events of one channel, numbered once for every client: the hub hears the channel, stores each event
 * in a replay buffer under one id, and hands it to every open stream. Each stream is core's SSE writer
 * (`createSseStream`); it is given a view of the hub's buffer, so the writer's own numbering ("the next id
 * after the buffer's last") lands on the hub's id and a reconnect replays from the shared history.
 */
interface Hub {
  readonly key: string;
  readonly buffer: SseReplayBuffer;
  lastId: number;
  /** The id being handed out, while the hub calls `send` on the streams. */
  sending: number | undefined;
  readonly connections: Set<Connection>;
  maxQueuedEvents: number;
}

const hubs = new WeakMap<Channel, Hub>();

/** Live gauges and per-connection snapshots are not replayed: a fresh `status` follows every (re)connect. */
const notReplayed = new Set(['status', 'stats']);

function hubFor(channel: Channel, options: ChannelEventStreamOptions): Hub {
  let hub = hubs.get(channel);
  if (hub) return hub;
  const created: Hub = {
    key: `channel:${channel.id}`,
    buffer: createSseReplayBuffer({ capacity: options.replayCapacity ?? 500, maxStreams: 1 }),
    lastId: 0,
    sending: undefined,
    connections: new Set(),
    maxQueuedEvents: options.maxQueuedEvents ?? 1000,
  };
  hub = created;
  hubs.set(channel, created);
  channel.onAny((type, payload) => publish(created, { ...(payload as object), type: String(type) }));
  return created;
}

/** Numbers `event`, stores it for replay, and sends it to every stream of the hub (or to `only`). */
function publish(hub: Hub, event: WireEvent, only?: Connection): void {
  const id = hub.lastId + 1;
  hub.lastId = id;
  hub.buffer.push(hub.key, { id, event: event.type, data: JSON.stringify(event) });
  hub.sending = id;
  try {
    for (const connection of only ? [only] : hub.connections) {
      if (connection.queued >= hub.maxQueuedEvents) {
        // Too slow to keep up: the client reconnects with Last-Event-ID and catches up from the buffer.
        hub.connections.delete(connection);
        connection.stream.close();
        continue;
      }
      connection.queued += 1;
      void connection.stream.send(event).finally(() => {
        connection.queued -= 1;
      });
    }
  } finally {
    hub.sending = undefined;
  }
}

/** What a stream sees of the hub's buffer: replay reads it, ids continue from it, and `push` is the hub's. */
function viewOf(hub: Hub): SseReplayBuffer {
  return {
    capacity: hub.buffer.capacity,
    maxStreams: 1,
    streamCount: 1,
    push() {},
    after(_streamId, lastEventId) {
      const result = hub.buffer.after(hub.key, lastEventId);
      return { ...result, events: result.events.filter((entry) => !notReplayed.has(entry.event)) };
    },
    lastId: () => (hub.sending === undefined ? hub.lastId : hub.sending - 1),
    delete() {},
  };
}

/**
 * Serves `GET /events` of a channel as Server-Sent Events through core's SSE writer: every event has an
 * id, a client reconnecting with `Last-Event-ID` first gets the events it missed (or a `replay-gap` event
 * when they are no longer held, or the server restarted), heartbeats keep proxies from closing the stream,
 * and a client that reads slower than events come is closed (it reconnects and catches up) instead of
 * buffering without bound. The first event of every connection is `status` (the channel's
 * {@link Channel.status}). Each event's data is its payload with `type` (the event name) added. Resolves
 * when the client goes away.
 */
export async function streamChannelEvents(
  channel: Channel,
  request: IncomingMessage,
  response: ServerResponse,
  options: ChannelEventStreamOptions = {},
): Promise<void> {
  const hub = hubFor(channel, options);
  const stream = createSseStream<WireEvent>(request, response, {
    replay: viewOf(hub),
    streamId: hub.key,
    heartbeatMs: options.heartbeatMs ?? 15_000,
  });
  const closed = new Promise<void>((resolve) => {
    if (stream.signal.aborted) resolve();
    else stream.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  // The first status is right: the channel is loaded (and resumed, after a restart) before it is sent.
  await channel.ready().catch(() => undefined);
  if (stream.closed) return;
  const connection: Connection = { stream, queued: 0 };
  publish(hub, { ...channel.status(), type: 'status' }, connection);
  hub.connections.add(connection);
  try {
    await closed;
  } finally {
    hub.connections.delete(connection);
  }
}
