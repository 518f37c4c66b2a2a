import type { TrackMetadata } from '@nexstream/core';
import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import type {
  CollectionLookupResult,
  EngineCallOptions,
  LookupRef,
  LookupResult,
  MetadataEngine,
  MetadataResult,
} from '../../engine.js';
import { createHttpClient, type HttpEngineSettings } from '../shared/http-client.js';
import { unlessNotFound } from '../shared/not-found.js';
import { serviceRateLimits } from '../shared/rate-limiter.js';
import {
  credential,
  list,
  missingCredentials,
  record,
  text,
  uniqueNames,
  unsupportedLookup,
} from '../shared/track-fields.js';
import {
  embedCoverArt,
  images,
  isEpisodeOrLocal,
  mapSpotifyApiTrack,
  mapSpotifyEmbedTrack,
  spotifyCoverArt,
  spotifyEmbedEntity,
  spotifySearchQuery,
  spotifyUrl,
  structuredArtists,
} from './spotify-mapping.js';

/** Settings for {@link createSpotifyEngine}. */
export interface SpotifySettings extends HttpEngineSettings {
  /** The public site, for embed pages and oEmbed. Default `https://open.spotify.com`. */
  baseURL?: string;
  /** The Web API. Default `https://api.spotify.com`. */
  apiBaseURL?: string;
  /** The token endpoint's host. Default `https://accounts.spotify.com`. */
  accountsBaseURL?: string;
  /** Web API client id; falls back to `SPOTIFY_CLIENT_ID`. Without id and secret only embed/oEmbed are used. */
  clientId?: string;
  /** Web API client secret; falls back to `SPOTIFY_CLIENT_SECRET`. */
  clientSecret?: string;
  /** Storefront for Web API calls (`market`). Default `US`. */
  market?: string;
}

/**
 * Spotify: tracks, albums, playlists and artists from the public embed page's JSON state, oEmbed as a
 * title-only fallback, and the Web API (client credentials) when `SPOTIFY_CLIENT_ID` /
 * `SPOTIFY_CLIENT_SECRET` are set. Never an ISRC source: the embed page has no ISRC and the Web API's
 * `external_ids` is gone for Development-Mode apps, so any ISRC it returns is only a hint.
 */
export function createSpotifyEngine(settings: SpotifySettings = {}): MetadataEngine {
  const env = settings.env ?? process.env;
  const clientId = credential(settings.clientId, env, 'SPOTIFY_CLIENT_ID');
  const clientSecret = credential(settings.clientSecret, env, 'SPOTIFY_CLIENT_SECRET');
  const hasApi = clientId !== undefined && clientSecret !== undefined;
  const market = settings.market ?? 'US';
  // The public site and the Web API have separate limits: one client (and limiter) each.
  const site = createHttpClient({
    name: 'spotify',
    serviceLimit: serviceRateLimits.spotify,
    ...settings,
    baseURL: settings.baseURL ?? 'https://open.spotify.com',
  });
  const api = hasApi
    ? createHttpClient({
        name: 'spotify-api',
        serviceLimit: serviceRateLimits.spotify,
        credentialsHint: 'check SPOTIFY_CLIENT_ID / SPOTIFY_CLIENT_SECRET',
        ...settings,
        baseURL: settings.apiBaseURL ?? 'https://api.spotify.com',
      })
    : undefined;
  const accountsBaseURL = settings.accountsBaseURL ?? 'https://accounts.spotify.com';
  let token: { value: string; expiresAt: number } | undefined;
  let pendingToken: Promise<string> | undefined;

  async function accessToken(call: EngineCallOptions, refresh = false): Promise<string> {
    if (!api) {
      throw missingCredentials('spotify', [
        { option: 'clientId', variable: 'SPOTIFY_CLIENT_ID' },
        { option: 'clientSecret', variable: 'SPOTIFY_CLIENT_SECRET' },
      ]);
    }
    if (!refresh && token && token.expiresAt > Date.now()) return token.value;
    pendingToken ??= (async () => {
      try {
        const response = await api.json({
          method: 'POST',
          baseURL: accountsBaseURL,
          path: '/api/token',
          form: { grant_type: 'client_credentials' },
          headers: {
            authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
          },
          signal: call.signal,
          onLog: call.onLog,
        });
        const body = record(response.data);
        const value = text(body.access_token);
        if (!value) {
          throw new NexStreamError(
            NexStreamErrorCode.Upstream,
            `[POST] "${response.url}": no access_token in the token response`,
            { retryable: true },
          );
        }
        const lifetimeS = typeof body.expires_in === 'number' ? body.expires_in : 3600;
        token = { value, expiresAt: Date.now() + Math.max(0, lifetimeS - 60) * 1000 };
        return value;
      } finally {
        pendingToken = undefined;
      }
    })();
    return pendingToken;
  }

  /** A Web API GET with the bearer token; `null` on 404; one token refresh on 401. */
  async function apiGet(
    path: string,
    call: EngineCallOptions,
    query?: Record<string, string | number>,
  ): Promise<Record<string, unknown> | null> {
    if (!api) return null;
    for (let attempt = 0; ; attempt++) {
      const bearer = await accessToken(call, attempt > 0);
      const response = await unlessNotFound(
        api.json({
          path,
          query,
          headers: { authorization: `Bearer ${bearer}` },
          signal: call.signal,
          onLog: call.onLog,
          acceptStatus: attempt === 0 ? [401] : [],
        }),
        null,
      );
      if (!response) return null;
      if (response.status === 401) continue;
      return record(response.data);
    }
  }

  /** The embed page's entity; `null` when Spotify says 404; `undefined` when the page has no readable state. */
  async function embed(
    ref: LookupRef,
    call: EngineCallOptions,
  ): Promise<Record<string, unknown> | null | undefined> {
    const response = await unlessNotFound(
      site.text({
        path: `/embed/${ref.kind}/${encodeURIComponent(ref.id)}`,
        headers: { accept: 'text/html' },
        signal: call.signal,
        onLog: call.onLog,
      }),
      null,
    );
    if (!response) return null;
    const entity = spotifyEmbedEntity(response.data);
    if (!entity) {
      call.onLog?.({
        type: 'log',
        level: 'warn',
        source: 'spotify',
        message: `${response.url}: no __NEXT_DATA__ entity in the embed page (structure drift?)`,
        at: Date.now(),
      });
    }
    return entity;
  }

  async function oembed(ref: LookupRef, call: EngineCallOptions): Promise<MetadataResult | null> {
    // oEmbed answers 400 for a URL it cannot resolve: its own spelling of "not found".
    const response = await unlessNotFound(
      site.json({
        path: '/oembed',
        query: { url: spotifyUrl(ref.kind, ref.id) },
        signal: call.signal,
        onLog: call.onLog,
        acceptStatus: [400],
      }),
      null,
    );
    if (response?.status !== 200) return null;
    const body = record(response.data);
    const title = text(body.title);
    if (!title) return null;
    const track: TrackMetadata = { title, artists: [], ids: { spotify: ref.id } };
    const thumbnail = text(body.thumbnail_url);
    if (thumbnail) track.coverArt = { medium: thumbnail };
    return { engine: 'spotify', track, isrcAuthoritative: false, url: spotifyUrl('track', ref.id) };
  }

  function embedCollection(ref: LookupRef, entity: Record<string, unknown>): CollectionLookupResult {
    const title = text(entity.name) ?? text(entity.title) ?? '';
    // An album's subtitle is its artist credit, kept whole: a comma may be part of a name.
    const artists =
      ref.kind === 'artist'
        ? uniqueNames([title])
        : list(entity.artists).length
          ? structuredArtists(entity.artists)
          : ref.kind === 'album'
            ? uniqueNames([text(entity.subtitle)])
            : [];
    const rows = list(entity.trackList)
      .map(record)
      .filter((item) => !isEpisodeOrLocal(item));
    // Names the page states on their own: the collection's artists, structured row artists, and rows
    // credited to a single artist (no comma). They are cut out of the comma-joined subtitles.
    const knownNames = [
      ...artists,
      ...rows.flatMap((item) => structuredArtists(item.artists)),
      ...rows
        .map((item) => text(item.subtitle))
        .filter((name): name is string => name !== undefined && !name.includes(',')),
    ];
    const tracks = rows
      .map((item) => mapSpotifyEmbedTrack(item, ref.kind === 'album' ? title : undefined, knownNames))
      .filter((item): item is MetadataResult => item !== undefined);
    const result: CollectionLookupResult = {
      kind: ref.kind as CollectionLookupResult['kind'],
      engine: 'spotify',
      title,
      artists,
      ids: { spotify: ref.id },
      tracks,
      url: spotifyUrl(ref.kind, ref.id),
    };
    const art = embedCoverArt(entity);
    if (art) result.coverArt = art;
    return result;
  }

  async function lookupTrack(ref: LookupRef, call: EngineCallOptions): Promise<LookupResult | null> {
    if (api) {
      try {
        const body = await apiGet(`/v1/tracks/${encodeURIComponent(ref.id)}`, call, { market });
        const result = body ? mapSpotifyApiTrack(body) : undefined;
        if (result) return { kind: 'track', result };
      } catch (error) {
        // A throttled or refused Web API must not hide the embed page, which is another host and limit.
        if (!NexStreamError.is(error) || error.code === NexStreamErrorCode.Aborted) throw error;
        call.onLog?.({
          type: 'log',
          level: 'warn',
          source: 'spotify',
          message: error.message,
          at: Date.now(),
        });
      }
    }
    const entity = await embed(ref, call);
    if (entity === null) return null;
    const result = entity ? mapSpotifyEmbedTrack(entity) : undefined;
    if (result) return { kind: 'track', result };
    const fallback = await oembed(ref, call);
    return fallback ? { kind: 'track', result: fallback } : null;
  }

  async function lookupAlbumViaApi(
    ref: LookupRef,
    call: EngineCallOptions,
  ): Promise<CollectionLookupResult | null> {
    const body = await apiGet(`/v1/albums/${encodeURIComponent(ref.id)}`, call, { market });
    if (!body) return null;
    const albumTracks = record(body.tracks);
    const tracks = list(albumTracks.items)
      .map((item) => mapSpotifyApiTrack(item, body))
      .filter((item): item is MetadataResult => item !== undefined);
    const result: CollectionLookupResult = {
      kind: 'album',
      engine: 'spotify',
      title: text(body.name) ?? '',
      artists: uniqueNames(list(body.artists).map((artist) => text(record(artist).name))),
      ids: { spotify: ref.id },
      tracks,
      url: spotifyUrl('album', ref.id),
    };
    const art = spotifyCoverArt(images(body.images));
    if (art) result.coverArt = art;
    if (typeof albumTracks.total === 'number' && albumTracks.total > tracks.length)
      result.total = albumTracks.total;
    return result;
  }

  const engine: MetadataEngine = {
    kind: 'metadata',
    id: 'spotify',
    tier: 0,
    capabilities: hasApi ? ['search', 'lookup'] : ['lookup'],
    lookupPlatforms: ['spotify'],
    provesIsrc: false,
    async doLookup({ ref, signal, onLog }) {
      if (ref.platform !== 'spotify') throw unsupportedLookup('spotify', `${ref.platform} ids`);
      const call = { signal, onLog };
      if (ref.kind === 'track') return lookupTrack(ref, call);
      if (ref.kind === 'album' && api) {
        try {
          const result = await lookupAlbumViaApi(ref, call);
          if (result) return result;
        } catch (error) {
          if (!NexStreamError.is(error) || error.code === NexStreamErrorCode.Aborted) throw error;
          onLog?.({ type: 'log', level: 'warn', source: 'spotify', message: error.message, at: Date.now() });
        }
      }
      const entity = await embed(ref, call);
      if (!entity) {
        if (entity === null) return null;
        throw new NexStreamError(
          NexStreamErrorCode.Upstream,
          `spotify: the embed page of ${ref.kind} ${ref.id} has no readable state (structure drift?); try again later`,
          { retryable: false },
        );
      }
      return embedCollection(ref, entity);
    },
    close: async () => {
      await Promise.all([site.close(), api?.close()]);
    },
  };
  if (hasApi) {
    engine.doSearch = async (options) => {
      const q = options.track ? spotifySearchQuery(options.track) : options.query;
      const body = await apiGet('/v1/search', options, {
        q,
        type: 'track',
        limit: options.limit ?? 10,
        market,
      });
      return list(record(body?.tracks).items)
        .map((item) => mapSpotifyApiTrack(item))
        .filter((item): item is MetadataResult => item !== undefined);
    };
  }
  return engine;
}
