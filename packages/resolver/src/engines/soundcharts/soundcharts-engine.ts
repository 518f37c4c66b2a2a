import type { Platform, PlatformIds, TrackMetadata } from '@nexstream/core';
import { parseIsrc } from '@nexstream/core';
import type { EngineCallOptions, LookupResult, MetadataEngine, MetadataResult } from '../../engine.js';
import { createHttpClient, type HttpEngineSettings } from '../shared/http-client.js';
import { unlessNotFound } from '../shared/not-found.js';
import { serviceRateLimits } from '../shared/rate-limiter.js';
import {
  credential,
  isoDate,
  list,
  missingCredentials,
  record,
  requireIsrc,
  secondsToMs,
  text,
  uniqueNames,
  unsupportedLookup,
} from '../shared/track-fields.js';

/** Settings for {@link createSoundchartsEngine}. */
export interface SoundchartsSettings extends HttpEngineSettings {
  /** Default `https://customer.api.soundcharts.com`. */
  baseURL?: string;
  /** The `x-app-id` credential; falls back to `SOUNDCHARTS_APP_ID`. The sandbox uses `soundcharts`. */
  appId?: string;
  /** The `x-api-key` credential; falls back to `SOUNDCHARTS_API_KEY`. */
  apiKey?: string;
  /** The song endpoints' API version. Default `v2.25`. */
  apiVersion?: string;
  /**
   * Also fetch `/api/v2/song/{uuid}/identifiers` to fill cross-platform ids (one more call, counted
   * against the plan's quota). Default false.
   */
  fetchIdentifiers?: boolean;
}

/** Soundcharts' platform codes for the platforms NexStream knows. */
const platformCodes: Record<Platform, string> = {
  spotify: 'spotify',
  deezer: 'deezer',
  apple: 'apple-music',
  youtube: 'youtube',
};

/** True when Soundcharts credentials are configured (options or env). */
export function hasSoundchartsCredentials(
  settings: Pick<SoundchartsSettings, 'appId' | 'apiKey' | 'env'> = {},
): boolean {
  const env = settings.env ?? process.env;
  return (
    credential(settings.appId, env, 'SOUNDCHARTS_APP_ID') !== undefined &&
    credential(settings.apiKey, env, 'SOUNDCHARTS_API_KEY') !== undefined
  );
}

/** Maps a Soundcharts song envelope (`{type:"song", object:{…}}`) to a result; its ISRC is authoritative. */
export function mapSoundchartsSong(value: unknown): MetadataResult | undefined {
  const song = record(record(value).object);
  const title = text(song.name);
  if (!title) return undefined;
  const isrcField = song.isrc;
  const isrc = parseIsrc(typeof isrcField === 'string' ? isrcField : record(isrcField).value);
  const artists = uniqueNames(list(song.artists).map((artist) => text(record(artist).name)));
  const track: TrackMetadata = {
    title,
    artists: artists.length > 0 ? artists : uniqueNames([text(song.creditName)]),
    ids: {},
  };
  // The schema does not state the unit; observed values (189 for a ~3 min song) are seconds.
  const durationMs = secondsToMs(song.duration);
  if (durationMs) track.durationMs = durationMs;
  if (isrc) track.isrc = isrc;
  const image = text(song.imageUrl);
  if (image) track.coverArt = { medium: image };
  const releaseDate = isoDate(song.releaseDate);
  if (releaseDate) track.releaseDate = releaseDate;
  if (typeof song.explicit === 'boolean') track.explicit = song.explicit;
  const result: MetadataResult = { engine: 'soundcharts', track, isrcAuthoritative: isrc !== undefined };
  const url = text(song.appUrl);
  if (url) result.url = url;
  return result;
}

/** Maps `/song/{uuid}/identifiers` items to platform ids (the default identifier per platform). */
export function mapSoundchartsIdentifiers(value: unknown): PlatformIds {
  const ids: PlatformIds = {};
  const byCode = new Map(
    Object.entries(platformCodes).map(([platform, code]) => [code, platform as Platform]),
  );
  for (const item of list(record(value).items).map(record)) {
    const platform = byCode.get(text(item.platformCode) ?? '');
    const identifier = text(item.identifier);
    if (!platform || !identifier) continue;
    if (ids[platform] === undefined || item.default === true) ids[platform] = identifier;
  }
  return ids;
}

/**
 * Soundcharts: songs by ISRC (authoritative) and by platform id. Only available with credentials
 * (`SOUNDCHARTS_APP_ID` / `SOUNDCHARTS_API_KEY`). 404 and 410 ("ISRC blacklisted": several DSP tracks)
 * are "not found". Mind its terms: they forbid redistributing its data.
 *
 * @throws NexStreamError `NXS_INVALID_INPUT` when no credentials are configured.
 */
export function createSoundchartsEngine(settings: SoundchartsSettings = {}): MetadataEngine {
  const env = settings.env ?? process.env;
  const appId = credential(settings.appId, env, 'SOUNDCHARTS_APP_ID');
  const apiKey = credential(settings.apiKey, env, 'SOUNDCHARTS_API_KEY');
  if (!appId || !apiKey) {
    throw missingCredentials('soundcharts', [
      { option: 'appId', variable: 'SOUNDCHARTS_APP_ID' },
      { option: 'apiKey', variable: 'SOUNDCHARTS_API_KEY' },
    ]);
  }
  const version = settings.apiVersion ?? 'v2.25';
  const client = createHttpClient({
    name: 'soundcharts',
    rateLimit: serviceRateLimits.soundcharts,
    credentialsHint:
      'check SOUNDCHARTS_APP_ID / SOUNDCHARTS_API_KEY and that the plan includes this endpoint',
    ...settings,
    headers: { 'x-app-id': appId, 'x-api-key': apiKey, ...settings.headers },
    baseURL: settings.baseURL ?? 'https://customer.api.soundcharts.com',
  });

  async function song(path: string, call: EngineCallOptions): Promise<MetadataResult | null> {
    const response = await unlessNotFound(client.json({ path, ...call, acceptStatus: [410] }), null);
    if (!response) return null;
    if (response.status === 410) {
      call.onLog?.({
        type: 'log',
        level: 'warn',
        source: 'soundcharts',
        message: `${response.url}: 410, the ISRC is blacklisted (several DSP tracks share it)`,
        at: Date.now(),
      });
      return null;
    }
    const result = mapSoundchartsSong(response.data);
    if (!result) return null;
    const uuid = text(record(record(response.data).object).uuid);
    if (settings.fetchIdentifiers && uuid) {
      const identifiers = await unlessNotFound(
        client.json({ path: `/api/v2/song/${uuid}/identifiers`, ...call }),
        null,
      );
      if (identifiers) {
        result.track.ids = { ...mapSoundchartsIdentifiers(identifiers.data), ...result.track.ids };
      }
    }
    return result;
  }

  return {
    kind: 'metadata',
    id: 'soundcharts',
    tier: 0,
    capabilities: ['isrc', 'lookup'],
    lookupPlatforms: ['spotify', 'deezer', 'apple', 'youtube'],
    provesIsrc: true,
    async doFindByIsrc({ isrc, signal, onLog }) {
      return song(`/api/${version}/song/by-isrc/${requireIsrc(isrc, 'soundcharts')}`, { signal, onLog });
    },
    async doLookup({ ref, signal, onLog }): Promise<LookupResult | null> {
      if (ref.kind !== 'track') throw unsupportedLookup('soundcharts', `${ref.kind}s`);
      const code = platformCodes[ref.platform];
      const result = await song(`/api/${version}/song/by-platform/${code}/${encodeURIComponent(ref.id)}`, {
        signal,
        onLog,
      });
      if (!result) return null;
      result.track.ids = { ...result.track.ids, [ref.platform]: ref.id };
      return { kind: 'track', result };
    },
    close: () => client.close(),
  };
}
