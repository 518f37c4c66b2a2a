import type { EngineCallOptions, LookupResult, MetadataEngine, MetadataResult } from '../../engine.js';
import { createHttpClient, type HttpEngineSettings } from '../shared/http-client.js';
import { unlessNotFound } from '../shared/not-found.js';
import { serviceRateLimits } from '../shared/rate-limiter.js';
import {
  credential,
  missingCredentials,
  record,
  requireIsrc,
  text,
  unsupportedLookup,
} from '../shared/track-fields.js';
import {
  mapSoundchartsIdentifiers,
  mapSoundchartsSong,
  soundchartsPlatformCodes,
} from './soundcharts-mapping.js';

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
    serviceLimit: serviceRateLimits.soundcharts,
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
      const code = soundchartsPlatformCodes[ref.platform];
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
