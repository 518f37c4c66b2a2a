import { readFixture } from '@nexstream/testkit';
import { describe, expect, it } from 'vitest';
import {
  describeHttpFailures,
  rejectionOf,
  testSettings,
  useReplayServer,
} from '../../../test/http-engine-harness.js';
import type { CollectionLookupResult, MetadataResult } from '../../engine.js';
import { createDeezerEngine } from './deezer-engine.js';
import { deezerAdvancedQuery } from './deezer-mapping.js';

const fixture = (name: string) => readFixture(new URL(`../../__fixtures__/deezer/${name}`, import.meta.url));

describe('deezer engine', () => {
  const context = useReplayServer();
  const engine = (settings = {}) =>
    context.track(createDeezerEngine({ baseURL: context.server.url, ...testSettings, ...settings }));

  it('finds a track by ISRC with an authoritative ISRC, duration in ms and cover art by size', async () => {
    context.server.on('GET', '/track/isrc:GBDUW0000059', { json: await fixture('track-isrc.json') });
    const result = await engine().doFindByIsrc!({ isrc: 'gb-duw-00-00059' });
    expect(result).toMatchObject({
      engine: 'deezer',
      isrcAuthoritative: true,
      url: 'https://www.deezer.com/track/3135556',
      track: {
        title: 'Harder Better Faster Stronger',
        artists: ['Daft Punk'],
        album: 'Discovery',
        durationMs: 224_000,
        isrc: 'GBDUW0000059',
        releaseDate: '2001-03-07',
        explicit: false,
        ids: { deezer: '3135556' },
      },
    });
    expect(result?.track.coverArt?.large).toMatch(/1000x1000/);
    expect(result?.track.coverArt?.small).toMatch(/56x56/);
  });

  it('flags a track Deezer lists as not readable with playable: false', async () => {
    // No recorded body with `readable: false` was found in public projects: this is the recorded
    // track-isrc.json (deezer-python) with that one field set to false.
    const body = { ...((await fixture('track-isrc.json')) as Record<string, unknown>), readable: false };
    context.server.on('GET', '/track/isrc:GBDUW0000059', { json: body });
    const result = await engine().doFindByIsrc!({ isrc: 'GBDUW0000059' });
    expect(result).toMatchObject({ playable: false, track: { isrc: 'GBDUW0000059' } });
    context.server.on('GET', '/track/3135556', { json: await fixture('track-isrc.json') });
    const readable = await engine().doLookup!({ ref: { platform: 'deezer', kind: 'track', id: '3135556' } });
    expect(readable?.kind === 'track' && readable.result.playable).toBeUndefined();
  });

  it('returns null when Deezer answers "no data" (code 800) inside an HTTP 200', async () => {
    context.server.on('GET', /^\/track\//, { json: await fixture('error-no-data.json') });
    expect(await engine().doFindByIsrc!({ isrc: 'USAAA0000001' })).toBeNull();
    expect(await engine().doLookup!({ ref: { platform: 'deezer', kind: 'track', id: '-1' } })).toBeNull();
  });

  it('retries a quota error (code 4) with backoff and then succeeds', async () => {
    context.server.on('GET', '/track/isrc:GBDUW0000059', { json: await fixture('track-isrc.json') });
    context.server.on(
      'GET',
      '/track/isrc:GBDUW0000059',
      { json: await fixture('error-quota.json') },
      { times: 2 },
    );
    const result = await engine().doFindByIsrc!({ isrc: 'GBDUW0000059' });
    expect(result?.track.isrc).toBe('GBDUW0000059');
    expect(context.server.requests).toHaveLength(3);
  });

  it('gives a retryable NXS_RATE_LIMITED when the quota error persists past the retries', async () => {
    context.server.on('GET', '/track/isrc:GBDUW0000059', { json: await fixture('error-quota.json') });
    const error = await rejectionOf(engine().doFindByIsrc!({ isrc: 'GBDUW0000059' }));
    expect(error.code).toBe('NXS_RATE_LIMITED');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/Quota limit exceeded/);
    expect(context.server.requests).toHaveLength(3);
  });

  it('maps an invalid query (code 600) to a non-retryable NXS_INVALID_INPUT', async () => {
    context.server.on('GET', '/search', { json: await fixture('error-query-invalid.json') });
    const error = await rejectionOf(engine().doSearch!({ query: 'artist:"' }));
    expect(error.code).toBe('NXS_INVALID_INPUT');
    expect(error.retryable).toBe(false);
  });

  it('does not let a track with another ISRC prove the asked one', async () => {
    const body = { ...((await fixture('track-isrc.json')) as object), isrc: 'GBDUW0000060' };
    context.server.on('GET', '/track/isrc:GBDUW0000059', { json: body });
    const result = await engine().doFindByIsrc!({ isrc: 'GBDUW0000059' });
    expect(result?.isrcAuthoritative).toBe(false);
  });

  it('runs an advanced search with artist, track and a duration window; results carry no ISRC', async () => {
    context.server.on('GET', '/search', { json: await fixture('search-advanced.json') });
    const results = await engine().doSearch!({
      track: { title: 'Harder Better Faster Stronger', artists: ['Daft Punk'], durationMs: 224_693 },
    });
    expect(context.server.requests[0]?.query.get('q')).toBe(
      'artist:"Daft Punk" track:"Harder Better Faster Stronger" dur_min:215 dur_max:235',
    );
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({
      isrcAuthoritative: false,
      track: { durationMs: 224_000, album: 'Discovery' },
    });
    expect(results[0]?.track.isrc).toBeUndefined();
  });

  it('returns [] for a search without hits', async () => {
    context.server.on('GET', '/search', { json: await fixture('search-empty.json') });
    expect(await engine().doSearch!({ query: 'zzqx' })).toEqual([]);
  });

  it('lists an album with its tracks', async () => {
    context.server.on('GET', '/album/302127', { json: await fixture('album.json') });
    const album = (await engine().doLookup!({
      ref: { platform: 'deezer', kind: 'album', id: '302127' },
    })) as CollectionLookupResult;
    expect(album).toMatchObject({ kind: 'album', title: 'Discovery', artists: ['Daft Punk'], total: 14 });
    expect(album.tracks[0]?.track).toMatchObject({
      title: 'One More Time',
      album: 'Discovery',
      durationMs: 320_000,
    });
    expect(album.coverArt?.large).toMatch(/1000x1000/);
  });

  it("lists an artist's top tracks with featured artists after the main one", async () => {
    context.server.on('GET', '/artist/27', { json: await fixture('artist.json') });
    context.server.on('GET', '/artist/27/top', { json: await fixture('artist-top.json') });
    const artist = (await engine().doLookup!({
      ref: { platform: 'deezer', kind: 'artist', id: '27' },
    })) as CollectionLookupResult;
    expect(artist).toMatchObject({ kind: 'artist', title: 'Daft Punk', total: 100 });
    expect(artist.tracks[0]?.track.artists).toEqual(['Daft Punk', 'Julian Casablancas']);
  });

  it('tolerates unknown extra fields in a body', async () => {
    const body = {
      ...((await fixture('track-isrc.json')) as object),
      md5_image: '2e018122cb56986277102d2041a592c8',
      track_token: 'AAAA',
      lyrics: { sync: true, future: [1, 2] },
    };
    context.server.on('GET', '/track/3135556', { json: body });
    const found = await engine().doLookup!({ ref: { platform: 'deezer', kind: 'track', id: '3135556' } });
    expect(found?.kind === 'track' && (found.result as MetadataResult).track.isrc).toBe('GBDUW0000059');
  });

  it('refuses an ISRC that is not one, without a request', async () => {
    const error = await rejectionOf(engine().doFindByIsrc!({ isrc: 'not-an-isrc' }));
    expect(error.code).toBe('NXS_INVALID_INPUT');
    expect(context.server.requests).toHaveLength(0);
  });

  it('builds the advanced query without a duration when none is known', () => {
    expect(deezerAdvancedQuery({ title: 'Say "Hi"', artists: ['A'] })).toBe('artist:"A" track:"Say  Hi"');
  });
});

describeHttpFailures({
  method: 'GET',
  path: '/track/isrc:GBDUW0000059',
  success: {
    json: {
      id: 3135556,
      title: 'Harder Better Faster Stronger',
      isrc: 'GBDUW0000059',
      duration: 224,
      artist: { name: 'Daft Punk' },
    },
  },
  create: (baseURL, settings) => createDeezerEngine({ ...settings, baseURL }),
  call: (engine, signal) => engine.doFindByIsrc!({ isrc: 'GBDUW0000059', ...(signal ? { signal } : {}) }),
  expectSuccess: (result) => expect((result as MetadataResult).track.isrc).toBe('GBDUW0000059'),
});
