import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { NexStreamError, NexStreamErrorCode, toNexStreamError } from '@nexstream/core';
import type { PlaylistItem } from './playlist.js';
import type { Prober } from './prober.js';

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
   * @throws NexStreamError `NXS_TOO_LARGE` over the limit, `NXS_UNSUPPORTED_MEDIA` for empty or unplayable
   *   files (with the probe's reason), `NXS_ABORTED` when the signal fired.
   */
  ingest(source: Readable | AsyncIterable<Uint8Array>, options?: IngestFileOptions): Promise<PlaylistItem>;
}

/** Default upload limit: 2 GiB. */
export const defaultMaxUploadBytes = 2 * 1024 ** 3;

/** Creates an {@link Ingest}. */
export function createIngest(options: IngestOptions): Ingest {
  const maxBytes = options.maxBytes ?? defaultMaxUploadBytes;
  return {
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
        if (size === 0) {
          throw new NexStreamError(
            NexStreamErrorCode.UnsupportedMedia,
            'not playable media: the upload is empty (0 bytes)',
            {
              retryable: false,
              details: { reason: 'empty' },
            },
          );
        }
        const probe = await options.prober.probe(
          temp,
          fileOptions.signal ? { signal: fileOptions.signal } : {},
        );
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
        throw toNexStreamError(error);
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
    const onAbort = () =>
      fail(new NexStreamError(NexStreamErrorCode.Aborted, 'upload aborted', { cause: signal?.reason }));
    if (signal?.aborted) {
      onAbort();
      return;
    }
    // A source that failed before we got to it (for example a file stream whose open failed).
    if (source.errored || source.destroyed) {
      fail(source.errored ?? new Error('the upload stream was closed before it was read'));
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    file.on('error', onError);
    file.on('drain', onDrain);
    source.on('data', onData);
    source.once('end', onEnd);
    source.once('error', onError);
    source.resume();
  });
}

/** A file extension for an ffprobe container name (a hint for people; ffmpeg reads the content anyway). */
function extensionFor(container: string): string {
  if (container.includes('mp4') || container.includes('mov')) return 'mp4';
  if (container.includes('matroska') || container.includes('webm')) return 'mkv';
  if (container.includes('mpegts')) return 'ts';
  if (container.includes('avi')) return 'avi';
  if (container.includes('flv')) return 'flv';
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
