import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';

/**
 * Random access to one input file for libav.js's block-reader device: data is pulled from the network
 * (or a stream) ahead of the demuxer, kept in a bounded window, and handed over synchronously when it is
 * already there, so most demuxer reads never wait. @internal
 */
export interface ByteSource {
  /** The file size in bytes (known once {@link ByteSource.start} resolved). */
  readonly sizeBytes: number;
  /** Bytes received so far (network bytes, each byte of a resumed transfer counted once). */
  readonly bytesIn: number;
  /** How many times the transfer was resumed after a dropped connection or a 5xx. */
  readonly resumes: number;
  /** The error that stopped the source, if one did (libav.js only sees "could not read"). */
  readonly error: unknown;
  /** Opens the input and resolves with the first bytes (for sniffing the container). */
  start(): Promise<Uint8Array>;
  /**
   * The bytes buffered from `position` to the end of their block (a view, never a copy), if any. The
   * view stays valid until the consumer has moved more than 1 MiB past it (its block is then reused), so
   * a consumer that keeps views longer must copy them (libav.js only keeps the latest).
   */
  peek(position: number): Uint8Array | undefined;
  /**
   * Resolves with bytes from `position` on (empty at the end of the file) once a window is buffered or
   * the file ends: a view of one block (valid as for {@link ByteSource.peek}); with `minimumBytes`, a copy
   * of up to a window once that many are.
   */
  read(position: number, minimumBytes?: number): Promise<Uint8Array>;
  /** How many bytes to hand over per read; the transfer runs ahead by twice this, at least 8 MiB. */
  setWindowBytes(windowBytes: number): void;
  /** Stops every request; pending reads reject with `reason`. */
  close(reason?: unknown): void;
}

/**
 * The hand-over window for an input of `bytesPerSecond`: about two seconds of media, between 512 KiB
 * and 8 MiB (both muxers set it once they know the bitrate). @internal
 */
export function windowBytesFor(bytesPerSecond: number): number {
  return Math.min(8 * 1024 * 1024, Math.max(512 * 1024, bytesPerSecond * 2));
}

/** An open connection to the input, positioned at a byte offset. @internal */
export interface OpenedBody {
  /** The bytes from the position on; read with a BYOB reader when it is a byte stream (fetch, Blob). */
  body: ReadableStream<Uint8Array>;
  /** The total file size, when this response told it. */
  totalBytes?: number;
}

/** How a {@link ByteSource} (re)connects: open the file at `position`. @internal */
export interface ByteSourceOpener {
  /** A name for messages (the URL without its query, or `stream input N`). */
  label: string;
  /** Whether a broken transfer may be reopened at the same byte (true for URLs). */
  resumable: boolean;
  /** Opens the file at `position`, up to `end` (exclusive) when given, else to its end. */
  open(position: number, signal: AbortSignal, end?: number): Promise<OpenedBody>;
}

/** Options of {@link createByteSource}. @internal */
export interface ByteSourceOptions {
  /** Size in bytes when known up front (required for stream inputs). */
  sizeBytes?: number;
  /** Consecutive failed reconnects tolerated before the job fails. */
  maxResumes: number;
  /** Wait before the first reconnect, doubled after each failure, in milliseconds. */
  resumeDelayMs: number;
  /** Called whenever bytes arrive (for progress). */
  onBytes?: () => void;
}

const minimumHandOverBytes = 64 * 1024;
const keepBehindBytes = 1024 * 1024;
const minimumReadAheadBytes = 8 * 1024 * 1024;
/** The buffer is made of blocks this size, reused once the demuxer is more than 1 MiB past them. */
const blockBytes = 256 * 1024;
/** Blocks kept for reuse at most (beyond that, dropped blocks are left to the garbage collector). */
const maximumPooledBlocks = 16;
/**
 * A read this close to the end of the file, beyond what the transfer can reach, is served by one
 * separate request for the whole tail (an MP4's index at the end): the main transfer and its buffer stay.
 */
const tailBytes = 16 * 1024 * 1024;
/** The least a separate (side) request fetches elsewhere in the file. */
const minimumSideBytes = 1024 * 1024;
/** The buffer a BYOB read lands in before its bytes are copied into the blocks. */
const landingBytes = 1024 * 1024;

/** A stretch of the file: `data[0..filled)` holds the bytes from file position `start` on. */
interface Block {
  data: Uint8Array<ArrayBuffer>;
  start: number;
  filled: number;
}

/** What the pump reads a body with: a BYOB reader into memory we own when possible. */
interface BodyReader {
  /** Whether {@link BodyReader.read} fills a given buffer (BYOB) rather than returning fresh chunks. */
  readonly byob: boolean;
  /**
   * The next bytes. BYOB: read into `target`, which the read detaches (the result views the same
   * memory), or without one into a reused landing buffer, at most `maximum` bytes: that result is only
   * valid until the next call.
   */
  read(target?: Uint8Array<ArrayBuffer>, maximum?: number): Promise<ReadableStreamReadResult<Uint8Array>>;
  cancel(): Promise<void>;
}

/**
 * Reads `body` with a BYOB reader when it is a byte stream (fetch and Blob bodies are): the browser then
 * copies network bytes straight into our (reused) blocks instead of allocating a fresh buffer per chunk,
 * which on a busy machine costs more than the copy itself (page faults, garbage). Falls back to the
 * default reader for other streams.
 */
function openBodyReader(body: ReadableStream<Uint8Array>, landingMaximum = landingBytes): BodyReader {
  let byob: ReadableStreamBYOBReader;
  try {
    byob = body.getReader({ mode: 'byob' });
  } catch {
    const reader = body.getReader();
    return { byob: false, read: () => reader.read(), cancel: () => reader.cancel() };
  }
  let landing: ArrayBuffer | undefined;
  return {
    byob: true,
    async read(target, maximum = landingMaximum) {
      landing ??= new ArrayBuffer(landingMaximum);
      const result = await byob.read(
        target ?? new Uint8Array(landing, 0, Math.min(maximum, landing.byteLength)),
      );
      if (target === undefined && result.value !== undefined) landing = result.value.buffer as ArrayBuffer;
      return result as ReadableStreamReadResult<Uint8Array>;
    },
    cancel: () => byob.cancel(),
  };
}

interface Waiter {
  position: number;
  /** Bytes wanted before answering (a full window, or less for the first bytes). */
  minimum: number;
  /** Answer with a copy of up to a window (for the head) rather than a view of one block. */
  copy: boolean;
  resolve: (data: Uint8Array) => void;
  reject: (error: unknown) => void;
}

/** A {@link ByteSource} over an {@link ByteSourceOpener}. @internal */
export function createByteSource(opener: ByteSourceOpener, options: ByteSourceOptions): ByteSource {
  let sizeBytes = options.sizeBytes ?? -1;
  let bytesIn = 0;
  let resumes = 0;
  let windowBytes = 1024 * 1024;
  let blocks: Block[] = [];
  let pool: Array<Uint8Array<ArrayBuffer>> = [];
  let bufferStart = 0;
  let bufferEnd = 0;
  let consumerPosition = 0;
  let generation = 0;
  let requestController: AbortController | undefined;
  /** The bytes of the last side request (a read outside the transfer's reach), kept until the next one. */
  let side: { start: number; data: Uint8Array } | undefined;
  let sideController: AbortController | undefined;
  let wakePump: (() => void) | undefined;
  let failure: unknown;
  let closed = false;
  const waiters: Waiter[] = [];

  /** How far the transfer runs ahead of the demuxer: two windows, at least 8 MiB (a window is ~2 s of media). */
  const readAheadBytes = () => Math.max(windowBytes * 2, minimumReadAheadBytes);
  const available = (position: number) =>
    position >= bufferStart && position < bufferEnd ? bufferEnd - position : 0;
  const atEnd = (position: number) => sizeBytes >= 0 && position >= sizeBytes;

  function slice(position: number, maximum: number): Uint8Array {
    const end = Math.min(bufferEnd, position + maximum);
    const out = new Uint8Array(end - position);
    let written = 0;
    for (const block of blocks) {
      const blockEnd = block.start + block.filled;
      if (blockEnd > position && block.start < end) {
        const from = Math.max(position, block.start) - block.start;
        const to = Math.min(end, blockEnd) - block.start;
        out.set(block.data.subarray(from, to), written);
        written += to - from;
      }
      if (blockEnd >= end) break;
    }
    return out;
  }

  /**
   * The buffered bytes from `position` to the end of the block holding it, as a view (no copy). Reading
   * block by block costs one cheap callback per block instead of a copy of every byte.
   */
  function viewAt(position: number): Uint8Array {
    for (const block of blocks) {
      if (position < block.start + block.filled) {
        return block.data.subarray(position - block.start, block.filled);
      }
    }
    return new Uint8Array(0);
  }

  /** Copies received bytes into the blocks (reused ones first), so no fresh memory is needed per chunk. */
  function append(bytes: Uint8Array) {
    let offset = 0;
    while (offset < bytes.length) {
      let tail = blocks.at(-1);
      if (tail === undefined || tail.filled === tail.data.length) {
        tail = { data: pool.pop() ?? new Uint8Array(blockBytes), start: bufferEnd, filled: 0 };
        blocks.push(tail);
      }
      const count = Math.min(bytes.length - offset, tail.data.length - tail.filled);
      tail.data.set(bytes.subarray(offset, offset + count), tail.filled);
      tail.filled += count;
      offset += count;
      bufferEnd += count;
    }
  }

  /**
   * Frees (reuses) blocks more than 1 MiB behind the consumer, once the buffer holds more than the
   * read-ahead and that: a small file, or the head of a file read before a jump to its index at the end,
   * stays whole for the demuxer to come back to.
   */
  function dropBehind() {
    const keepFrom = consumerPosition - keepBehindBytes;
    const budget = readAheadBytes() + keepBehindBytes;
    while (
      blocks.length > 1 &&
      bufferEnd - bufferStart > budget &&
      blocks[0]!.start + blocks[0]!.filled <= keepFrom
    ) {
      const dropped = blocks.shift()!;
      bufferStart = blocks[0]!.start;
      if (pool.length < maximumPooledBlocks) pool.push(dropped.data);
    }
  }

  function enough(position: number, minimum = windowBytes): boolean {
    if (atEnd(position)) return true;
    const want = Math.min(minimum, sizeBytes >= 0 ? sizeBytes - position : minimum);
    return available(position) >= Math.max(1, want);
  }

  function settleWaiters() {
    for (let index = waiters.length - 1; index >= 0; index--) {
      const waiter = waiters[index]!;
      if (failure !== undefined) {
        waiters.splice(index, 1);
        waiter.reject(failure);
      } else if (enough(waiter.position, waiter.minimum) || (pumpEnded && available(waiter.position) > 0)) {
        waiters.splice(index, 1);
        waiter.resolve(
          atEnd(waiter.position)
            ? new Uint8Array(0)
            : waiter.copy
              ? slice(waiter.position, windowBytes)
              : viewAt(waiter.position),
        );
      }
    }
  }

  let pumpEnded = false;

  function fail(error: unknown) {
    if (failure === undefined) failure = error;
    requestController?.abort();
    settleWaiters();
  }

  /** Restarts the transfer at `position`, dropping the buffer (a seek outside what is buffered). */
  function restartAt(position: number) {
    generation++;
    requestController?.abort();
    // Not pooled: libav.js may still hold a view into them until it gets the bytes it asked for.
    blocks = [];
    bufferStart = position;
    bufferEnd = position;
    pumpEnded = false;
    void pump(generation);
  }

  async function sleep(delayMs: number) {
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }

  async function pump(myGeneration: number): Promise<void> {
    let failures = 0;
    let reader: BodyReader | undefined;
    try {
      while (!closed && myGeneration === generation) {
        if (atEnd(bufferEnd)) {
          pumpEnded = true;
          settleWaiters();
          return;
        }
        if (reader === undefined) {
          requestController = new AbortController();
          try {
            const opened = await opener.open(bufferEnd, requestController.signal);
            if (myGeneration !== generation) {
              void opened.body.cancel().catch(() => {});
              return;
            }
            reader = openBodyReader(opened.body);
            if (opened.totalBytes !== undefined) {
              if (sizeBytes >= 0 && sizeBytes !== opened.totalBytes) {
                throw new NexStreamError(
                  NexStreamErrorCode.Upstream,
                  `${opener.label} changed size during the transfer (${sizeBytes} → ${opened.totalBytes} bytes): restart the job with a fresh link`,
                );
              }
              sizeBytes = opened.totalBytes;
            }
          } catch (error) {
            if (myGeneration !== generation || closed) return;
            if (!opener.resumable || !isRetryable(error) || failures >= options.maxResumes) throw error;
            failures++;
            await sleep(options.resumeDelayMs * 2 ** (failures - 1));
            continue;
          }
        }
        if (bufferEnd - consumerPosition >= readAheadBytes() && waiters.length === 0) {
          await new Promise<void>((resolve) => {
            wakePump = resolve;
          });
          continue;
        }
        // BYOB: an empty tail gets a whole (reused) block to read into, with no copy of ours; a part-filled
        // tail is topped up through the landing buffer (a read may not return more than fits).
        const tail = blocks.at(-1);
        const room = tail === undefined ? 0 : tail.data.length - tail.filled;
        const target = reader.byob && room === 0 ? (pool.pop() ?? new Uint8Array(blockBytes)) : undefined;
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read(target, room);
        } catch (error) {
          if (myGeneration !== generation || closed) return;
          reader = undefined;
          if (!opener.resumable || failures >= options.maxResumes) {
            throw new NexStreamError(
              NexStreamErrorCode.Upstream,
              `${opener.label}: the connection broke at byte ${bufferEnd} and could not be resumed`,
              { cause: error },
            );
          }
          failures++;
          resumes++;
          await sleep(options.resumeDelayMs * 2 ** (failures - 1));
          continue;
        }
        if (myGeneration !== generation) return;
        if (result.done) {
          reader = undefined;
          if (sizeBytes < 0 || bufferEnd >= sizeBytes) {
            if (sizeBytes < 0) sizeBytes = bufferEnd;
            pumpEnded = true;
            settleWaiters();
            return;
          }
          // The body ended early (a dropped connection the fetch did not report as an error): resume.
          if (!opener.resumable || failures >= options.maxResumes) {
            throw new NexStreamError(
              NexStreamErrorCode.Upstream,
              `${opener.label} ended at byte ${bufferEnd} of ${sizeBytes}: the input is truncated`,
            );
          }
          failures++;
          resumes++;
          await sleep(options.resumeDelayMs * 2 ** (failures - 1));
          continue;
        }
        const value = result.value;
        if (value.length === 0) continue;
        failures = 0;
        bytesIn += value.length;
        if (reader.byob && room === 0) {
          blocks.push({
            data: new Uint8Array(value.buffer as ArrayBuffer),
            start: bufferEnd,
            filled: value.length,
          });
          bufferEnd += value.length;
        } else {
          append(value);
        }
        options.onBytes?.();
        dropBehind();
        settleWaiters();
      }
    } catch (error) {
      if (myGeneration === generation && !closed) fail(error);
    } finally {
      if (reader !== undefined) void reader.cancel().catch(() => {});
    }
  }

  const inSide = (position: number) =>
    side !== undefined && position >= side.start && position < side.start + side.data.length;

  /**
   * Serves a read the transfer cannot reach (far ahead, or behind what it kept) with a separate, bounded
   * request, leaving the transfer and its buffer alone: the demuxer typically jumps to an index at the
   * end of an MP4 and then comes back. Near the end the request takes the whole tail.
   */
  async function readSide(position: number, copy: boolean): Promise<Uint8Array> {
    const end =
      sizeBytes - position <= tailBytes
        ? sizeBytes
        : Math.min(sizeBytes, position + Math.max(windowBytes, minimumSideBytes));
    let failures = 0;
    for (;;) {
      sideController?.abort();
      const controller = new AbortController();
      sideController = controller;
      try {
        const opened = await opener.open(position, controller.signal, end);
        const reader = openBodyReader(opened.body, Math.min(landingBytes, end - position));
        const data = new Uint8Array(end - position);
        let filled = 0;
        while (filled < data.length) {
          const result = await reader.read();
          if (result.done) break;
          const take = Math.min(result.value.length, data.length - filled);
          data.set(result.value.subarray(0, take), filled);
          filled += take;
        }
        if (filled < data.length) {
          void reader.cancel().catch(() => {});
          throw new NexStreamError(
            NexStreamErrorCode.Upstream,
            `${opener.label}: the request for bytes ${position}–${end - 1} ended after ${filled} bytes`,
            { retryable: true },
          );
        }
        void reader.cancel().catch(() => {});
        if (closed) throw failure;
        side = { start: position, data };
        const view = data.subarray(0, copy ? windowBytes : data.length);
        return copy ? view.slice() : view;
      } catch (error) {
        if (closed) throw failure ?? error;
        if (!isRetryable(error) || failures >= options.maxResumes) throw error;
        failures++;
        resumes++;
        await sleep(options.resumeDelayMs * 2 ** (failures - 1));
      }
    }
  }

  function moveConsumer(position: number) {
    consumerPosition = position;
    dropBehind();
    if (wakePump !== undefined) {
      const wake = wakePump;
      wakePump = undefined;
      wake();
    }
  }

  return {
    get sizeBytes() {
      return sizeBytes;
    },
    get bytesIn() {
      return bytesIn;
    },
    get resumes() {
      return resumes;
    },
    get error() {
      return closed ? undefined : failure;
    },
    async start() {
      void pump(generation);
      const head = await this.read(0, minimumHandOverBytes);
      if (sizeBytes < 0) {
        throw new NexStreamError(
          NexStreamErrorCode.InvalidInput,
          `${opener.label}: the size is unknown (no Content-Range or Content-Length): pass sizeBytes with the input`,
        );
      }
      return head;
    },
    peek(position) {
      if (failure !== undefined) return undefined;
      if (atEnd(position)) return undefined;
      if (available(position) === 0) {
        return inSide(position) ? side!.data.subarray(position - side!.start) : undefined;
      }
      moveConsumer(position);
      return viewAt(position);
    },
    read(position, minimumBytes) {
      if (failure !== undefined) return Promise.reject(failure);
      if (atEnd(position)) return Promise.resolve(new Uint8Array(0));
      const copy = minimumBytes !== undefined;
      const minimum = minimumBytes ?? windowBytes;
      const reachable = position >= bufferStart && position <= bufferEnd + readAheadBytes();
      if (!reachable && inSide(position)) {
        const view = side!.data.subarray(position - side!.start);
        return Promise.resolve(copy ? view.slice(0, windowBytes) : view);
      }
      if (!reachable && opener.resumable && sizeBytes >= 0) {
        // Sequential reads past the previous side request mean the demuxer moved for good: the
        // transfer follows it (below). Anything else is a visit, served on the side.
        const continuesSide = side !== undefined && position === side.start + side.data.length;
        if (!continuesSide) {
          return readSide(position, copy).catch((error: unknown) => {
            fail(error);
            throw error;
          });
        }
      }
      moveConsumer(position);
      if (enough(position, minimum)) {
        return Promise.resolve(copy ? slice(position, windowBytes) : viewAt(position));
      }
      if (!reachable) {
        if (!opener.resumable) {
          return Promise.reject(
            new NexStreamError(
              NexStreamErrorCode.UnsupportedMedia,
              `${opener.label}: the demuxer needs byte ${position} but a stream input only reads forward (the buffer holds ${bufferStart}–${bufferEnd}): pass a URL, or a faststart MP4 / a WebM`,
            ),
          );
        }
        restartAt(position);
      }
      return new Promise<Uint8Array>((resolve, reject) => {
        waiters.push({ position, minimum, copy, resolve, reject });
        settleWaiters();
        if (wakePump !== undefined) {
          const wake = wakePump;
          wakePump = undefined;
          wake();
        }
      });
    },
    setWindowBytes(bytes) {
      windowBytes = Math.max(minimumHandOverBytes, Math.floor(bytes));
    },
    close(reason) {
      if (closed) return;
      closed = true;
      generation++;
      requestController?.abort();
      sideController?.abort();
      side = undefined;
      wakePump?.();
      fail(
        reason ??
          new NexStreamError(
            NexStreamErrorCode.Aborted,
            `${opener.label}: the input was closed before the job finished`,
          ),
      );
      blocks = [];
      pool = [];
    },
  };
}

function isRetryable(error: unknown): boolean {
  // An expired link stays expired: the app has to refresh it (the tunnel does), not us.
  if (NexStreamError.is(error)) return error.retryable && error.code !== NexStreamErrorCode.LinkExpired;
  // fetch() rejects with a TypeError on network failures (refused, reset).
  return error instanceof TypeError;
}

/** Options of {@link createUrlOpener}. @internal */
export interface UrlOpenerOptions {
  headers?: Record<string, string>;
  fetch?: typeof fetch;
}

/**
 * Opens a URL at a byte with `Range: bytes=<position>-`; after the first response, `If-Range` (strong
 * ETag or Last-Modified) makes sure a resumed transfer continues the same file. @internal
 */
export function createUrlOpener(url: string, options: UrlOpenerOptions = {}): ByteSourceOpener {
  const label = url.split('?')[0] ?? url;
  const fetchFunction = options.fetch ?? fetch;
  let validator: string | undefined;
  return {
    label,
    resumable: true,
    async open(position, signal, end) {
      const headers = new Headers(options.headers);
      headers.set('Range', `bytes=${position}-${end === undefined ? '' : end - 1}`);
      if (validator !== undefined && position > 0) headers.set('If-Range', validator);
      const response = await fetchFunction(url, { headers, signal, cache: 'no-store' });
      if (response.status === 206) {
        const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers.get('Content-Range') ?? '');
        if (match === null || Number(match[1]) !== position) {
          void response.body?.cancel().catch(() => {});
          throw new NexStreamError(
            NexStreamErrorCode.Upstream,
            `${label}: asked for bytes from ${position}, got Content-Range "${response.headers.get('Content-Range')}"`,
          );
        }
        remember(response);
        return {
          body: response.body!,
          ...(match[3] === '*' ? {} : { totalBytes: Number(match[3]) }),
        };
      }
      if (response.status === 200) {
        if (position > 0) {
          void response.body?.cancel().catch(() => {});
          throw new NexStreamError(
            NexStreamErrorCode.Upstream,
            validator === undefined
              ? `${label}: the server ignores Range requests, so the input cannot be resumed or seeked: serve it with Accept-Ranges`
              : `${label}: the file changed on the server during the transfer (If-Range failed): restart the job`,
          );
        }
        remember(response);
        const length = response.headers.get('Content-Length');
        return {
          body: response.body!,
          ...(length === null ? {} : { totalBytes: Number(length) }),
        };
      }
      void response.body?.cancel().catch(() => {});
      if (response.status === 416) {
        throw new NexStreamError(
          NexStreamErrorCode.RangeNotSatisfiable,
          `${label}: byte ${position} is past the end`,
        );
      }
      if (response.status === 403 || response.status === 410) {
        throw new NexStreamError(
          NexStreamErrorCode.LinkExpired,
          `${label}: the origin answered ${response.status}; the link expired or is not allowed: refresh it and retry`,
          { details: { status: response.status } },
        );
      }
      throw new NexStreamError(
        NexStreamErrorCode.Upstream,
        `${label}: the origin answered ${response.status}`,
        {
          retryable: response.status >= 500 || response.status === 429,
          details: { status: response.status },
        },
      );
    },
  };

  function remember(response: Response) {
    if (validator !== undefined) return;
    const etag = response.headers.get('ETag');
    if (etag !== null && !etag.startsWith('W/')) validator = etag;
    else validator = response.headers.get('Last-Modified') ?? undefined;
  }
}

/** Reads a `ReadableStream` input forward only (it cannot be reopened). @internal */
export function createStreamOpener(stream: ReadableStream<Uint8Array>, label: string): ByteSourceOpener {
  let used = false;
  return {
    label,
    resumable: false,
    async open(position) {
      if (used || position !== 0) {
        throw new NexStreamError(
          NexStreamErrorCode.UnsupportedMedia,
          `${label}: a stream input cannot be reopened at byte ${position}: pass a URL to get resumable, seekable reads`,
        );
      }
      used = true;
      return { body: stream };
    },
  };
}

/** Reads a Blob or File (a local file the user picked): seekable, and sized up front. @internal */
export function createBlobOpener(blob: Blob, label: string): ByteSourceOpener {
  return {
    label,
    resumable: true,
    async open(position, _signal, end) {
      return { body: blob.slice(position, end).stream(), totalBytes: blob.size };
    },
  };
}
