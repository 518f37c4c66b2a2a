import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';

/**
 * Cover art for {@link MuxMetadata}: a URL (fetched by the mux Worker with the inputs' headers) or the
 * image's bytes. Only JPEG and PNG are written, told by their magic bytes (a `mimeType` that disagrees is
 * ignored); anything else, a cover over `maxBytes` or a failed fetch leaves the file without a cover and
 * reports a `cover-skipped` warning: a cover never fails the download.
 */
export type MuxCover =
  | {
      /** The image's URL (absolute, or relative to the page). */
      url: string | URL;
      /**
       * Request headers for the image. Default: the headers of the first URL input on the cover's own
       * origin (the tunnel's `Authorization`, when the cover comes through the same server); a cover on
       * another origin gets no input headers (they would leak, and force a CORS preflight). A cover on
       * another origin needs CORS (`Access-Control-Allow-Origin`), or it is skipped.
       */
      headers?: Record<string, string>;
      /** `image/jpeg` or `image/png`; a hint only, the bytes decide. */
      mimeType?: string;
      /** The most the image may weigh, in bytes. Default 2 MiB. */
      maxBytes?: number;
    }
  | {
      /** The image's bytes (a JPEG or PNG file). */
      bytes: Uint8Array | ArrayBuffer;
      /** `image/jpeg` or `image/png`; a hint only, the bytes decide. */
      mimeType?: string;
      /** The most the image may weigh, in bytes. Default 2 MiB. */
      maxBytes?: number;
    };

/**
 * Tags written into the output file (what players and file managers show). MP4/M4A get iTunes-style
 * `moov/udta/meta/ilst` items (`©nam`, `©ART`, `©alb`, `©day`, `covr`); WebM/MKV get the segment title and
 * Matroska Tags (`ARTIST`, `ALBUM`, `DATE_RELEASED`), MKV the cover as an attachment. Every field is
 * optional; empty strings are left out.
 */
export interface MuxMetadata {
  /** The track's title. */
  title?: string;
  /** The artist, or the credited artists in order (joined with `, `, as the server muxer does). */
  artist?: string | readonly string[];
  /** The album's title. */
  album?: string;
  /** The release year (`2008`) or date (`YYYY-MM` or `YYYY-MM-DD`), written as given. */
  year?: string | number;
  /** Front cover art (JPEG or PNG). */
  cover?: MuxCover;
}

/** The default and largest sensible cover size, in bytes. */
export const defaultCoverMaxBytes = 2 * 1024 * 1024;

/** Text tags as the writers take them: only non-empty values. @internal */
export interface TextTags {
  title?: string;
  artist?: string;
  album?: string;
  date?: string;
}

/** A cover image that passed the checks: JPEG or PNG by its magic bytes. @internal */
export interface CoverImage {
  bytes: Uint8Array;
  mimeType: 'image/jpeg' | 'image/png';
}

/** The metadata as the Worker receives it: text normalised, the cover still to fetch or check. @internal */
export interface WorkerMetadata {
  tags: TextTags;
  cover?:
    | { url: string; headers?: Record<string, string>; maxBytes: number }
    | { bytes: Uint8Array; maxBytes: number };
}

/**
 * Checks and normalises {@link MuxMetadata} on the page (so bad options fail at once, synchronously):
 * trims the text, joins several artists, resolves a cover URL against `base`, copies cover bytes.
 *
 * @throws NexStreamError `NXS_INVALID_INPUT` for a field of the wrong type or a cover with neither `url`
 *   nor `bytes`.
 * @internal
 */
export function toWorkerMetadata(metadata: MuxMetadata, base: string | undefined): WorkerMetadata {
  const invalid = (what: string) =>
    new NexStreamError(NexStreamErrorCode.InvalidInput, `mux(): metadata.${what}`);
  const text = (name: keyof TextTags, value: unknown): string | undefined => {
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'number' && name === 'date' && Number.isInteger(value)) return String(value);
    if (typeof value !== 'string') throw invalid(`${name} must be a string`);
    return value.trim() || undefined;
  };
  const artists = metadata.artist;
  const artist =
    typeof artists === 'string' || artists === undefined
      ? text('artist', artists)
      : Array.isArray(artists)
        ? text(
            'artist',
            artists
              .filter((name) => typeof name === 'string' && name.trim() !== '')
              .map((name) => name.trim())
              .join(', '),
          )
        : (() => {
            throw invalid('artist must be a string or an array of strings');
          })();
  const tags: TextTags = {};
  const title = text('title', metadata.title);
  const album = text('album', metadata.album);
  const date = text('date', metadata.year);
  if (title !== undefined) tags.title = title;
  if (artist !== undefined) tags.artist = artist;
  if (album !== undefined) tags.album = album;
  if (date !== undefined) tags.date = date;
  const result: WorkerMetadata = { tags };
  const cover = metadata.cover;
  if (cover !== undefined) {
    const maxBytes = cover.maxBytes ?? defaultCoverMaxBytes;
    if (!(maxBytes > 0)) throw invalid('cover.maxBytes must be a positive number of bytes');
    if ('url' in cover && cover.url !== undefined) {
      result.cover = {
        url: new URL(cover.url, base).href,
        ...(cover.headers === undefined ? {} : { headers: cover.headers }),
        maxBytes,
      };
    } else if ('bytes' in cover && cover.bytes !== undefined) {
      // A copy: the caller keeps its buffer, and the Worker gets its own (structured clone).
      result.cover = { bytes: new Uint8Array(cover.bytes).slice(), maxBytes };
    } else {
      throw invalid('cover needs a url or bytes');
    }
  }
  return result;
}

/** The image type of `bytes` by its magic bytes: JPEG (`FF D8 FF`) or PNG (`89 50 4E 47 0D 0A 1A 0A`). @internal */
export function sniffCoverType(bytes: Uint8Array): CoverImage['mimeType'] | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length >= 8 && png.every((byte, index) => bytes[index] === byte)) return 'image/png';
  return undefined;
}

/**
 * Gets the cover of a job: fetches a URL cover (streamed, stopped as soon as it passes `maxBytes`) or
 * takes the given bytes, and checks the magic bytes. Never throws: a cover that cannot be used resolves
 * to the reason, which the job reports as a `cover-skipped` warning.
 * @internal
 */
export async function loadCover(
  cover: NonNullable<WorkerMetadata['cover']>,
  options: { defaultHeaders?: Record<string, string>; signal: AbortSignal },
): Promise<CoverImage | { skipped: string }> {
  let bytes: Uint8Array;
  if ('bytes' in cover) {
    if (cover.bytes.byteLength > cover.maxBytes) {
      return {
        skipped: `the cover is ${cover.bytes.byteLength} bytes, over the ${cover.maxBytes}-byte limit`,
      };
    }
    bytes = cover.bytes;
  } else {
    const where = cover.url.split('?')[0] ?? cover.url;
    try {
      const headers = cover.headers ?? options.defaultHeaders;
      const response = await fetch(cover.url, {
        signal: options.signal,
        ...(headers === undefined ? {} : { headers }),
      });
      if (!response.ok || response.body === null) {
        await response.body?.cancel().catch(() => {});
        return { skipped: `the cover ${where} answered ${response.status} ${response.statusText}`.trim() };
      }
      const declared = Number(response.headers.get('content-length'));
      if (declared > cover.maxBytes) {
        await response.body.cancel().catch(() => {});
        return { skipped: `the cover ${where} is ${declared} bytes, over the ${cover.maxBytes}-byte limit` };
      }
      const chunks: Uint8Array[] = [];
      let total = 0;
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > cover.maxBytes) {
          await reader.cancel().catch(() => {});
          return { skipped: `the cover ${where} is over the ${cover.maxBytes}-byte limit` };
        }
        chunks.push(value);
      }
      bytes = new Uint8Array(total);
      let offset = 0;
      for (const chunk of chunks) {
        bytes.set(chunk, offset);
        offset += chunk.byteLength;
      }
    } catch (error) {
      return {
        skipped: `the cover ${where} could not be fetched (${error instanceof Error ? error.message : String(error)})`,
      };
    }
  }
  const mimeType = sniffCoverType(bytes);
  if (mimeType === undefined)
    return { skipped: 'the cover is neither a JPEG nor a PNG image (by its first bytes)' };
  return { bytes, mimeType };
}
