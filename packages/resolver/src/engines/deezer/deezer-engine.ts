import type {
  CollectionLookupResult,
  EngineCallOptions,
  LookupResult,
  MetadataEngine,
  MetadataResult,
} from '../../engine.js';
import { createHttpClient, type HttpEngineSettings } from '../shared/http-client.js';
import { unlessNotFound } from '../shared/not-found.js';
import { serviceRateLimits } from '../shared/rate-limiter.js';
import {
  idString,
  list,
  record,
  requireIsrc,
  text,
  uniqueNames,
  unsupportedLookup,
} from '../shared/track-fields.js';
import { deezerBodyError } from './deezer-errors.js';
import { deezerAdvancedQuery, deezerCoverArt, mapDeezerTrack } from './deezer-mapping.js';

/** Settings for {@link createDeezerEngine}. Deezer's public API needs no key. */
export interface DeezerSettings extends HttpEngineSettings {
  /** Default `https://api.deezer.com`. */
  baseURL?: string;
  /** Seconds of slack around the track's duration in advanced search (`dur_min` / `dur_max`). Default 10. */
  durationSlackS?: number;
}

/**
 * Deezer's public catalogue: ISRC look-up (`/track/isrc:{isrc}`, authoritative), advanced search, and
 * tracks, albums, playlists and artists' top tracks by id. No key. Errors arrive inside HTTP 200 bodies;
 * quota errors (code 4) are retried with backoff.
 */
export function createDeezerEngine(settings: DeezerSettings = {}): MetadataEngine {
  const client = createHttpClient({
    name: 'deezer',
    serviceLimit: serviceRateLimits.deezer,
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
    const art = deezerCoverArt(body);
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
