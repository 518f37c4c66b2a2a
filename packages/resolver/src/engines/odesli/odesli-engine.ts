import type { Platform } from '@nexstream/core';
import type { LookupResult, MetadataEngine } from '../../engine.js';
import { createHttpClient, type HttpEngineSettings } from '../shared/http-client.js';
import { unlessNotFound } from '../shared/not-found.js';
import { serviceRateLimits } from '../shared/rate-limiter.js';
import { credential, unsupportedLookup } from '../shared/track-fields.js';
import { mapOdesliLinks } from './odesli-mapping.js';

/** Settings for {@link createOdesliEngine}. */
export interface OdesliSettings extends HttpEngineSettings {
  /** Default `https://api.song.link`. */
  baseURL?: string;
  /** An API key (60 requests/min instead of 10); falls back to `ODESLI_API_KEY`. Keys are no longer issued. */
  apiKey?: string;
  /** Results depend on the country; default `US`. */
  userCountry?: string;
}

/** Odesli's `platform` parameter per NexStream platform. */
const odesliPlatform: Record<Platform, string> = {
  spotify: 'spotify',
  deezer: 'deezer',
  apple: 'appleMusic',
  youtube: 'youtube',
};

/**
 * Odesli / song.link cross-platform mapping. **Off by default** in `createDefaultEngines`: the public
 * API is being retired in 2026 and already omits YouTube and Spotify links. No ISRC, no duration.
 */
export function createOdesliEngine(settings: OdesliSettings = {}): MetadataEngine {
  const env = settings.env ?? process.env;
  const apiKey = credential(settings.apiKey, env, 'ODESLI_API_KEY');
  const client = createHttpClient({
    name: 'odesli',
    serviceLimit: apiKey ? serviceRateLimits.odesliWithKey : serviceRateLimits.odesli,
    ...settings,
    baseURL: settings.baseURL ?? 'https://api.song.link',
  });
  const userCountry = settings.userCountry ?? 'US';

  return {
    kind: 'metadata',
    id: 'odesli',
    tier: 1,
    capabilities: ['lookup'],
    lookupPlatforms: ['spotify', 'deezer', 'apple', 'youtube'],
    provesIsrc: false,
    async doLookup({ ref, signal, onLog }): Promise<LookupResult | null> {
      if (ref.kind !== 'track' && ref.kind !== 'album') throw unsupportedLookup('odesli', `${ref.kind}s`);
      const query: Record<string, string | undefined> = ref.url
        ? { url: ref.url }
        : {
            platform: odesliPlatform[ref.platform],
            type: ref.kind === 'track' ? 'song' : 'album',
            id: ref.id,
          };
      query.userCountry = ref.region?.toUpperCase() ?? userCountry;
      query.key = apiKey;
      // Odesli answers 400 for an id it cannot resolve: its own spelling of "not found".
      const response = await unlessNotFound(
        client.json({ path: '/v1-alpha.1/links', query, signal, onLog, acceptStatus: [400] }),
        null,
      );
      if (!response || response.status === 400) return null;
      const result = mapOdesliLinks(response.data);
      if (!result) return null;
      result.track.ids = { ...result.track.ids, [ref.platform]: ref.id };
      if (ref.kind === 'album') {
        return {
          kind: 'album',
          engine: 'odesli',
          title: result.track.title,
          artists: result.track.artists,
          ids: result.track.ids,
          tracks: [],
          ...(result.track.coverArt ? { coverArt: result.track.coverArt } : {}),
          ...(result.url ? { url: result.url } : {}),
        };
      }
      return { kind: 'track', result };
    },
    close: () => client.close(),
  };
}
