import {
  type MediaFormat,
  type MediaSource,
  NexStreamError,
  NexStreamErrorCode,
  type TrackMetadata,
} from '@nexstream/core';
import type { Registry } from '@nexstream/registry';

/** A media the server resolved, with the track it was resolved for (for file names and tags). */
export interface StoredMedia {
  media: MediaSource;
  track?: TrackMetadata;
}

/** What the server knows about media it handed out: recent resolutions first, then the registry. */
export interface MediaStore {
  /** Remembers a resolution's media (the `media` event) and the track it belongs to. */
  remember(media: MediaSource, track?: TrackMetadata): void;
  /** The media and track, or `NXS_NOT_FOUND`. */
  get(mediaId: string): Promise<StoredMedia>;
  /** One format of a media, or `NXS_NOT_FOUND`. */
  format(mediaId: string, formatId: string): Promise<{ stored: StoredMedia; format: MediaFormat }>;
}

/**
 * Creates the media store: an LRU of the last `capacity` resolved media in memory (unverified matches are
 * never written to the registry, yet the person who resolved them can download them), backed by the registry
 * for verified ones.
 */
export function createMediaStore(registry: Registry | undefined, capacity = 500): MediaStore {
  const recent = new Map<string, StoredMedia>();
  const store: MediaStore = {
    remember(media, track) {
      const previous = recent.get(media.id);
      recent.delete(media.id);
      const resolvedTrack = track ?? previous?.track;
      recent.set(media.id, resolvedTrack ? { media, track: resolvedTrack } : { media });
      while (recent.size > capacity) recent.delete(recent.keys().next().value as string);
    },
    async get(mediaId) {
      const hit = recent.get(mediaId);
      if (hit && hit.media.formats.length > 0) return hit;
      const entry = await registry?.get({ mediaId });
      if (entry && entry.media.formats.length > 0) {
        const stored = {
          media: structuredClone(entry.media) as MediaSource,
          track: structuredClone(entry.track) as TrackMetadata,
        };
        recent.set(mediaId, stored);
        return stored;
      }
      if (hit) return hit;
      throw new NexStreamError(
        NexStreamErrorCode.NotFound,
        `no media ${JSON.stringify(mediaId)} on this server: resolve the track first (GET /api/resolve)`,
      );
    },
    async format(mediaId, formatId) {
      const stored = await store.get(mediaId);
      const format = stored.media.formats.find((candidate) => candidate.id === formatId);
      if (!format) {
        throw new NexStreamError(
          NexStreamErrorCode.NotFound,
          `media ${mediaId} has no format ${JSON.stringify(formatId)}`,
        );
      }
      return { stored, format };
    },
  };
  return store;
}

/** A format as clients may see it: no origin URL, no origin headers (only the tunnel knows them). */
export type PublicFormat = Omit<MediaFormat, 'url' | 'headers'>;

/** Strips the origin URL, headers and manifest URL from a format. */
export function publicFormat(format: MediaFormat): PublicFormat {
  const { url: _url, headers: _headers, ...rest } = format as MediaFormat & { manifestUrl?: string };
  delete (rest as { manifestUrl?: string }).manifestUrl;
  return rest;
}

/** Strips the origin URLs from a media. */
export function publicMedia(media: MediaSource): Omit<MediaSource, 'formats'> & { formats: PublicFormat[] } {
  return { ...media, formats: media.formats.map(publicFormat) };
}

/** `Content-Type` of a format by container and whether it has video. */
export function formatContentType(format: MediaFormat): string {
  const video = Boolean(format.videoCodec);
  switch (format.container) {
    case 'mp4':
      return video ? 'video/mp4' : 'audio/mp4';
    case 'm4a':
      return 'audio/mp4';
    case 'webm':
      return video ? 'video/webm' : 'audio/webm';
    case 'mkv':
      return 'video/x-matroska';
    case 'mp3':
      return 'audio/mpeg';
    case 'ogg':
    case 'opus':
      return 'audio/ogg';
    default:
      return 'application/octet-stream';
  }
}

/** A file name for a download: `Artist - Title.ext`, without characters file systems refuse. */
export function downloadName(stored: StoredMedia, extension: string): string {
  const base = stored.track
    ? `${stored.track.artists.join(', ')} - ${stored.track.title}`
    : stored.media.title || stored.media.id;
  const clean = base
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
    .replace(/[\u0000-\u001f\u007f<>:"/\\|?*]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 150);
  return `${clean || 'download'}.${extension}`;
}
