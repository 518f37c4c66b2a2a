import { NexStreamError, NexStreamErrorCode, type SerializedError } from '@nexstream/core';
import {
  type LibavVariant,
  type MuxContainer,
  type MuxEngine,
  type MuxWriter,
  muxContainers,
} from './container.js';
import { type MuxMetadata, toWorkerMetadata } from './metadata.js';
import type {
  MuxProgress,
  MuxWarning,
  WorkerInput,
  WorkerReply,
  WorkerRequest,
  WorkerStartMessage,
} from './protocol.js';

/**
 * One input of a mux job: a URL (fetched with `Range` requests and resumed at the exact byte after a
 * dropped connection), a `Blob`/`File` (a local file: read in slices, never loaded whole), or a stream of the file's bytes (read forward once: it cannot be resumed, and the
 * demuxer must not need to seek back further than the 1 MiB it keeps, so give faststart MP4s or WebMs).
 */
export type MuxInput =
  | string
  | URL
  | Blob
  | ReadableStream<Uint8Array>
  | {
      /** The file's URL (absolute, or relative to the page). */
      url: string | URL;
      /** Extra request headers (an `Authorization` for the tunnel, say). */
      headers?: Record<string, string>;
      /** The file size in bytes, when known (saves nothing for URLs: the first response tells it). */
      sizeBytes?: number;
    }
  | {
      /** The file's bytes, in order. */
      stream: ReadableStream<Uint8Array>;
      /** The file size in bytes. Required: libav.js's block reader needs it up front. */
      sizeBytes: number;
    };

/** Options of {@link mux}. */
export interface MuxOptions {
  /** The file to take the video stream from (the first video stream in it). */
  video?: MuxInput;
  /** The file to take the audio stream from (the first audio stream in it). */
  audio?: MuxInput;
  /**
   * One file to copy as it is — its first video and first audio stream, those it has — instead of
   * `video`/`audio`: a progressive MP4 (`container: 'mp4'`) or a WebM. This is how a direct download
   * gets tags: a remux copy of the one file plus `metadata`. An audio-only file (M4A) can equally be
   * given as `audio`. Not together with `video` or `audio`.
   */
  input?: MuxInput;
  /**
   * The output container. `mp4` is fragmented (`frag_keyframe+empty_moov+default_base_moof`) because the
   * output is a stream; VP9 is refused for `mp4` (use `webm` or `mkv`). `m4a` is the same for audio only
   * (AAC or ALAC; no video input).
   */
  container: MuxContainer;
  /**
   * Tags and cover art to write into the file (see {@link MuxMetadata} for what goes where). A cover
   * that cannot be used never fails the job: the file gets the tags without it and `onWarning` is
   * called with `cover-skipped`.
   */
  metadata?: MuxMetadata;
  /**
   * How long the Worker waits for the cover image, in milliseconds, before writing the file without it
   * (the cover goes into the file's header, so the output waits for it). Default 10 000.
   */
  coverTimeoutMs?: number;
  /** Called for each part the job left out (a cover it could not use); the job goes on. */
  onWarning?: (warning: MuxWarning) => void;
  /** Cancels the job at any point: the Worker is terminated, fetches stop, the stream errors with `NXS_ABORTED`. */
  signal?: AbortSignal;
  /** Called with progress (bytes in, bytes out, phase); at most every `progressIntervalMs` and on each phase change. */
  onProgress?: (progress: MuxProgress) => void;
  /** Called once when the job fails (also reported as the output stream's error). */
  onError?: (error: NexStreamError) => void;
  /**
   * The URL of this package's `./worker` script (`dist/browser/worker.js`). Default: resolved next to this
   * module, which works when a bundler copies it (`new URL(…, import.meta.url)`).
   */
  workerUrl?: string | URL;
  /**
   * The folder (URL) that serves the libav.js files listed in `libavAssets`, flat. Default: `./libav/`
   * relative to the page. Kept separate from the bundle on purpose (LGPL-2.1: users may replace them).
   */
  libavBaseUrl?: string | URL;
  /**
   * Which writer does the job. Default `auto`: MP4/M4A output from MP4/M4A inputs goes to our own MP4
   * writer (`mp4`: no libav.js download, each sample copied once; decision 0095), everything else to
   * libav.js. `mp4` fails instead of falling back; `libav` always uses libav.js.
   */
  writer?: MuxWriter;
  /**
   * The old name of `writer` (`direct` = `mp4`).
   *
   * @deprecated Use `writer`.
   */
  engine?: MuxEngine;
  /** Force a libav.js variant instead of the automatic choice (`webcodecs` when MP4 is involved, else `webm`). */
  variant?: LibavVariant;
  /**
   * Media time the demuxer reads per step, in seconds; the byte limit follows each input's bitrate (at
   * least 32 KiB). Reads sized in bytes instead break interleaving (decision 0074). Default 1.
   */
  windowSeconds?: number;
  /** Consecutive reconnects allowed per input after a drop before the job fails. Default 5. */
  maxResumes?: number;
  /** Wait before the first reconnect (doubled each time), in milliseconds. Default 250. */
  resumeDelayMs?: number;
  /** Minimum time between progress reports, in milliseconds. Default 250. */
  progressIntervalMs?: number;
  /** Bytes of output the Worker may run ahead of the consumer (transferred, not copied). Default 16 MiB. */
  highWaterMarkBytes?: number;
}

/** The default `workerUrl`: the bundled worker next to the built entry. */
function defaultWorkerUrl(): URL {
  return new URL('./browser/worker.js', import.meta.url);
}

/**
 * Stream-copies a video stream and an audio stream into one file, in the browser, in a dedicated Worker:
 * MP4 output from MP4/M4A inputs is written by the direct MP4 writer (each sample copied once), other
 * jobs by libav.js (in its `noworker` mode); inputs are fetched in bitrate-sized windows, and the
 * finished file comes out as a stream — hand it to {@link saveStream} so it never sits in memory.
 *
 * @returns The output file's bytes. It errors with a `NexStreamError` when the job fails: `NXS_UNSUPPORTED_MEDIA`
 * (corrupt input, codec that does not fit the container), `NXS_UPSTREAM` / `NXS_LINK_EXPIRED` (input
 * fetches), `NXS_DEPENDENCY_MISSING` (libav.js files not served), `NXS_ABORTED` (cancelled).
 * Cancelling the returned stream cancels the job.
 *
 * With `metadata`, the file carries title, artist, album, date and cover art; with a single `audio`
 * (container `m4a`) or `input`, a direct download is copied through the same path to get them.
 *
 * @example
 * ```ts
 * const file = mux({ video: videoUrl, audio: audioUrl, container: 'mp4', libavBaseUrl: '/libav/',
 *   metadata: { title: 'Halo', artist: ['Beyoncé'], album: 'I Am… Sasha Fierce', year: '2008' } });
 * const saved = await saveStream(file, { filename: 'clip.mp4', mimeType: 'video/mp4' });
 * console.log(`saved via ${saved.method}`);
 * ```
 */
export function mux(options: MuxOptions): ReadableStream<Uint8Array> {
  const inputs: Array<{ role: WorkerInput['role']; input: MuxInput }> = [];
  if (options.video !== undefined) inputs.push({ role: 'video', input: options.video });
  if (options.audio !== undefined) inputs.push({ role: 'audio', input: options.audio });
  if (options.input !== undefined) {
    if (inputs.length > 0) {
      throw new NexStreamError(
        NexStreamErrorCode.InvalidInput,
        'mux(): give either input (one file copied whole) or video/audio, not both',
      );
    }
    inputs.push({ role: 'file', input: options.input });
  }
  if (inputs.length === 0) {
    throw new NexStreamError(
      NexStreamErrorCode.InvalidInput,
      'mux(): give at least one of video or audio (or input)',
    );
  }
  if (!muxContainers.includes(options.container)) {
    throw new NexStreamError(
      NexStreamErrorCode.InvalidInput,
      `mux(): container must be ${muxContainers.map((name) => `"${name}"`).join(', ')}, not ${JSON.stringify(options.container)}`,
    );
  }
  if (options.container === 'm4a' && options.video !== undefined) {
    throw new NexStreamError(
      NexStreamErrorCode.InvalidInput,
      'mux(): container "m4a" holds audio only: leave video out, or use "mp4"',
    );
  }
  if (options.writer !== undefined && !['auto', 'mp4', 'libav'].includes(options.writer)) {
    throw new NexStreamError(
      NexStreamErrorCode.InvalidInput,
      `mux(): writer must be "auto", "mp4" or "libav", not ${JSON.stringify(options.writer)}`,
    );
  }
  if (options.engine !== undefined && !['auto', 'direct', 'libav'].includes(options.engine)) {
    throw new NexStreamError(
      NexStreamErrorCode.InvalidInput,
      `mux(): engine (now "writer") must be "auto", "direct" or "libav", not ${JSON.stringify(options.engine)}`,
    );
  }
  const writer: MuxWriter =
    options.writer ?? (options.engine === 'direct' ? 'mp4' : (options.engine ?? 'auto'));
  const base = typeof location === 'undefined' ? undefined : location.href;
  const metadata = options.metadata === undefined ? undefined : toWorkerMetadata(options.metadata, base);
  const transfer: Transferable[] = [];
  const workerInputs = inputs.map(({ role, input }) => toWorkerInput(role, input, base, transfer));
  const libavBaseUrl = new URL(options.libavBaseUrl ?? './libav/', base).href.replace(/\/+$/, '');

  let worker: Worker | undefined;
  let finished = false;
  let controllerRef: ReadableStreamDefaultController<Uint8Array> | undefined;
  // Output chunks posted (transferred) by the Worker, waiting for the consumer; each one taken is
  // acknowledged so the Worker keeps at most maxBytesInFlight ahead.
  const queue: Uint8Array[] = [];
  let ended = false;
  let wakeReader: (() => void) | undefined;
  const wake = () => {
    const resolve = wakeReader;
    wakeReader = undefined;
    resolve?.();
  };

  const stop = (error: NexStreamError | undefined) => {
    if (finished) return;
    finished = true;
    worker?.terminate();
    worker = undefined;
    queue.length = 0;
    options.signal?.removeEventListener('abort', onAbort);
    if (error !== undefined) {
      try {
        controllerRef?.error(error);
      } catch {
        // Already closed or errored.
      }
      options.onError?.(error);
    }
    wake();
  };
  const onAbort = () =>
    stop(
      new NexStreamError(NexStreamErrorCode.Aborted, 'the mux job was cancelled', {
        cause: options.signal?.reason,
      }),
    );

  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        controllerRef = controller;
        if (options.signal?.aborted) {
          onAbort();
          return;
        }
        options.signal?.addEventListener('abort', onAbort, { once: true });
        try {
          worker = new Worker(options.workerUrl ?? defaultWorkerUrl(), {
            type: 'module',
            name: 'nexstream-mux',
          });
        } catch (error) {
          stop(
            new NexStreamError(
              NexStreamErrorCode.DependencyMissing,
              `the mux Worker could not be started from ${String(options.workerUrl ?? defaultWorkerUrl())}: serve @nexstream/edge-muxer's dist/browser/worker.js and pass its URL as workerUrl`,
              { cause: error },
            ),
          );
          return;
        }
        worker.addEventListener('error', (event) => {
          stop(
            new NexStreamError(
              NexStreamErrorCode.DependencyMissing,
              `the mux Worker failed to load or crashed (${event.message || 'no message'}): check workerUrl`,
            ),
          );
        });
        worker.addEventListener('message', (event: MessageEvent<WorkerReply>) => {
          if (finished) return;
          const reply = event.data;
          switch (reply.type) {
            case 'data':
              queue.push(reply.chunk);
              wake();
              return;
            case 'end':
              ended = true;
              wake();
              return;
            case 'progress':
            case 'done':
              options.onProgress?.(reply.progress);
              return;
            case 'warning':
              options.onWarning?.(reply.warning);
              return;
            case 'error':
              stop(fromSerialized(reply.error));
              return;
          }
        });
        const start: WorkerStartMessage = {
          type: 'start',
          inputs: workerInputs,
          container: options.container,
          libavBaseUrl,
          writer,
          ...(options.variant === undefined ? {} : { variant: options.variant }),
          maxBytesInFlight: options.highWaterMarkBytes ?? 16 * 1024 * 1024,
          windowSeconds: options.windowSeconds ?? 1,
          maxResumes: options.maxResumes ?? 5,
          resumeDelayMs: options.resumeDelayMs ?? 250,
          progressIntervalMs: options.progressIntervalMs ?? 250,
          ...(metadata === undefined ? {} : { metadata }),
          coverTimeoutMs: options.coverTimeoutMs ?? 10_000,
        };
        worker.postMessage(start, transfer);
      },
      async pull(controller) {
        while (queue.length === 0 && !ended && !finished) {
          await new Promise<void>((resolve) => {
            wakeReader = resolve;
          });
        }
        if (finished) return;
        const chunk = queue.shift();
        if (chunk !== undefined) {
          controller.enqueue(chunk);
          worker?.postMessage({ type: 'ack', bytes: chunk.byteLength } satisfies WorkerRequest);
          return;
        }
        // Every chunk was taken and the Worker reported the end: its job is over.
        finished = true;
        worker?.terminate();
        worker = undefined;
        options.signal?.removeEventListener('abort', onAbort);
        controller.close();
      },
      cancel(reason) {
        stop(
          new NexStreamError(NexStreamErrorCode.Aborted, 'the mux output was cancelled', { cause: reason }),
        );
      },
    },
    { highWaterMark: 0 },
  );
}

function toWorkerInput(
  role: WorkerInput['role'],
  input: MuxInput,
  base: string | undefined,
  transfer: Transferable[],
): WorkerInput {
  if (typeof input === 'string' || input instanceof URL) return { role, url: new URL(input, base).href };
  if (input instanceof Blob) return { role, blob: input, sizeBytes: input.size };
  if (input instanceof ReadableStream) {
    transfer.push(input);
    return { role, stream: input };
  }
  if ('stream' in input) {
    transfer.push(input.stream);
    return { role, stream: input.stream, sizeBytes: input.sizeBytes };
  }
  return {
    role,
    url: new URL(input.url, base).href,
    ...(input.headers === undefined ? {} : { headers: input.headers }),
    ...(input.sizeBytes === undefined ? {} : { sizeBytes: input.sizeBytes }),
  };
}

function fromSerialized(error: SerializedError): NexStreamError {
  return new NexStreamError(error.code, error.message, {
    retryable: error.retryable,
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
    ...(error.details === undefined ? {} : { details: error.details }),
  });
}
