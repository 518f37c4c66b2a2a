import { setTimeout as sleep } from 'node:timers/promises';
import { isAbortError, NexStreamError, NexStreamErrorCode } from '../errors.js';
import type { TunnelOrigin, TunnelUpstream, UpstreamResponse } from './tunnel-upstream.js';
import { safeUrl } from './tunnel-upstream.js';

/** What a {@link fetchRanges} call reports as it works, for logs and metrics. */
export type RangeFetchEvent =
  | { type: 'retry'; chunkStart: number; offset: number; attempt: number; reason: string; delayMs: number }
  | {
      type: 'refresh';
      offset: number;
      status: number;
      /** This refresh's place in the current run of refreshes that brought no byte yet (1 after progress). */
      inARow: number;
    };

/** Options for {@link fetchRanges}. Byte positions are inclusive, like HTTP ranges. */
export interface RangeFetchOptions {
  upstream: TunnelUpstream;
  /** The origin to start with. */
  origin: TunnelOrigin;
  /** Called after a 403 or 410 (an expired link): re-extracts and returns a fresh origin. */
  refresh?: () => Promise<TunnelOrigin>;
  /** First byte to deliver. */
  start: number;
  /** Last byte to deliver (inclusive). */
  end: number;
  /** The origin's full size in bytes; every `Content-Range` must name it. */
  totalBytes: number;
  /** Range requests in flight at once. Default 6. */
  parallel?: number;
  /** Bytes per range request. Default 8 MiB. */
  chunkBytes?: number;
  /** Failed attempts in a row (no byte gained) before a chunk gives up. Default 5. */
  maxRetries?: number;
  /**
   * Link refreshes in a row that bring no new byte before the transfer fails with `NXS_LINK_EXPIRED`. A refresh
   * counts as fruitless until a byte arrives on a request made with the refreshed link; any such byte resets the
   * count, so a long transfer over short-lived links can refresh any number of times. Default 3.
   */
  maxRefreshes?: number;
  /** First retry delay in milliseconds, doubled per failure in a row (with jitter, capped at 5 s). Default 200. */
  retryDelayMs?: number;
  signal?: AbortSignal;
  onEvent?: (event: RangeFetchEvent) => void;
}

interface Chunk {
  start: number;
  end: number;
  pieces: Uint8Array[];
  received: number;
  done: boolean;
  wake: (() => void) | undefined;
}

/** The default number of parallel range requests (see decision 0060). */
export const defaultTunnelParallel = 6;
/** The default range request size in bytes: 8 MiB (see decision 0060). */
export const defaultTunnelChunkBytes = 8 * 1024 * 1024;

/**
 * Fetches bytes `start..end` of an origin with up to `parallel` range requests of `chunkBytes` each and
 * yields them in order. Memory is bounded by `parallel × chunkBytes`: a chunk beyond the window starts only
 * once the oldest one has been taken by the consumer, so a slow consumer slows the fetching down
 * (backpressure). The first chunk in the window is passed on while it arrives, so the first bytes flow
 * before a whole chunk is in.
 *
 * Every response must be a 206 whose `Content-Range` is exactly the range asked for (of `totalBytes`). A
 * short or dropped body is resumed at the exact next byte; 5xx, 429 and network errors are retried with
 * backoff; a 403 or 410 calls `refresh` once (shared by all chunks) and the transfer continues at the same
 * offset. Only fruitless refreshes are limited: after `maxRefreshes` refreshes in a row with no new byte from a
 * refreshed link, the next refusal fails the transfer. Aborting `signal`, or leaving the loop, aborts every
 * request in flight at once.
 *
 * @throws NexStreamError `NXS_UPSTREAM` when a chunk keeps failing or the origin answers wrongly,
 *   `NXS_LINK_EXPIRED` when refreshing does not help (`details`: `{ offset, status, fruitlessRefreshes,
 *   refreshes }`), `NXS_FORBIDDEN` from the guard, `NXS_ABORTED`.
 */
export async function* fetchRanges(options: RangeFetchOptions): AsyncGenerator<Uint8Array, void, undefined> {
  const {
    upstream,
    refresh,
    start,
    end,
    totalBytes,
    parallel = defaultTunnelParallel,
    chunkBytes = defaultTunnelChunkBytes,
    maxRetries = 5,
    maxRefreshes = 3,
    retryDelayMs = 200,
    onEvent,
  } = options;
  if (
    !(Number.isSafeInteger(parallel) && parallel >= 1) ||
    !(Number.isSafeInteger(chunkBytes) && chunkBytes >= 1)
  ) {
    throw new NexStreamError(
      NexStreamErrorCode.InvalidInput,
      `parallel and chunkBytes must be whole numbers >= 1, got ${parallel} and ${chunkBytes}`,
    );
  }
  if (end < start) return;

  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  let origin = options.origin;
  let generation = 0;
  let refreshing: Promise<void> | undefined;
  /** Refreshes in this transfer, and those in a row after which no byte came from a refreshed link. */
  let refreshes = 0;
  let fruitless = 0;
  let failure: unknown;
  const chunks: Chunk[] = [];
  for (let position = start; position <= end; position += chunkBytes) {
    chunks.push({
      start: position,
      end: Math.min(end, position + chunkBytes - 1),
      pieces: [],
      received: 0,
      done: false,
      wake: undefined,
    });
  }
  const wakeAll = (): void => {
    for (const chunk of chunks) chunk.wake?.();
  };
  signal.addEventListener('abort', wakeAll, { once: true });

  async function refreshOrigin(seenGeneration: number, status: number, offset: number): Promise<void> {
    if (generation !== seenGeneration) return; // another chunk already refreshed
    if (!refreshing) {
      if (!refresh || fruitless >= maxRefreshes) {
        throw new NexStreamError(
          NexStreamErrorCode.LinkExpired,
          `origin answered ${status} at byte ${offset} (${safeUrl(origin.url)}) and ` +
            (!refresh
              ? 'no refresh function was given'
              : fruitless === 0
                ? 'maxRefreshes is 0'
                : `the last ${fruitless} link refreshes in a row brought no new byte (${refreshes} in this transfer)`),
          { retryable: false, details: { offset, status, fruitlessRefreshes: fruitless, refreshes } },
        );
      }
      refreshes += 1;
      fruitless += 1;
      onEvent?.({ type: 'refresh', offset, status, inARow: fruitless });
      refreshing = refresh().then(
        (fresh) => {
          origin = fresh;
          generation += 1;
          refreshing = undefined;
        },
        (error: unknown) => {
          refreshing = undefined;
          throw error;
        },
      );
    }
    await refreshing;
  }

  async function runChunk(chunk: Chunk): Promise<void> {
    const length = chunk.end - chunk.start + 1;
    let failures = 0;
    while (chunk.received < length) {
      if (signal.aborted) return;
      const from = chunk.start + chunk.received;
      const seenGeneration = generation;
      let response: UpstreamResponse | undefined;
      let reason: string;
      const before = chunk.received;
      try {
        response = await upstream.open(origin, { range: `bytes=${from}-${chunk.end}`, signal });
        const status = response.statusCode;
        if (status === 403 || status === 410) {
          response.body.destroy();
          await refreshOrigin(seenGeneration, status, from);
          continue;
        }
        const verdict = checkResponse(response, from, chunk.end, totalBytes);
        if (verdict !== 'ok') {
          response.body.destroy();
          if (verdict.fatal)
            throw new NexStreamError(NexStreamErrorCode.Upstream, verdict.message, { retryable: false });
          reason = verdict.message;
        } else {
          for await (const piece of response.body as AsyncIterable<Buffer>) {
            const room = length - chunk.received;
            const take = piece.byteLength > room ? piece.subarray(0, room) : piece;
            chunk.pieces.push(take);
            chunk.received += take.byteLength;
            // A byte through the current link proves the last refresh worked (one through an older link does not).
            if (seenGeneration === generation && take.byteLength > 0) fruitless = 0;
            chunk.wake?.();
            if (chunk.received >= length) break;
          }
          if (chunk.received >= length) break;
          reason = `the body ended after ${chunk.received - before} of ${length - before} bytes`;
        }
      } catch (error) {
        response?.body.destroy();
        if (signal.aborted) return;
        if (NexStreamError.is(error) && !error.retryable) throw error;
        if (isAbortError(error)) throw error;
        reason = (error as Error)?.message ?? String(error);
      }
      failures = chunk.received > before ? 1 : failures + 1;
      if (failures > maxRetries) {
        throw new NexStreamError(
          NexStreamErrorCode.Upstream,
          `range ${from}-${chunk.end} of ${safeUrl(origin.url)} failed ${failures} times in a row: ${reason}`,
        );
      }
      const delayMs = Math.min(5_000, retryDelayMs * 2 ** (failures - 1)) * (0.75 + Math.random() * 0.5);
      onEvent?.({ type: 'retry', chunkStart: chunk.start, offset: from, attempt: failures, reason, delayMs });
      try {
        await sleep(delayMs, undefined, { signal });
      } catch {
        return;
      }
    }
    chunk.done = true;
    chunk.wake?.();
  }

  const launch = (index: number): void => {
    const chunk = chunks[index];
    if (!chunk) return;
    runChunk(chunk).catch((error: unknown) => {
      if (failure === undefined && !signal.aborted) failure = error;
      controller.abort();
      wakeAll();
    });
  };

  try {
    for (let index = 0; index < Math.min(parallel, chunks.length); index += 1) launch(index);
    for (let index = 0; index < chunks.length; index += 1) {
      const chunk = chunks[index] as Chunk;
      let emitted = 0;
      for (;;) {
        if (failure !== undefined) throw failure;
        if (options.signal?.aborted) {
          throw new NexStreamError(NexStreamErrorCode.Aborted, 'the transfer was aborted', {
            cause: options.signal.reason,
          });
        }
        if (emitted < chunk.pieces.length) {
          const piece = chunk.pieces[emitted] as Uint8Array;
          chunk.pieces[emitted] = emptyPiece;
          emitted += 1;
          yield piece;
          continue;
        }
        if (chunk.done) break;
        await new Promise<void>((resolve) => {
          chunk.wake = resolve;
        });
        chunk.wake = undefined;
      }
      chunk.pieces = [];
      launch(index + parallel);
    }
  } finally {
    controller.abort();
    signal.removeEventListener('abort', wakeAll);
  }
}

const emptyPiece = new Uint8Array(0);

type Verdict = 'ok' | { fatal: boolean; message: string };

function checkResponse(response: UpstreamResponse, from: number, to: number, totalBytes: number): Verdict {
  const status = response.statusCode;
  const where = safeUrl(response.url);
  if (status === 206) {
    const header = response.headers['content-range'];
    const value = Array.isArray(header) ? header[0] : header;
    const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value?.trim() ?? '');
    if (!match) {
      return { fatal: false, message: `206 without a valid Content-Range (${String(value)}) from ${where}` };
    }
    const [first, last, size] = [Number(match[1]), Number(match[2]), match[3]];
    if (size !== '*' && Number(size) !== totalBytes) {
      return {
        fatal: true,
        message: `origin size changed from ${totalBytes} to ${size} bytes (${where}): restart the download`,
      };
    }
    if (first !== from || last !== to) {
      return { fatal: false, message: `asked for bytes ${from}-${to}, got ${first}-${last} from ${where}` };
    }
    return 'ok';
  }
  if (status === 200) {
    return from === 0 && to === totalBytes - 1
      ? 'ok'
      : { fatal: true, message: `origin ignored the Range header (200 instead of 206) at ${where}` };
  }
  if (status === 416) {
    return {
      fatal: true,
      message: `origin answered 416 for bytes ${from}-${to} of ${totalBytes} (${where})`,
    };
  }
  if (status >= 500 || status === 429 || status === 408) {
    return { fatal: false, message: `origin answered ${status} (${where})` };
  }
  return { fatal: true, message: `origin answered ${status} (${where})` };
}
