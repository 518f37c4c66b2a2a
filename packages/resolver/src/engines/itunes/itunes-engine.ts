import type { CoverArt, TrackMetadata } from '@nexstream/core';
import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import type { CollectionLookupResult, LookupResult, MetadataEngine, MetadataResult } from '../../engine.js';
import { createHttpClient, type HttpEngineSettings } from '../shared/http-client.js';
import { unlessNotFound } from '../shared/not-found.js';
import { serviceRateLimits } from '../shared/rate-limiter.js';
import {
  idString,
  isoDate,
  list,
  positiveMs,
  record,
  text,
  uniqueNames,
  unsupportedLookup,
} from '../shared/track-fields.js';

/** Settings for {@link createItunesEngine}. The iTunes Search API needs no key. */
export interface ItunesSettings extends HttpEngineSettings {
  /** Default `https://itunes.apple.com`. */
  baseURL?: string;
  /** Storefront for searches when the ref carries none (`us`, `de`). Default `us`. */
  country?: string;
  /**
   * How long to hold calls after a throttling 403 (Apple sends no `Retry-After`), in ms. Default 60000,
   * matching the "about 20 calls per minute" window.
   */
  throttlePauseMs?: number;
}

/**
 * Rewrites an iTunes artwork URL (`…/100x100bb.jpg`) to another square size, a widely used convention.
 */
export function itunesArtwork(url: string, size: number): string {
  return url.replace(/\/\d+x\d+(bb|cc|sr)?(\.\w+)$/, `/${size}x${size}$1$2`);
}

function coverArt(item: Record<string, unknown>): CoverArt | undefined {
  const source = text(item.artworkUrl100) ?? text(item.artworkUrl60);
  if (!source) return undefined;
  return {
    small: itunesArtwork(source, 100),
    medium: itunesArtwork(source, 600),
    large: itunesArtwork(source, 1000),
  };
}

/**
 * Maps an iTunes `wrapperType:"track"` result. iTunes never returns an ISRC, so results are never
 * authoritative: they are fuzzy metadata and artwork.
 */
export function mapItunesTrack(value: unknown): MetadataResult | undefined {
  const item = record(value);
  if (item.wrapperType !== 'track' || (item.kind !== undefined && item.kind !== 'song')) return undefined;
  const id = idString(item.trackId);
  const title = text(item.trackName);
  if (!id || !title) return undefined;
  const track: TrackMetadata = { title, artists: uniqueNames([text(item.artistName)]), ids: { apple: id } };
  const album = text(item.collectionName);
  if (album) track.album = album;
  const durationMs = positiveMs(item.trackTimeMillis);
  if (durationMs) track.durationMs = durationMs;
  const art = coverArt(item);
  if (art) track.coverArt = art;
  const releaseDate = isoDate(item.releaseDate);
  if (releaseDate) track.releaseDate = releaseDate;
  if (item.trackExplicitness === 'explicit') track.explicit = true;
  else if (item.trackExplicitness === 'notExplicit' || item.trackExplicitness === 'cleaned')
    track.explicit = false;
  const result: MetadataResult = { engine: 'itunes', track, isrcAuthoritative: false };
  const url = text(item.trackViewUrl);
  if (url) result.url = url;
  return result;
}

/**
 * The iTunes Search API (Apple Music catalogue): search and look-up by id. Fuzzy metadata and artwork,
 * never ISRC proof (there is no ISRC in its results, and `lookup?isrc=` is undocumented and unreliable).
 * Throttling shows as 403 (sometimes 429) without `Retry-After`; it maps to `NXS_RATE_LIMITED`.
 */
export function createItunesEngine(settings: ItunesSettings = {}): MetadataEngine {
  const client = createHttpClient({
    name: 'itunes',
    rateLimit: serviceRateLimits.itunes,
    ...settings,
    baseURL: settings.baseURL ?? 'https://itunes.apple.com',
  });
  const defaultCountry = settings.country ?? 'us';
  const throttlePauseMs = settings.throttlePauseMs ?? 60_000;

  async function get(
    path: string,
    query: Record<string, string | number | undefined>,
    call: { signal?: AbortSignal | undefined; onLog?: Parameters<typeof client.json>[0]['onLog'] },
  ): Promise<unknown[]> {
    const response = await unlessNotFound(
      client.json({
        path,
        query,
        ...call,
        acceptStatus: [403],
        check: (candidate) =>
          candidate.status === 403
            ? new NexStreamError(
                NexStreamErrorCode.RateLimited,
                `[GET] "${candidate.url}": 403 Forbidden; iTunes throttles beyond about 20 calls per minute, try again later`,
                {
                  retryable: true,
                  retryAfterMs: throttlePauseMs,
                  details: { status: 403, service: 'itunes' },
                },
              )
            : undefined,
      }),
      null,
    );
    return response ? list(record(response.data).results) : [];
  }

  return {
    kind: 'metadata',
    id: 'itunes',
    tier: 1,
    capabilities: ['search', 'lookup'],
    lookupPlatforms: ['apple'],
    provesIsrc: false,
    async doSearch(options) {
      const term = options.track
        ? [options.track.artists[0], options.track.title].filter(Boolean).join(' ')
        : options.query;
      const results = await get(
        '/search',
        { term, entity: 'song', media: 'music', limit: options.limit ?? 10, country: defaultCountry },
        options,
      );
      return results.map(mapItunesTrack).filter((item): item is MetadataResult => item !== undefined);
    },
    async doLookup({ ref, signal, onLog }): Promise<LookupResult | null> {
      if (ref.platform !== 'apple') throw unsupportedLookup('itunes', `${ref.platform} ids`);
      const country = ref.region ?? defaultCountry;
      const call = { signal, onLog };
      if (ref.kind === 'track') {
        const results = await get('/lookup', { id: ref.id, country }, call);
        const result = results.map(mapItunesTrack).find((item) => item !== undefined);
        return result ? { kind: 'track', result } : null;
      }
      if (ref.kind === 'playlist') throw unsupportedLookup('itunes', 'playlists');
      const results = await get('/lookup', { id: ref.id, entity: 'song', limit: 200, country }, call);
      const head = record(results[0]);
      const isCollection =
        ref.kind === 'album' ? head.wrapperType === 'collection' : head.wrapperType === 'artist';
      if (!isCollection) return null;
      const tracks = results
        .slice(1)
        .map(mapItunesTrack)
        .filter((item): item is MetadataResult => item !== undefined);
      const result: CollectionLookupResult = {
        kind: ref.kind,
        engine: 'itunes',
        title: text(head.collectionName) ?? text(head.artistName) ?? '',
        artists: uniqueNames([text(head.artistName)]),
        ids: { apple: ref.id },
        tracks,
      };
      const art = coverArt(head);
      if (art) result.coverArt = art;
      const url = text(head.collectionViewUrl) ?? text(head.artistLinkUrl);
      if (url) result.url = url;
      if (typeof head.trackCount === 'number' && head.trackCount > tracks.length)
        result.total = head.trackCount;
      return result;
    },
    close: () => client.close(),
  };
}
