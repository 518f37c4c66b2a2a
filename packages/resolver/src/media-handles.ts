import {
  type MediaFormat,
  NexStreamError,
  NexStreamErrorCode,
  type PublicMedia,
  type PublicMediaFormat,
  type ResolvedMedia,
  type TrackMetadata,
  toPublicFormat,
  toPublicMedia,
} from '@nexstream/core';
import type { Registry } from '@nexstream/registry';
import type { LinkRefresher } from './link-refresher.js';

/** Where one format's bytes are: for the server's tunnel, never for clients. */
export interface FormatOrigin {
  /** The origin URL (volatile: see `expiresAt`). */
  url: string;
  /** Headers the origin expects. */
  headers?: Record<string, string>;
  /** Exact size in bytes, when the source said so. */
  sizeBytes?: number;
  /** When `url` stops working, epoch milliseconds. */
  expiresAt?: number;
  /** The format itself, as clients may see it. */
  format: PublicMediaFormat;
}

/**
 * A media the resolver handed out, as a server holds it. Clients get {@link MediaHandle.media} (no origin URL,
 * header or manifest); the server's tunnel asks {@link MediaHandle.origin} where a format's bytes are and
 * {@link MediaHandle.refresh} for fresh links after a 403. Unverified matches are never in the registry, yet
 * the person who resolved one can download it: the resolver keeps its recent media for that.
 */
export interface MediaHandle {
  readonly mediaId: string;
  /** The media without origin URLs: safe to send to clients. */
  readonly media: PublicMedia;
  /** The track the media was resolved for (file names, tags), when known. */
  readonly track?: TrackMetadata;
  /**
   * Where one format's bytes are.
   *
   * @throws NexStreamError `NXS_NOT_FOUND` when the media has no such format.
   */
  origin(formatId: string): FormatOrigin;
  /** Fetches fresh links now (after the origin refused the current ones) and gives the new handle. */
  refresh(options?: { signal?: AbortSignal }): Promise<MediaHandle>;
}

/** How a handle's media is extracted again when it is not in the registry (an unverified match). */
export type ReExtract = (media: ResolvedMedia, signal: AbortSignal | undefined) => Promise<ResolvedMedia>;

/** The resolver's media: its recent resolutions (a bounded LRU), then the registry. */
export interface MediaHandles {
  /** Remembers a resolution's media (with formats) and the track it was resolved for. */
  remember(media: ResolvedMedia, track?: TrackMetadata): void;
  /** The handle of a media, or `NXS_NOT_FOUND`. */
  get(mediaId: string): Promise<MediaHandle>;
}

interface Held {
  media: ResolvedMedia;
  track?: TrackMetadata;
}

/** Creates the resolver's media store: the last `capacity` media in memory, backed by the registry. */
export function createMediaHandles(options: {
  registry?: Registry;
  refresher?: LinkRefresher;
  reExtract?: ReExtract;
  capacity: number;
}): MediaHandles {
  const recent = new Map<string, Held>();

  const hold = (media: ResolvedMedia, track?: TrackMetadata): Held => {
    const previous = recent.get(media.id);
    recent.delete(media.id);
    const resolvedTrack = track ?? previous?.track;
    const held: Held = resolvedTrack ? { media, track: resolvedTrack } : { media };
    recent.set(media.id, held);
    while (recent.size > options.capacity) recent.delete(recent.keys().next().value as string);
    return held;
  };

  const handleOf = (held: Held): MediaHandle => ({
    mediaId: held.media.id,
    media: toPublicMedia(held.media),
    ...(held.track ? { track: structuredClone(held.track) } : {}),
    origin(formatId) {
      const format = held.media.formats.find((candidate) => candidate.id === formatId);
      if (!format) {
        throw new NexStreamError(
          NexStreamErrorCode.NotFound,
          `media ${held.media.id} has no format ${JSON.stringify(formatId)}`,
          { retryable: false },
        );
      }
      return originOf(format);
    },
    async refresh(refreshOptions = {}) {
      return handleOf(hold(await fresh(held, refreshOptions.signal), held.track));
    },
  });

  async function fresh(held: Held, signal: AbortSignal | undefined): Promise<ResolvedMedia> {
    const stored = options.registry ? await options.registry.get({ mediaId: held.media.id }) : undefined;
    if (stored && options.refresher) {
      return options.refresher.refresh(held.media.id, { force: true, ...(signal ? { signal } : {}) });
    }
    if (!options.reExtract) {
      throw new NexStreamError(
        NexStreamErrorCode.DependencyMissing,
        `cannot refresh ${held.media.id}: no video engine can extract media`,
        { retryable: false },
      );
    }
    // The same media id whatever the page says (an unverified match is refreshed as what it was).
    return { ...(await options.reExtract(held.media, signal)), id: held.media.id };
  }

  return {
    remember(media, track) {
      if (media.formats.length > 0) hold(media, track);
    },
    async get(mediaId) {
      const hit = recent.get(mediaId);
      if (hit) return handleOf(hold(hit.media, hit.track));
      const entry = await options.registry?.get({ mediaId });
      if (entry && entry.media.formats.length > 0) {
        return handleOf(
          hold(structuredClone(entry.media) as ResolvedMedia, structuredClone(entry.track) as TrackMetadata),
        );
      }
      throw new NexStreamError(
        NexStreamErrorCode.NotFound,
        `no media ${JSON.stringify(mediaId.slice(0, 80))} on this server: resolve the track first`,
        { retryable: false },
      );
    },
  };
}

function originOf(format: MediaFormat): FormatOrigin {
  const origin: FormatOrigin = {
    url: format.url,
    format: toPublicFormat(format),
  };
  if (format.headers) origin.headers = { ...format.headers };
  if (format.sizeBytes !== undefined) origin.sizeBytes = format.sizeBytes;
  if (format.expiresAt !== undefined) origin.expiresAt = format.expiresAt;
  return origin;
}
