import type { Platform, PlatformIds, TrackMetadata } from '@nexstream/core';
import type { LookupResult, MetadataEngine, MetadataResult } from '../../engine.js';
import { createHttpClient, type HttpEngineSettings } from '../shared/http-client.js';
import { unlessNotFound } from '../shared/not-found.js';
import { serviceRateLimits } from '../shared/rate-limiter.js';
import { credential, record, text, uniqueNames, unsupportedLookup } from '../shared/track-fields.js';

/** Settings for {@link createOdesliEngine}. */
export interface OdesliSettings extends HttpEngineSettings {
  /** Default `https://api.song.link`. */
  baseURL?: string;
  /** An API key (60 requests/min instead of 10); falls back to `ODESLI_API_KEY`. Keys are no longer issued. */
  apiKey?: string;
  /** Results depend on the country; default `US`. */
  userCountry?: string;
}

/** Odesli's `linksByPlatform` keys for the platforms NexStream knows, in order of preference. */
const platformKeys: Array<[string, Platform]> = [
  ['spotify', 'spotify'],
  ['deezer', 'deezer'],
  ['appleMusic', 'apple'],
  ['itunes', 'apple'],
  ['youtubeMusic', 'youtube'],
  ['youtube', 'youtube'],
];

/** Odesli's `platform` parameter per NexStream platform. */
const odesliPlatform: Record<Platform, string> = {
  spotify: 'spotify',
  deezer: 'deezer',
  apple: 'appleMusic',
  youtube: 'youtube',
};

/** The platform id inside an Odesli `entityUniqueId` (`SPOTIFY_SONG::0Jcij…` → `0Jcij…`). */
function entityId(uniqueId: unknown): string | undefined {
  const value = text(uniqueId);
  return value?.includes('::') ? value.slice(value.indexOf('::') + 2) : undefined;
}

/**
 * `linksByPlatform` keys whose song entity names the recording in catalogue terms, most trusted first. A
 * YouTube entity is a video: its title and uploader ("INZO - Angst" by "Lowly.") are not the song's.
 */
const catalogueKeys = [
  'spotify',
  'deezer',
  'appleMusic',
  'itunes',
  'tidal',
  'amazonMusic',
  'amazonStore',
  'soundcloud',
  'pandora',
  'napster',
];

function isYoutubeEntity(uniqueId: string, entity: Record<string, unknown>): boolean {
  return uniqueId.startsWith('YOUTUBE_') || entity.apiProvider === 'youtube';
}

/**
 * The entity whose title and artist describe the song. For a YouTube input that is a `type: "song"` entity
 * of another platform (Spotify, Deezer, Apple, then the rest), found through `linksByPlatform`; the YouTube
 * entity itself only when the answer holds no other.
 */
function songEntity(body: Record<string, unknown>, mainId: string): Record<string, unknown> {
  const entities = record(body.entitiesByUniqueId);
  const main = record(entities[mainId]);
  if (!isYoutubeEntity(mainId, main)) return main;
  const links = record(body.linksByPlatform);
  const keys = [...catalogueKeys, ...Object.keys(links).filter((key) => !catalogueKeys.includes(key))];
  for (const key of keys) {
    const uniqueId = text(record(links[key]).entityUniqueId);
    if (!uniqueId) continue;
    const entity = record(entities[uniqueId]);
    if (entity.type === 'song' && text(entity.title) && !isYoutubeEntity(uniqueId, entity)) return entity;
  }
  return main;
}

/**
 * Maps an Odesli `links` response: the song's title and artist, and the per-platform ids. For a YouTube
 * link the title and artist come from another platform's song entity, not from the video. Tolerates a
 * degraded answer with empty `linksByPlatform` (since 2026 it no longer returns YouTube or Spotify links).
 * Returns `undefined` for a "no match" body (`entityUniqueId: ""`).
 */
export function mapOdesliLinks(value: unknown): MetadataResult | undefined {
  const body = record(value);
  const mainId = text(body.entityUniqueId);
  if (!mainId) return undefined;
  const entity = songEntity(body, mainId);
  const title = text(entity.title);
  if (!title) return undefined;
  const ids: PlatformIds = {};
  const links = record(body.linksByPlatform);
  for (const [key, platform] of platformKeys) {
    if (ids[platform] !== undefined) continue;
    const id = entityId(record(links[key]).entityUniqueId);
    if (id) ids[platform] = id;
  }
  const track: TrackMetadata = { title, artists: uniqueNames([text(entity.artistName)]), ids };
  const thumbnail = text(entity.thumbnailUrl);
  if (thumbnail) track.coverArt = { medium: thumbnail };
  const result: MetadataResult = { engine: 'odesli', track, isrcAuthoritative: false };
  const page = text(body.pageUrl);
  if (page) result.url = page;
  return result;
}

/**
 * Odesli / song.link cross-platform mapping. **Off by default** in {@link createDefaultEngines}: the public
 * API is being retired in 2026 and already omits YouTube and Spotify links. No ISRC, no duration.
 */
export function createOdesliEngine(settings: OdesliSettings = {}): MetadataEngine {
  const env = settings.env ?? process.env;
  const apiKey = credential(settings.apiKey, env, 'ODESLI_API_KEY');
  const client = createHttpClient({
    name: 'odesli',
    rateLimit: apiKey ? { limit: 60, windowMs: 60_000 } : serviceRateLimits.odesli,
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
