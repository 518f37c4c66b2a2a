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
  /** The bytes buffered from `position` to the end of their chunk (a view, never a copy), if any. */
  peek(position: number): Uint8Array | undefined;
  /**
   * Resolves with bytes from `position` on (empty at the end of the file) once a window is buffered or
   * the file ends: a view of one chunk; with `minimumBytes`, a copy of up to a window once that many are.
   */
  read(position: number, minimumBytes?: number): Promise<Uint8Array>;
  /** How many bytes to hand over per read; the transfer runs ahead by twice this, at least 8 MiB. */
  setWindowBytes(windowBytes: number): void;
  /** Stops every request; pending reads reject with `reason`. */
  close(reason?: unknown): void;
}

/** An open connection to the input, positioned at a byte offset. @internal */
export interface OpenedBody {
  reader: ReadableStreamDefaultReader<Uint8Array>;
  /** The total file size, when this response told it. */
  totalBytes?: number;
}

/** How a {@link ByteSource} (re)connects: open the file at `position`. @internal */
export interface ByteSourceOpener {
  /** A name for messages (the URL without its query, or `stream input N`). */
  label: string;
  /** Whether a broken transfer may be reopened at the same byte (true for URLs). */
  resumable: boolean;
  open(position: number, signal: AbortSignal): Promise<OpenedBody>;
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

interface Waiter {
  position: number;
  /** Bytes wanted before answering (a full window, or less for the first bytes). */
  minimum: number;
  /** Answer with a copy of up to a window (for the head) rather than a view of one chunk. */
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
  let chunks: Uint8Array[] = [];
  let bufferStart = 0;
  let bufferEnd = 0;
  let consumerPosition = 0;
  let generation = 0;
  let requestController: AbortController | undefined;
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
    let chunkStart = bufferStart;
    let written = 0;
    for (const chunk of chunks) {
      const chunkEnd = chunkStart + chunk.length;
      if (chunkEnd > position && chunkStart < end) {
        const from = Math.max(position, chunkStart) - chunkStart;
        const to = Math.min(end, chunkEnd) - chunkStart;
        out.set(chunk.subarray(from, to), written);
        written += to - from;
      }
      chunkStart = chunkEnd;
      if (chunkStart >= end) break;
    }
    return out;
  }

  /**
   * The buffered bytes from `position` to the end of the chunk holding it, as a view (no copy: fetched
   * chunks are never written to). Reading chunk by chunk costs one cheap callback per chunk instead of a
   * copy of every byte.
   */
  function viewAt(position: number): Uint8Array {
    let chunkStart = bufferStart;
    for (const chunk of chunks) {
      const chunkEnd = chunkStart + chunk.length;
      if (position < chunkEnd) return chunk.subarray(position - chunkStart);
      chunkStart = chunkEnd;
    }
    return new Uint8Array(0);
  }

  function dropBehind() {
    const keepFrom = consumerPosition - keepBehindBytes;
    while (chunks.length > 1 && bufferStart + chunks[0]!.length <= keepFrom) {
      bufferStart += chunks[0]!.length;
      chunks.shift();
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
    chunks = [];
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
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
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
              void opened.reader.cancel().catch(() => {});
              return;
            }
            reader = opened.reader;
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
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read();
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
        chunks.push(value);
        bufferEnd += value.length;
        bytesIn += value.length;
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
      if (available(position) === 0) return undefined;
      moveConsumer(position);
      return viewAt(position);
    },
    read(position, minimumBytes) {
      if (failure !== undefined) return Promise.reject(failure);
      if (atEnd(position)) return Promise.resolve(new Uint8Array(0));
      moveConsumer(position);
      const copy = minimumBytes !== undefined;
      const minimum = minimumBytes ?? windowBytes;
      if (enough(position, minimum)) {
        return Promise.resolve(copy ? slice(position, windowBytes) : viewAt(position));
      }
      const reachable = position >= bufferStart && position <= bufferEnd + readAheadBytes();
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
      wakePump?.();
      fail(
        reason ??
          new NexStreamError(
            NexStreamErrorCode.Aborted,
            `${opener.label}: the input was closed before the job finished`,
          ),
      );
      chunks = [];
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
    async open(position, signal) {
      const headers = new Headers(options.headers);
      headers.set('Range', `bytes=${position}-`);
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
          reader: response.body!.getReader(),
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
          reader: response.body!.getReader(),
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
      return { reader: stream.getReader() };
    },
  };
}

/** Reads a Blob or File (a local file the user picked): seekable, and sized up front. @internal */
export function createBlobOpener(blob: Blob, label: string): ByteSourceOpener {
  return {
    label,
    resumable: true,
    async open(position) {
      return { reader: blob.slice(position).stream().getReader(), totalBytes: blob.size };
    },
  };
}
