import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { NexStreamError, NexStreamErrorCode, toNexStreamError } from '@nexstream/core';
import { isAllowedContainer, refusedContainerReason, resolveAllowedContainers } from './media-input.js';
import type { PlaylistItem } from './playlist.js';
import { type Prober, unsupportedMedia } from './prober.js';

/** Options for {@link createIngest}. */
export interface IngestOptions {
  /** Where accepted files are stored (created when missing). */
  mediaDirectory: string;
  /** Where uploads are written while they arrive; must be on the same file system as `mediaDirectory`. */
  tempDirectory: string;
  /** Checks each upload. */
  prober: Prober;
  /** Largest accepted upload, in bytes. Default 2 GiB. */
  maxBytes?: number;
  /**
   * Demuxers a probe may report (checked again after any {@link Prober}, custom ones included). Default
   * {@link defaultAllowedContainers}.
   */
  allowedContainers?: readonly string[];
}

/** Per-upload options. */
export interface IngestFileOptions {
  /** The name the client gave (display only: sanitized, never used as a path). */
  originalName?: string;
  /** Aborts the upload and removes what was written. */
  signal?: AbortSignal;
}

/** Turns upload streams into stored, probed playlist items. */
export interface Ingest {
  /**
   * Streams `source` to a temp file (refusing more than `maxBytes`), probes it, and moves it under a
   * generated name into the media folder. Nothing is left on disk when it fails.
   *
   * Error messages name the upload by its (sanitized) original name and never show a temp path or a
   * program's stderr (that goes into `cause`): `"clip.mp4" is not a video this server can play: it is an
   * HLS playlist, not a media file`.
   *
   * @throws NexStreamError `NXS_TOO_LARGE` over the limit, `NXS_UNSUPPORTED_MEDIA` for empty or unplayable
   *   files (`details.reason`: see {@link UnsupportedMediaReason}), `NXS_ABORTED` when the signal fired,
   *   `NXS_INVALID_INPUT` when the source stream failed.
   */
  ingest(source: Readable | AsyncIterable<Uint8Array>, options?: IngestFileOptions): Promise<PlaylistItem>;
  /**
   * Removes the `upload-*.part` files a crash (or a SIGKILL) left in the temp folder. Call it before the
   * first ingest: it would also remove the temp files of uploads running at the same time. Resolves with the
   * number of files removed.
   */
  sweep(): Promise<number>;
}

/** Default upload limit: 2 GiB. */
export const defaultMaxUploadBytes = 2 * 1024 ** 3;

/** Creates an {@link Ingest}. */
export function createIngest(options: IngestOptions): Ingest {
  const maxBytes = options.maxBytes ?? defaultMaxUploadBytes;
  const containers = resolveAllowedContainers(options.allowedContainers);
  return {
    sweep: () => sweepTempFiles(options.tempDirectory),
    async ingest(source, fileOptions = {}) {
      await mkdir(options.tempDirectory, { recursive: true });
      await mkdir(options.mediaDirectory, { recursive: true });
      const id = randomUUID();
      const temp = join(options.tempDirectory, `upload-${id}.part`);
      let size = 0;
      let stored: string | undefined;
      try {
        size = await writeLimited(
          source instanceof Readable ? source : Readable.from(source),
          temp,
          maxBytes,
          fileOptions.signal,
        );
        if (size === 0) throw unsupportedMedia('empty', 'the file is empty (0 bytes)');
        const probe = await options.prober.probe(
          temp,
          fileOptions.signal ? { signal: fileOptions.signal } : {},
        );
        if (!isAllowedContainer(probe.container, containers)) {
          throw unsupportedMedia('container-not-allowed', refusedContainerReason(probe.container), {
            container: probe.container,
          });
        }
        const filename = `${id}.${extensionFor(probe.container)}`;
        stored = join(options.mediaDirectory, filename);
        await rename(temp, stored);
        const sizeBytes = (await stat(stored)).size;
        return {
          id,
          filename,
          originalName: sanitizeOriginalName(fileOptions.originalName) || filename,
          sizeBytes,
          durationMs: probe.durationMs,
          probe,
          addedAt: new Date().toISOString(),
        };
      } catch (error) {
        await rm(temp, { force: true });
        if (stored) await rm(stored, { force: true });
        throw uploadError(error, fileOptions.originalName);
      }
    },
  };
}

/**
 * Copies `source` to a new file at `path` with backpressure, refusing more than `maxBytes`. On overflow or
 * abort the source is not destroyed but drained, so an HTTP layer can still answer the client.
 */
function writeLimited(
  source: Readable,
  path: string,
  maxBytes: number,
  signal: AbortSignal | undefined,
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const file = createWriteStream(path, { flags: 'wx' });
    let size = 0;
    let settled = false;
    const cleanup = () => {
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('error', onError);
      file.off('drain', onDrain);
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      cleanup();
      source.resume();
      file.destroy();
      file.once('close', () => reject(error));
      if (file.closed) reject(error);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        fail(
          new NexStreamError(
            NexStreamErrorCode.TooLarge,
            `upload is larger than the limit of ${maxBytes} bytes`,
            {
              retryable: false,
              details: { maxBytes },
            },
          ),
        );
        return;
      }
      if (!file.write(chunk)) source.pause();
    };
    const onDrain = () => source.resume();
    const onEnd = () => {
      if (settled) return;
      settled = true;
      cleanup();
      file.end(() => resolve(size));
    };
    const onError = (error: unknown) => fail(error);
    const onSourceError = (error: unknown) =>
      fail(
        new NexStreamError(
          NexStreamErrorCode.InvalidInput,
          `reading the upload failed (${describeSystemError(error)})`,
          { cause: error },
        ),
      );
    const onAbort = () =>
      fail(new NexStreamError(NexStreamErrorCode.Aborted, 'upload aborted', { cause: signal?.reason }));
    if (signal?.aborted) {
      onAbort();
      return;
    }
    // A source that failed before we got to it (for example a file stream whose open failed).
    if (source.errored || source.destroyed) {
      onSourceError(source.errored ?? new Error('the upload stream was closed before it was read'));
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    file.on('error', onError);
    file.on('drain', onDrain);
    source.on('data', onData);
    source.once('end', onEnd);
    source.once('error', onSourceError);
    source.resume();
  });
}

/**
 * Rewrites an ingest failure for the uploader: the message names the upload by its sanitized original name
 * and says why in plain words (`"clip.mp4" is not a video this server can play: the file is damaged or
 * truncated`); `code` and `details` stay, the original error becomes `cause`. System errors (disk full…)
 * become `NXS_INTERNAL` with their errno code only, never a path.
 */
export function uploadError(error: unknown, originalName: string | undefined): NexStreamError {
  const shown = sanitizeOriginalName(originalName);
  const label = shown ? `"${shown}"` : 'the upload';
  if (!NexStreamError.is(error)) {
    if (isAbortLike(error)) return toNexStreamError(error);
    return new NexStreamError(
      NexStreamErrorCode.Internal,
      `${label} could not be stored (${describeSystemError(error)})`,
      { cause: error },
    );
  }
  const rewrite = (message: string) =>
    new NexStreamError(error.code, message, {
      cause: error,
      retryable: error.retryable,
      ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
      ...(error.details === undefined ? {} : { details: error.details }),
    });
  switch (error.code) {
    case NexStreamErrorCode.UnsupportedMedia: {
      const explanation = (error.details as { explanation?: unknown } | undefined)?.explanation;
      return rewrite(
        `${label} is not a video this server can play: ${
          typeof explanation === 'string' ? explanation : 'it could not be read as a video'
        }`,
      );
    }
    case NexStreamErrorCode.TooLarge: {
      const limit = (error.details as { maxBytes?: unknown } | undefined)?.maxBytes;
      return rewrite(
        `${label} is larger than the upload limit${typeof limit === 'number' ? ` of ${limit} bytes` : ''}`,
      );
    }
    case NexStreamErrorCode.Aborted:
      return rewrite(`the upload of ${label} was aborted`);
    case NexStreamErrorCode.Timeout:
      return rewrite(`${label} could not be checked in time: ${error.message}`);
    case NexStreamErrorCode.InvalidInput:
      return rewrite(`${label}: ${error.message}`);
    default:
      return error;
  }
}

/**
 * Removes `upload-*.part` files from a temp folder (what a crash during an upload leaves); resolves with how
 * many were removed. A missing folder is fine.
 */
export async function sweepTempFiles(tempDirectory: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(tempDirectory);
  } catch {
    return 0;
  }
  const leftovers = names.filter((name) => /^upload-[A-Za-z0-9-]+\.part$/.test(name));
  await Promise.all(leftovers.map((name) => rm(join(tempDirectory, name), { force: true })));
  return leftovers.length;
}

function isAbortLike(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'AbortError' || name === 'TimeoutError';
}

/** An errno code (`ENOSPC`) or a short message: never the paths that Node puts in system error messages. */
function describeSystemError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code)) return code;
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/(?:[A-Za-z]:)?[\\/][^\s,'"]*/g, '…').slice(0, 200);
}

/** A file extension for an ffprobe container name (a hint for people; ffmpeg reads the content anyway). */
function extensionFor(container: string): string {
  if (container.includes('mp4') || container.includes('mov')) return 'mp4';
  if (container.includes('matroska') || container.includes('webm')) return 'mkv';
  if (container.includes('mpegts')) return 'ts';
  if (container.includes('avi')) return 'avi';
  if (container.includes('flv')) return 'flv';
  if (container.split(',').includes('mpeg')) return 'mpg';
  return 'bin';
}

/**
 * Makes a client-given file name safe to show and store as data: the last path segment only, no control
 * characters, at most 200 characters. It is never used to build a path.
 */
export function sanitizeOriginalName(name: string | undefined): string {
  if (!name) return '';
  const last = name.split(/[\\/]/).pop() ?? '';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  const cleaned = last.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return cleaned === '.' || cleaned === '..' ? '' : cleaned.slice(0, 200);
}
