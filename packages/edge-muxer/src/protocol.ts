import type { SerializedError } from '@nexstream/core';
import type { LibavVariant, MuxContainer, MuxWriter } from './container.js';
import type { WorkerMetadata } from './metadata.js';

/**
 * What a {@link MuxWarning} is about. Warnings never fail the job; the file is written without the part
 * named:
 * - `cover-skipped`: the cover could not be fetched (network, status, timeout), was over its size limit,
 *   was not a JPEG or PNG, or the container takes no cover (`webm`); the tags are written without it.
 * - `tags-skipped`: the output's header could not take the tags (an MP4 without its `moov` first); the
 *   file is written untagged.
 */
export type MuxWarningCode = 'cover-skipped' | 'tags-skipped';

/** Something the job left out, reported through `onWarning` (the download goes on). */
export interface MuxWarning {
  /** What was left out. */
  code: MuxWarningCode;
  /** Why, in words for a log or a details view. */
  message: string;
}

/** Where a job is. `loading` (libav.js), `probing` (reading the inputs' headers), `muxing`, `finishing` (trailer), `done`. */
export type MuxPhase = 'loading' | 'probing' | 'muxing' | 'finishing' | 'done';

/** A progress report of a mux job; sent at most every `progressIntervalMs`, and once per phase change. */
export interface MuxProgress {
  /** The phase the job is in. */
  phase: MuxPhase;
  /** Input bytes received from the network or the input streams so far (retries included once). */
  bytesIn: number;
  /** Total input bytes, when every input's size is known. */
  totalBytesIn?: number;
  /** Output bytes handed to the output stream so far. */
  bytesOut: number;
  /** The writer doing the job, once chosen: our own MP4 writer or libav.js (see `MuxWriter`). */
  writer?: 'mp4' | 'libav';
  /** The libav.js variant in use, once chosen (libav.js jobs only). */
  variant?: LibavVariant;
  /** The WebAssembly memory size now, in bytes (it only grows: this is the peak). */
  wasmHeapBytes?: number;
  /** How many times an input connection was resumed after a drop. */
  resumes: number;
  /**
   * On the final `done` report only: where the Worker's time went (milliseconds, and a few counts), for
   * performance diagnostics. The keys may change between versions; do not build on them.
   */
  timingsMs?: Record<string, number>;
}

/** One input as the worker receives it. @internal */
export interface WorkerInput {
  /** `file`: one input whose first video and first audio streams are both copied (those it has). */
  role: 'video' | 'audio' | 'file';
  url?: string;
  headers?: Record<string, string>;
  stream?: ReadableStream<Uint8Array>;
  blob?: Blob;
  sizeBytes?: number;
}

/** The message that starts a job in the worker. @internal */
export interface WorkerStartMessage {
  type: 'start';
  inputs: WorkerInput[];
  container: MuxContainer;
  libavBaseUrl: string;
  writer: MuxWriter;
  variant?: LibavVariant;
  /** Bytes the worker may post ahead of the page's acknowledgements (output backpressure). */
  maxBytesInFlight: number;
  windowSeconds: number;
  maxResumes: number;
  resumeDelayMs: number;
  progressIntervalMs: number;
  /** Tags (and the cover to fetch) to write into the output. */
  metadata?: WorkerMetadata;
  /** How long the cover fetch may take before the job goes on without it, in milliseconds. */
  coverTimeoutMs: number;
}

/** Page → worker. `ack`: the page's consumer took `bytes` more of the output. @internal */
export type WorkerRequest = WorkerStartMessage | { type: 'cancel' } | { type: 'ack'; bytes: number };

/** Worker → page. @internal */
export type WorkerReply =
  | { type: 'data'; chunk: Uint8Array }
  | { type: 'end' }
  | { type: 'progress'; progress: MuxProgress }
  | { type: 'done'; progress: MuxProgress }
  | { type: 'warning'; warning: MuxWarning }
  | { type: 'error'; error: SerializedError };

/** The path of the download URLs the Service Worker answers, below its scope. @internal */
export const downloadPathSegment = 'nexstream-download';

/** Page → Service Worker. @internal */
export type ServiceWorkerRequest =
  | {
      type: 'nexstream-download-register';
      id: string;
      filename: string;
      mimeType: string;
      sizeBytes?: number;
      stream: ReadableStream<Uint8Array>;
      timeoutMs: number;
    }
  | { type: 'nexstream-download-ping'; id: string }
  | { type: 'nexstream-download-cancel'; id: string }
  | { type: 'nexstream-download-list' };

/** Service Worker → page, on the MessagePort passed with the request. @internal */
export type ServiceWorkerReply =
  | { type: 'registered'; url: string }
  | { type: 'started' }
  | { type: 'progress'; bytes: number }
  | { type: 'complete'; bytes: number }
  | { type: 'cancelled'; reason: string }
  | { type: 'failed'; message: string }
  | { type: 'list'; entries: ServiceWorkerDownloadEntry[] }
  | { type: 'pong' };

/** A download the Service Worker holds, as {@link listServiceWorkerDownloads} reports it. */
export interface ServiceWorkerDownloadEntry {
  /** The one-off id in the download URL. */
  id: string;
  /** The file name offered to the download manager. */
  filename: string;
  /** `pending` until the browser fetched the URL, then `streaming`. */
  state: 'pending' | 'streaming';
  /** Bytes streamed to the download manager so far. */
  bytes: number;
}
