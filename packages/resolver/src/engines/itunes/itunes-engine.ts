import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import type { CollectionLookupResult, LookupResult, MetadataEngine, MetadataResult } from '../../engine.js';
import { createHttpClient, type HttpEngineSettings, type HttpResponse } from '../shared/http-client.js';
import { unlessNotFound } from '../shared/not-found.js';
import { serviceRateLimits } from '../shared/rate-limiter.js';
import { list, record, text, uniqueNames, unsupportedLookup } from '../shared/track-fields.js';
import { itunesCoverArt, mapItunesTrack } from './itunes-mapping.js';

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
 * The iTunes Search API (Apple Music catalogue): search and look-up by id. Fuzzy metadata and artwork,
 * never ISRC proof (there is no ISRC in its results, and `lookup?isrc=` is undocumented and unreliable).
 * Throttling shows as 403 (sometimes 429) without `Retry-After`; it maps to `NXS_RATE_LIMITED`.
 */
export function createItunesEngine(settings: ItunesSettings = {}): MetadataEngine {
  const client = createHttpClient({
    name: 'itunes',
    serviceLimit: serviceRateLimits.itunes,
    ...settings,
    baseURL: settings.baseURL ?? 'https://itunes.apple.com',
  });
  const defaultCountry = settings.country ?? 'us';
  const throttlePauseMs = settings.throttlePauseMs ?? 60_000;

  /** iTunes throttles with 403 and no Retry-After. One function for every call, so that identical GETs share. */
  function throttled(candidate: HttpResponse): NexStreamError | undefined {
    return candidate.status === 403
      ? new NexStreamError(
          NexStreamErrorCode.RateLimited,
          `[GET] "${candidate.url}": 403 Forbidden; iTunes throttles beyond about 20 calls per minute, try again later`,
          { retryable: true, retryAfterMs: throttlePauseMs, details: { status: 403, service: 'itunes' } },
        )
      : undefined;
  }

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
        check: throttled,
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
      const art = itunesCoverArt(head);
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
