import { readFile } from 'node:fs/promises';
import { readFixture } from '@nexstream/testkit';
import { describe, expect, it } from 'vitest';
import {
  describeHttpFailures,
  rejectionOf,
  testSettings,
  useReplayServer,
} from '../../../test/http-engine-harness.js';
import type {
  CollectionLookupResult,
  LookupResult,
  MetadataResult,
  TrackLookupResult,
} from '../../engine.js';
import { createSpotifyEngine } from './spotify-engine.js';
import { mapSpotifyApiTrack } from './spotify-mapping.js';

const fixture = (name: string) => readFixture(new URL(`../../__fixtures__/spotify/${name}`, import.meta.url));
const page = (name: string) =>
  readFile(new URL(`../../__fixtures__/spotify/${name}`, import.meta.url), 'utf8');
const html = async (name: string) => ({
  body: await page(name),
  headers: { 'content-type': 'text/html; charset=utf-8' },
});
const trackRef = { platform: 'spotify', kind: 'track', id: '5W3cjX2J3tjhG8zb6u0qHn' } as const;
const apiCredentials = { clientId: 'client-id', clientSecret: 'client-secret' };

describe('spotify engine', () => {
  const context = useReplayServer();
  const engine = (settings = {}) =>
    context.track(
      createSpotifyEngine({
        baseURL: context.server.url,
        apiBaseURL: context.server.url,
        accountsBaseURL: context.server.url,
        env: {},
        ...testSettings,
        ...settings,
      }),
    );

  it('reads a track from the embed page state, without an ISRC', async () => {
    context.server.on('GET', '/embed/track/5W3cjX2J3tjhG8zb6u0qHn', await html('embed-track.html'));
    const found = (await engine().doLookup!({ ref: trackRef })) as TrackLookupResult;
    expect(found.result).toMatchObject({
      engine: 'spotify',
      isrcAuthoritative: false,
      track: {
        title: 'Harder, Better, Faster, Stronger',
        artists: ['Daft Punk'],
        durationMs: 224_693,
        releaseDate: '2001-03-12',
        explicit: false,
        ids: { spotify: '5W3cjX2J3tjhG8zb6u0qHn' },
      },
    });
    expect(found.result.track.isrc).toBeUndefined();
    // Spotify's three sizes: 640 px is large, 300 px medium, 64 px small.
    expect(found.result.track.coverArt).toEqual({
      small: expect.stringMatching(/4851/),
      medium: expect.stringMatching(/1e02/),
      large: expect.stringMatching(/b273/),
    });
  });

  it('falls back to oEmbed (title only) when the embed page has no readable state', async () => {
    context.server.on('GET', '/embed/track/5W3cjX2J3tjhG8zb6u0qHn', await html('embed-drifted.html'));
    context.server.on('GET', '/oembed', { json: await fixture('oembed.json') });
    const logs: string[] = [];
    const found = (await engine().doLookup!({
      ref: trackRef,
      onLog: (event) => logs.push(event.message),
    })) as TrackLookupResult;
    expect(context.server.requests[1]?.query.get('url')).toBe(
      'https://open.spotify.com/track/5W3cjX2J3tjhG8zb6u0qHn',
    );
    expect(found.result.track).toEqual({
      title: 'Harder, Better, Faster, Stronger',
      artists: [],
      ids: { spotify: '5W3cjX2J3tjhG8zb6u0qHn' },
      coverArt: { medium: 'https://i.scdn.co/image/ab67616d00001e02c2e0e5a2c6e1c1e0' },
    });
    expect(logs.join()).toMatch(/__NEXT_DATA__/);
  });

  it('returns null when Spotify answers 404 for the embed page', async () => {
    context.server.on('GET', /^\/embed\//, { status: 404, body: 'not found' });
    expect(await engine().doLookup!({ ref: trackRef })).toBeNull();
  });

  it('lists an album and a playlist from the embed trackList', async () => {
    context.server.on('GET', '/embed/album/2noRn2Aes5aoNVsU6iWThc', await html('embed-album.html'));
    context.server.on('GET', '/embed/playlist/37i9dQZF1DX0Jc2pjxHiSR', await html('embed-playlist.html'));
    const spotify = engine();
    const album = (await spotify.doLookup!({
      ref: { platform: 'spotify', kind: 'album', id: '2noRn2Aes5aoNVsU6iWThc' },
    })) as CollectionLookupResult;
    expect(album).toMatchObject({ kind: 'album', title: 'Discovery', artists: ['Daft Punk'] });
    expect(
      album.tracks.map((item) => [
        item.track.title,
        item.track.album,
        item.track.durationMs,
        item.track.ids.spotify,
      ]),
    ).toEqual([
      ['One More Time', 'Discovery', 320_357, '0DiWol3AO6WpXZgp0goxAV'],
      ['Harder, Better, Faster, Stronger', 'Discovery', 224_693, '5W3cjX2J3tjhG8zb6u0qHn'],
    ]);
    const playlist = (await spotify.doLookup!({
      ref: { platform: 'spotify', kind: 'playlist', id: '37i9dQZF1DX0Jc2pjxHiSR' },
    })) as CollectionLookupResult;
    // "Daft Punk" is credited alone on another row, so it is cut out; a comma alone splits nothing more.
    expect(playlist.tracks[0]?.track.artists).toEqual(['Daft Punk', 'Pharrell Williams, Nile Rodgers']);
  });

  it('never splits an artist name at its comma in embed track-list subtitles', async () => {
    // No recorded embed page with such a credit was found in public projects: this is our embed-album.html
    // [shape] fixture with its album and row subtitles set to comma-holding names.
    const body = (await page('embed-album.html'))
      .replaceAll('"subtitle": "Daft Punk"', '"subtitle": "Tyler, The Creator"')
      .replace(
        /("title": "Harder, Better, Faster, Stronger", "subtitle": )"Tyler, The Creator"/,
        '$1"Tyler, The Creator, Earth, Wind & Fire"',
      );
    context.server.on('GET', '/embed/album/2noRn2Aes5aoNVsU6iWThc', {
      body,
      headers: { 'content-type': 'text/html' },
    });
    const album = (await engine().doLookup!({
      ref: { platform: 'spotify', kind: 'album', id: '2noRn2Aes5aoNVsU6iWThc' },
    })) as CollectionLookupResult;
    expect(album.artists).toEqual(['Tyler, The Creator']);
    expect(album.tracks.map((item) => item.track.artists)).toEqual([
      ['Tyler, The Creator'],
      ['Tyler, The Creator', 'Earth, Wind & Fire'],
    ]);
  });

  /** Serves our embed-playlist.html fixture changed by `edit` and looks the playlist up. */
  async function editedPlaylist(edit: (body: string) => string): Promise<CollectionLookupResult> {
    context.server.on('GET', '/embed/playlist/37i9dQZF1DX0Jc2pjxHiSR', {
      body: edit(await page('embed-playlist.html')),
      headers: { 'content-type': 'text/html' },
    });
    return (await engine().doLookup!({
      ref: { platform: 'spotify', kind: 'playlist', id: '37i9dQZF1DX0Jc2pjxHiSR' },
    })) as CollectionLookupResult;
  }

  it('takes structured artists of a track-list row over its subtitle', async () => {
    const playlist = await editedPlaylist((body) =>
      body.replace(
        '"subtitle": "Daft Punk, Pharrell Williams, Nile Rodgers",',
        '"subtitle": "Daft Punk, Pharrell Williams, Nile Rodgers", "artists": [{"name": "Daft Punk"}, {"name": "Pharrell Williams"}, {"name": "Nile Rodgers"}],',
      ),
    );
    expect(playlist.tracks[0]?.track.artists).toEqual(['Daft Punk', 'Pharrell Williams', 'Nile Rodgers']);
  });

  it('leaves podcast episodes out of an embed playlist', async () => {
    // The episode row's shape (`uri` spotify:episode:…, `entityType: "episode"`) is what public embed
    // parsers handle; no recorded embed page with an episode was found.
    const playlist = await editedPlaylist((body) =>
      body.replace(
        '"trackList": [',
        '"trackList": [{"uri": "spotify:episode:6Oo1FMgWEQpQKh2mYtsnp5", "uid": "e1", "title": "491- The Missing Middle", "subtitle": "99% Invisible", "duration": 2249560, "isPlayable": true, "entityType": "episode"}, ',
      ),
    );
    expect(playlist.tracks.map((item) => item.track.ids.spotify)).toEqual([
      '2KHRENHQzTIQ001nlP9Gdc',
      '5W3cjX2J3tjhG8zb6u0qHn',
    ]);
  });

  it('maps no podcast episode of a recorded Web API playlist page to a track', async () => {
    const body = (await fixture('playlist-items-episode.json')) as { items: unknown[] };
    const tracks = body.items
      .map((item) => mapSpotifyApiTrack(item))
      .filter((item): item is MetadataResult => item !== undefined);
    expect(tracks.map((item) => [item.track.title, item.track.ids.spotify])).toEqual([
      ['Typhoons', '5aFGo8wHEntVxFI8IF7Wuj'],
    ]);
    const [episode] = body.items as Array<{ track: unknown }>;
    expect(mapSpotifyApiTrack(episode?.track)).toBeUndefined();
  });

  it('without Web API credentials it cannot search', () => {
    const spotify = engine();
    expect(spotify.doSearch).toBeUndefined();
    expect(spotify.capabilities).toEqual(['lookup']);
  });

  it('uses the Web API with client credentials; an ISRC it still returns is only a hint', async () => {
    context.server.on('POST', '/api/token', { json: await fixture('token.json') });
    context.server.on('GET', '/v1/tracks/5W3cjX2J3tjhG8zb6u0qHn', {
      json: await fixture('track-extended-quota.json'),
    });
    const spotify = engine(apiCredentials);
    const found = (await spotify.doLookup!({ ref: trackRef })) as TrackLookupResult;
    await spotify.doLookup!({ ref: trackRef });
    const [tokenRequest, trackRequest] = context.server.requests;
    expect(tokenRequest?.headers.authorization).toBe(
      `Basic ${Buffer.from('client-id:client-secret').toString('base64')}`,
    );
    expect(tokenRequest?.body).toBe('grant_type=client_credentials');
    expect(trackRequest?.headers.authorization).toBe('Bearer BQDtest-access-token');
    expect(context.server.requests.filter((request) => request.path === '/api/token')).toHaveLength(1);
    expect(found.result).toMatchObject({
      isrcAuthoritative: false,
      track: { isrc: 'GBDUW0000059', album: 'Discovery', durationMs: 224_693, releaseDate: '2001-03-12' },
    });
  });

  it('reports the requested id of a relinked track (linked_from), keeping the served one apart', async () => {
    context.server.on('POST', '/api/token', { json: await fixture('token.json') });
    context.server.on('GET', '/v1/tracks/3ISYGHoYnu4gos6JNMfL4z', {
      json: await fixture('track-relinked.json'),
    });
    const found = (await engine(apiCredentials).doLookup!({
      ref: { platform: 'spotify', kind: 'track', id: '3ISYGHoYnu4gos6JNMfL4z' },
    })) as TrackLookupResult;
    expect(found.result).toMatchObject({
      url: 'https://open.spotify.com/track/3ISYGHoYnu4gos6JNMfL4z',
      relinkedId: '2CgOd0Lj5MuvOqzqdaAXtS',
      track: {
        title: 'Shelter',
        artists: ['Porter Robinson', 'Madeon'],
        ids: { spotify: '3ISYGHoYnu4gos6JNMfL4z' },
      },
    });
  });

  it('labels Spotify 640 px cover art large, 300 px medium and 64 px small', async () => {
    context.server.on('POST', '/api/token', { json: await fixture('token.json') });
    context.server.on('GET', '/v1/tracks/3ISYGHoYnu4gos6JNMfL4z', {
      json: await fixture('track-relinked.json'),
    });
    const found = (await engine(apiCredentials).doLookup!({
      ref: { platform: 'spotify', kind: 'track', id: '3ISYGHoYnu4gos6JNMfL4z' },
    })) as TrackLookupResult;
    expect(found.result.track.coverArt).toEqual({
      large: 'https://i.scdn.co/image/86d2ea59969c263d3c82d5ef37013b9a3f18807c',
      medium: 'https://i.scdn.co/image/68f416fd0621950781ac84d273978b9e0a4b7eaa',
      small: 'https://i.scdn.co/image/a0e8487416d4a219b23192bc6eeec705dbae1adb',
    });
  });

  it('reads a Development-Mode track without external_ids', async () => {
    context.server.on('POST', '/api/token', { json: await fixture('token.json') });
    context.server.on('GET', '/v1/tracks/5W3cjX2J3tjhG8zb6u0qHn', {
      json: await fixture('track-development-mode.json'),
    });
    const found = (await engine(apiCredentials).doLookup!({ ref: trackRef })) as TrackLookupResult;
    expect(found.result.track.isrc).toBeUndefined();
    expect(found.result.track.title).toBe('Harder, Better, Faster, Stronger');
  });

  it('refreshes the token once on 401', async () => {
    context.server.on('POST', '/api/token', { json: await fixture('token.json') });
    context.server.on('GET', '/v1/tracks/5W3cjX2J3tjhG8zb6u0qHn', {
      json: await fixture('track-development-mode.json'),
    });
    context.server.on(
      'GET',
      '/v1/tracks/5W3cjX2J3tjhG8zb6u0qHn',
      { status: 401, json: { error: { status: 401, message: 'The access token expired' } } },
      { times: 1 },
    );
    const found = await engine(apiCredentials).doLookup!({ ref: trackRef });
    expect(found?.kind).toBe('track');
    expect(context.server.requests.map((request) => request.path)).toEqual([
      '/api/token',
      '/v1/tracks/5W3cjX2J3tjhG8zb6u0qHn',
      '/api/token',
      '/v1/tracks/5W3cjX2J3tjhG8zb6u0qHn',
    ]);
  });

  it('falls back to the embed page when the Web API says Retry-After: 86400', async () => {
    context.server.on('POST', '/api/token', { json: await fixture('token.json') });
    context.server.on('GET', '/v1/tracks/5W3cjX2J3tjhG8zb6u0qHn', {
      status: 429,
      headers: { 'retry-after': '86400' },
      json: await fixture('error-429.json'),
    });
    context.server.on('GET', '/embed/track/5W3cjX2J3tjhG8zb6u0qHn', await html('embed-track.html'));
    const logs: string[] = [];
    const found = (await engine(apiCredentials).doLookup!({
      ref: trackRef,
      onLog: (event) => logs.push(event.message),
    })) as TrackLookupResult;
    expect(found.result.track.durationMs).toBe(224_693);
    expect(logs.join()).toMatch(/429/);
  });

  it('searches through the Web API with track:/artist: filters', async () => {
    context.server.on('POST', '/api/token', { json: await fixture('token.json') });
    context.server.on('GET', '/v1/search', { json: await fixture('search.json') });
    const results = await engine(apiCredentials).doSearch!({
      track: { title: 'Harder, Better, Faster, Stronger', artists: ['Daft Punk'] },
    });
    expect(context.server.requests[1]?.query.get('q')).toBe(
      'track:"Harder, Better, Faster, Stronger" artist:"Daft Punk"',
    );
    expect(results[0]?.track.ids.spotify).toBe('5W3cjX2J3tjhG8zb6u0qHn');
  });

  it('lists an album through the Web API, with the album name on each track', async () => {
    context.server.on('POST', '/api/token', { json: await fixture('token.json') });
    context.server.on('GET', '/v1/albums/2noRn2Aes5aoNVsU6iWThc', { json: await fixture('album.json') });
    const album = (await engine(apiCredentials).doLookup!({
      ref: { platform: 'spotify', kind: 'album', id: '2noRn2Aes5aoNVsU6iWThc' },
    })) as CollectionLookupResult;
    expect(album).toMatchObject({ title: 'Discovery', total: 14 });
    expect(album.tracks[0]?.track).toMatchObject({
      title: 'One More Time',
      album: 'Discovery',
      durationMs: 320_357,
    });
  });

  it('maps a refused token request to NXS_UNAUTHORIZED naming the env vars', async () => {
    context.server.on('POST', '/api/token', { status: 401, json: { error: 'invalid_client' } });
    context.server.on('GET', '/embed/track/5W3cjX2J3tjhG8zb6u0qHn', { status: 503, json: {} });
    const error = await rejectionOf(engine(apiCredentials).doSearch!({ query: 'x' }));
    expect(error.code).toBe('NXS_UNAUTHORIZED');
    expect(error.message).toMatch(/SPOTIFY_CLIENT_ID/);
    expect(error.message).not.toContain('client-secret');
  });

  it('tolerates unknown extra fields in the embed state', async () => {
    const body = (await page('embed-track.html')).replace(
      '"duration": 224693',
      '"duration": 224693, "newThing": {"a": [1]}',
    );
    context.server.on('GET', '/embed/track/5W3cjX2J3tjhG8zb6u0qHn', {
      body,
      headers: { 'content-type': 'text/html' },
    });
    const found = (await engine().doLookup!({ ref: trackRef })) as LookupResult;
    expect(found.kind === 'track' && found.result.track.durationMs).toBe(224_693);
  });
});

describeHttpFailures({
  method: 'GET',
  path: '/v1/search',
  success: {
    json: { tracks: { items: [{ id: 'abc', name: 'Song', artists: [{ name: 'A' }], duration_ms: 1000 }] } },
  },
  create: (baseURL, settings) => {
    return createSpotifyEngine({
      ...settings,
      ...apiCredentials,
      env: {},
      baseURL,
      apiBaseURL: baseURL,
      accountsBaseURL: `${baseURL}/accounts`,
    });
  },
  prepare: (server) =>
    server.on('POST', '/accounts/api/token', { json: { access_token: 'token', expires_in: 3600 } }),
  call: async (engine, signal) => engine.doSearch!({ query: 'song', ...(signal ? { signal } : {}) }),
  expectSuccess: (result) =>
    expect((result as Array<{ track: { title: string } }>)[0]?.track.title).toBe('Song'),
});
