import { NexStreamError, NexStreamErrorCode } from '../errors.js';
import type { SseReplayGap } from '../sse.js';

/** One event held for replay: the id the SSE writer gave it, its name and its encoded data. */
export interface SseReplayEntry {
  /** A positive integer, increasing per stream; sent as the SSE `id`. */
  id: number;
  /** The SSE event name. */
  event: string;
  /** The data as sent (JSON text for NexStream events). */
  data: string;
}

/** What {@link SseReplayBuffer.after} found for a `Last-Event-ID`. */
export interface SseReplayResult {
  /** The held events after the given id, oldest first: the ones to send again. */
  events: SseReplayEntry[];
  /** True when `events` is everything the client missed; false when some are gone (see `gap`). */
  complete: boolean;
  /** Why the replay is incomplete, when it is; the SSE writer sends it as a `replay-gap` event. */
  gap?: SseReplayGap;
}

/** Options for {@link createSseReplayBuffer}. */
export interface SseReplayBufferOptions {
  /** How many events are kept per stream; older ones are dropped first. At least 1. */
  capacity: number;
  /** How many streams are kept; the stream that was written to least recently is dropped first. Default 1000. */
  maxStreams?: number;
}

/**
 * A bounded, in-memory store of recent SSE events per stream, so that a client reconnecting with
 * `Last-Event-ID` gets exactly the events it missed. Memory is bounded by `capacity × maxStreams` events.
 * One buffer serves many streams; a stream is named by the SSE writer's `streamId` (by default the request
 * URL, which is what `EventSource` reconnects to).
 */
export interface SseReplayBuffer {
  /** Events kept per stream. */
  readonly capacity: number;
  /** Streams kept. */
  readonly maxStreams: number;
  /** How many streams are held now. */
  readonly streamCount: number;
  /** Stores an event of a stream. Its id must be greater than the stream's {@link SseReplayBuffer.lastId}. */
  push(streamId: string, entry: SseReplayEntry): void;
  /** The events of a stream after `lastEventId`, and whether that is all the client missed. */
  after(streamId: string, lastEventId: string): SseReplayResult;
  /** The highest id stored for a stream (even if that event was since dropped), or `undefined`. */
  lastId(streamId: string): number | undefined;
  /** Forgets a stream (for example once its work is done and no client will reconnect). */
  delete(streamId: string): void;
}

interface StreamRecord {
  entries: SseReplayEntry[];
  lastId: number;
}

/**
 * Creates a {@link SseReplayBuffer}. Pass one buffer to every `createSseStream` call of a route so
 * reconnects find what earlier connections sent.
 *
 * @throws NexStreamError `NXS_INVALID_INPUT` when `capacity` or `maxStreams` is not a positive integer.
 */
export function createSseReplayBuffer(options: SseReplayBufferOptions): SseReplayBuffer {
  const { capacity, maxStreams = 1000 } = options;
  for (const [name, value] of [
    ['capacity', capacity],
    ['maxStreams', maxStreams],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new NexStreamError(
        NexStreamErrorCode.InvalidInput,
        `SSE replay buffer ${name} must be a positive integer, got ${value}`,
      );
    }
  }
  const streams = new Map<string, StreamRecord>();

  return {
    capacity,
    maxStreams,
    get streamCount() {
      return streams.size;
    },
    push(streamId, entry) {
      let record = streams.get(streamId);
      if (record) {
        if (entry.id <= record.lastId) {
          throw new NexStreamError(
            NexStreamErrorCode.Conflict,
            `SSE replay id ${entry.id} for stream "${streamId}" is not above the last id ${record.lastId}`,
          );
        }
        streams.delete(streamId);
      } else {
        record = { entries: [], lastId: 0 };
      }
      streams.set(streamId, record);
      record.entries.push(entry);
      record.lastId = entry.id;
      if (record.entries.length > capacity) record.entries.splice(0, record.entries.length - capacity);
      while (streams.size > maxStreams) {
        const oldest = streams.keys().next().value;
        if (oldest === undefined) break;
        streams.delete(oldest);
      }
    },
    after(streamId, lastEventId) {
      const record = streams.get(streamId);
      if (!record) return { events: [], complete: false, gap: { lastEventId, reason: 'unknown-stream' } };
      const seen = /^\d{1,15}$/.test(lastEventId) ? Number(lastEventId) : undefined;
      const first = record.entries[0];
      const gap = (reason: SseReplayGap['reason'], events: SseReplayEntry[]): SseReplayResult => ({
        events,
        complete: false,
        gap: { lastEventId, reason, ...(events[0] ? { firstAvailableId: String(events[0].id) } : {}) },
      });
      if (seen === undefined || seen > record.lastId) return gap('unknown-id', [...record.entries]);
      const events = record.entries.filter((entry) => entry.id > seen);
      // Ids are consecutive per stream, so a hole between `seen` and the oldest held event means eviction.
      if (first !== undefined && first.id > seen + 1) return gap('evicted', events);
      if (first === undefined && record.lastId > seen) return gap('evicted', events);
      return { events, complete: true };
    },
    lastId(streamId) {
      return streams.get(streamId)?.lastId;
    },
    delete(streamId) {
      streams.delete(streamId);
    },
  };
}
