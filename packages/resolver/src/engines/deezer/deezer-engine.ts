import type { CoverArt, TrackMetadata } from '@nexstream/core';
import { NexStreamError, NexStreamErrorCode, parseIsrc } from '@nexstream/core';
import type {
  CollectionLookupResult,
  EngineCallOptions,
  LookupResult,
  MetadataEngine,
  MetadataResult,
  TrackQuery,
} from '../../engine.js';
import { createHttpClient, type HttpEngineSettings, type HttpResponse } from '../shared/http-client.js';
import { unlessNotFound } from '../shared/not-found.js';
import { serviceRateLimits } from '../shared/rate-limiter.js';
import {
  idString,
  isoDate,
  list,
  record,
  requireIsrc,
  secondsToMs,
  text,
  uniqueNames,
  unsupportedLookup,
} from '../shared/track-fields.js';

/** Settings for {@link createDeezerEngine}. Deezer's public API needs no key. */
export interface DeezerSettings extends HttpEngineSettings {
  /** Default `https://api.deezer.com`. */
  baseURL?: string;
  /** Seconds of slack around the track's duration in advanced search (`dur_min` / `dur_max`). Default 10. */
  durationSlackS?: number;
}

/** Deezer's error codes (developers.deezer.com/api/errors), reported inside HTTP 200 bodies. */
export const deezerErrorCodes = {
  quota: 4,
  itemsLimitExceeded: 100,
  permission: 200,
  tokenInvalid: 300,
  parameter: 500,
  parameterMissing: 501,
  queryInvalid: 600,
  serviceBusy: 700,
  dataNotFound: 800,
} as const;

/**
 * Reads a Deezer body's `{"error":{type,message,code}}` (sent with HTTP 200) into a NexStreamError, or
 * `undefined` when the body is not an error. Code 800 ("no data") is "not found"; 4 (quota) and 700
 * (busy) are retryable.
 */
export function deezerBodyError(response: HttpResponse): NexStreamError | undefined {
  const error = record(record(response.data).error);
  if (Object.keys(error).length === 0) return undefined;
  const code = typeof error.code === 'number' ? error.code : Number(error.code);
  const where = `[GET] "${response.url}": Deezer error ${code} ${text(error.type) ?? ''} "${text(error.message) ?? ''}"`;
  const details = { service: 'deezer', deezerCode: code, type: error.type };
  switch (code) {
    case deezerErrorCodes.dataNotFound:
      return new NexStreamError(NexStreamErrorCode.NotFound, where, { retryable: false, details });
    case deezerErrorCodes.quota:
      return new NexStreamError(
        NexStreamErrorCode.RateLimited,
        `${where}; over 50 requests / 5 s, slow down`,
        {
          retryable: true,
          details,
        },
      );
    case deezerErrorCodes.serviceBusy:
      return new NexStreamError(NexStreamErrorCode.Upstream, `${where}; Deezer is busy, try again`, {
        retryable: true,
        details,
      });
    case deezerErrorCodes.parameter:
    case deezerErrorCodes.parameterMissing:
    case deezerErrorCodes.queryInvalid:
      return new NexStreamError(NexStreamErrorCode.InvalidInput, `${where}; the request was malformed`, {
        retryable: false,
        details,
      });
    default:
      return new NexStreamError(NexStreamErrorCode.Upstream, where, { retryable: false, details });
  }
}

function coverArt(album: Record<string, unknown>): CoverArt | undefined {
  const art: CoverArt = {};
  const small = text(album.cover_small);
  const medium = text(album.cover_big) ?? text(album.cover_medium);
  const large = text(album.cover_xl);
  if (small) art.small = small;
  if (medium) art.medium = medium;
  if (large) art.large = large;
  return Object.keys(art).length > 0 ? art : undefined;
}

/**
 * Maps a Deezer track object (full, search or album-track form) to a result. Only the full form (from
 * `/track/{id}` or `/track/isrc:`) carries `isrc`; that ISRC is authoritative. A track Deezer marks
 * `readable: false` gets `playable: false`.
 */
export function mapDeezerTrack(
  value: unknown,
  parent: { album?: Record<string, unknown> } = {},
): MetadataResult | undefined {
  const item = record(value);
  const id = idString(item.id);
  const title = text(item.title);
  if (!id || !title) return undefined;
  const album = Object.keys(record(item.album)).length > 0 ? record(item.album) : (parent.album ?? {});
  const contributors = list(item.contributors).map(record);
  const main = contributors.filter((contributor) => contributor.role !== 'Featured');
  const featured = contributors.filter((contributor) => contributor.role === 'Featured');
  const artists = uniqueNames([
    text(record(item.artist).name),
    ...main.map((contributor) => text(contributor.name)),
    ...featured.map((contributor) => text(contributor.name)),
  ]);
  const isrc = parseIsrc(item.isrc);
  const version = text(item.title_version);
  const track: TrackMetadata = {
    title: version && !title.includes(version) ? `${title} ${version}` : title,
    artists,
    ids: { deezer: id },
  };
  const albumTitle = text(album.title);
  if (albumTitle) track.album = albumTitle;
  const durationMs = secondsToMs(item.duration);
  if (durationMs) track.durationMs = durationMs;
  if (isrc) track.isrc = isrc;
  const art = coverArt(album);
  if (art) track.coverArt = art;
  const releaseDate = isoDate(item.release_date) ?? isoDate(album.release_date);
  if (releaseDate) track.releaseDate = releaseDate;
  if (typeof item.explicit_lyrics === 'boolean') track.explicit = item.explicit_lyrics;
  const result: MetadataResult = { engine: 'deezer', track, isrcAuthoritative: isrc !== undefined };
  // `readable: false`: Deezer lists the track but will not play it (withdrawn, or not licensed here).
  if (item.readable === false) result.playable = false;
  const link = text(item.link);
  if (link) result.url = link;
  return result;
}

/** Builds Deezer's advanced search query: `artist:"…" track:"…" dur_min:… dur_max:…`. */
export function deezerAdvancedQuery(track: TrackQuery, durationSlackS = 10): string {
  const quote = (value: string) => `"${value.replaceAll('"', ' ').trim()}"`;
  const parts: string[] = [];
  const artist = track.artists[0];
  if (artist) parts.push(`artist:${quote(artist)}`);
  parts.push(`track:${quote(track.title)}`);
  if (track.album) parts.push(`album:${quote(track.album)}`);
  if (track.durationMs) {
    const seconds = Math.round(track.durationMs / 1000);
    parts.push(`dur_min:${Math.max(0, seconds - durationSlackS)}`, `dur_max:${seconds + durationSlackS}`);
  }
  return parts.join(' ');
}

/**
 * Deezer's public catalogue: ISRC look-up (`/track/isrc:{isrc}`, authoritative), advanced search, and
 * tracks, albums, playlists and artists' top tracks by id. No key. Errors arrive inside HTTP 200 bodies;
 * quota errors (code 4) are retried with backoff.
 */
export function createDeezerEngine(settings: DeezerSettings = {}): MetadataEngine {
  const client = createHttpClient({
    name: 'deezer',
    rateLimit: serviceRateLimits.deezer,
    ...settings,
    baseURL: settings.baseURL ?? 'https://api.deezer.com',
  });
  const slack = settings.durationSlackS ?? 10;

  /** GET a Deezer resource; `null` for error 800 (and HTTP 404). */
  async function get(
    path: string,
    call: EngineCallOptions,
    query?: Record<string, string | number | undefined>,
  ): Promise<Record<string, unknown> | null> {
    const response = await unlessNotFound(
      client.json({ path, query, signal: call.signal, onLog: call.onLog, check: deezerBodyError }),
      null,
    );
    return response ? record(response.data) : null;
  }

  function collection(
    kind: CollectionLookupResult['kind'],
    body: Record<string, unknown>,
    items: unknown[],
    album?: Record<string, unknown>,
  ): CollectionLookupResult {
    const tracks = items
      .map((item) => mapDeezerTrack(item, album ? { album } : {}))
      .filter((item): item is MetadataResult => item !== undefined);
    const id = idString(body.id) ?? '';
    const result: CollectionLookupResult = {
      kind,
      engine: 'deezer',
      title: text(body.title) ?? text(body.name) ?? '',
      artists: uniqueNames([text(record(body.artist).name), text(record(body.creator).name)]),
      ids: { deezer: id },
      tracks,
    };
    const art = coverArt(body);
    if (art) result.coverArt = art;
    const link = text(body.link);
    if (link) result.url = link;
    return result;
  }

  return {
    kind: 'metadata',
    id: 'deezer',
    tier: 0,
    capabilities: ['isrc', 'search', 'lookup'],
    lookupPlatforms: ['deezer'],
    provesIsrc: true,
    async doFindByIsrc({ isrc, signal, onLog }) {
      const wanted = requireIsrc(isrc, 'deezer');
      const body = await get(`/track/isrc:${wanted}`, { signal, onLog });
      if (!body) return null;
      const result = mapDeezerTrack(body);
      if (!result) return null;
      if (result.track.isrc !== wanted) {
        // Deezer answered another recording: keep its metadata but do not let it prove this ISRC.
        result.isrcAuthoritative = false;
      }
      return result;
    },
    async doSearch(options) {
      const q = options.track ? deezerAdvancedQuery(options.track, slack) : options.query;
      const body = await get('/search', options, { q, limit: options.limit ?? 10 });
      if (!body) return [];
      return list(body.data)
        .map((item) => mapDeezerTrack(item))
        .filter((item): item is MetadataResult => item !== undefined);
    },
    async doLookup({ ref, signal, onLog }): Promise<LookupResult | null> {
      if (ref.platform !== 'deezer') throw unsupportedLookup('deezer', `${ref.platform} ids`);
      const call = { signal, onLog };
      const id = encodeURIComponent(ref.id);
      switch (ref.kind) {
        case 'track': {
          const body = await get(`/track/${id}`, call);
          const result = body ? mapDeezerTrack(body) : undefined;
          return result ? { kind: 'track', result } : null;
        }
        case 'album': {
          const body = await get(`/album/${id}`, call);
          if (!body) return null;
          const result = collection('album', body, list(record(body.tracks).data), body);
          const total = typeof body.nb_tracks === 'number' ? body.nb_tracks : undefined;
          if (total !== undefined && total > result.tracks.length) result.total = total;
          return result;
        }
        case 'playlist': {
          const body = await get(`/playlist/${id}`, call);
          if (!body) return null;
          const result = collection('playlist', body, list(record(body.tracks).data));
          const total = typeof body.nb_tracks === 'number' ? body.nb_tracks : undefined;
          if (total !== undefined && total > result.tracks.length) result.total = total;
          return result;
        }
        case 'artist': {
          const [artist, top] = await Promise.all([
            get(`/artist/${id}`, call),
            get(`/artist/${id}/top`, call, { limit: 50 }),
          ]);
          if (!artist && !top) return null;
          const body = artist ?? { id: ref.id };
          const result = collection('artist', { ...body, title: body.name }, list(top?.data));
          result.artists = uniqueNames([text(body.name)]);
          const total = typeof top?.total === 'number' ? top.total : undefined;
          if (total !== undefined && total > result.tracks.length) result.total = total;
          const picture = text(body.picture_xl);
          if (picture) result.coverArt = { large: picture };
          return result;
        }
      }
    },
    close: () => client.close(),
  };
}
