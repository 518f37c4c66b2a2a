import { readFixture } from '@nexstream/testkit';
import { describe, expect, it } from 'vitest';
import {
  describeHttpFailures,
  rejectionOf,
  testSettings,
  useReplayServer,
} from '../../../test/http-engine-harness.js';
import type { CollectionLookupResult, MetadataResult } from '../../engine.js';
import { createItunesEngine } from './itunes-engine.js';
import { itunesArtwork } from './itunes-mapping.js';

const fixture = (name: string) => readFixture(new URL(`../../__fixtures__/itunes/${name}`, import.meta.url));

describe('itunes engine', () => {
  const context = useReplayServer();
  const engine = (settings = {}) =>
    context.track(createItunesEngine({ baseURL: context.server.url, ...testSettings, ...settings }));

  it('searches songs and maps them without an ISRC, with artwork rewritten to three sizes', async () => {
    context.server.on('GET', '/search', { json: await fixture('search.json') });
    const results = await engine().doSearch!({
      track: { title: 'Thinking Out Loud', artists: ['Ed Sheeran'] },
    });
    const query = context.server.requests[0]?.query;
    expect(query?.get('term')).toBe('Ed Sheeran Thinking Out Loud');
    expect(query?.get('entity')).toBe('song');
    expect(results[0]).toMatchObject({
      engine: 'itunes',
      isrcAuthoritative: false,
      track: {
        title: 'Thinking Out Loud',
        artists: ['Ed Sheeran'],
        album: 'x (Deluxe Edition)',
        durationMs: 281_560,
        releaseDate: '2014-06-20',
        explicit: false,
        ids: { apple: '858517200' },
      },
    });
    expect(results[0]?.track.isrc).toBeUndefined();
    expect(results[0]?.track.coverArt?.large).toMatch(/\/1000x1000bb\.jpg$/);
    expect(results[0]?.track.coverArt?.small).toMatch(/\/100x100bb\.jpg$/);
  });

  it('has no ISRC look-up: the method is absent', () => {
    const itunes = engine();
    expect(itunes.doFindByIsrc).toBeUndefined();
    expect(itunes.capabilities).not.toContain('isrc');
    expect(itunes.provesIsrc).toBe(false);
  });

  it('looks up a track by id in the ref storefront', async () => {
    context.server.on('GET', '/lookup', { json: await fixture('lookup-track.json') });
    const found = await engine().doLookup!({
      ref: { platform: 'apple', kind: 'track', id: '858517200', region: 'id' },
    });
    expect(context.server.requests[0]?.query.get('country')).toBe('id');
    expect(found?.kind === 'track' && found.result.track.title).toBe('Thinking Out Loud');
  });

  it('returns null for an id without results', async () => {
    context.server.on('GET', '/lookup', { json: await fixture('empty.json') });
    expect(await engine().doLookup!({ ref: { platform: 'apple', kind: 'track', id: '1' } })).toBeNull();
  });

  it('lists an album from the collection wrapper and its songs', async () => {
    context.server.on('GET', '/lookup', { json: await fixture('lookup-album.json') });
    const album = (await engine().doLookup!({
      ref: { platform: 'apple', kind: 'album', id: '858512800' },
    })) as CollectionLookupResult;
    expect(context.server.requests[0]?.query.get('entity')).toBe('song');
    expect(album).toMatchObject({
      kind: 'album',
      title: 'x (Deluxe Edition)',
      artists: ['Ed Sheeran'],
      total: 16,
    });
    expect(album.tracks.map((item: MetadataResult) => item.track.title)).toEqual(['Thinking Out Loud']);
  });

  it('maps a throttling 403 (no Retry-After) to a retryable NXS_RATE_LIMITED and holds later calls', async () => {
    context.server.on('GET', '/search', { status: 403, body: '' });
    const itunes = engine({ rateLimit: { limit: 100, windowMs: 1_000 } });
    const error = await rejectionOf(itunes.doSearch!({ query: 'x' }));
    expect(error.code).toBe('NXS_RATE_LIMITED');
    expect(error.retryAfterMs).toBe(60_000);
    expect((await rejectionOf(itunes.doSearch!({ query: 'y' }))).code).toBe('NXS_RATE_LIMITED');
    expect(context.server.requests).toHaveLength(1);
  });

  it('tolerates unknown extra fields and skips non-song results', async () => {
    const body = (await fixture('search.json')) as { results: object[] };
    const results = [
      { wrapperType: 'track', kind: 'music-video', trackId: 1, trackName: 'Video' },
      { ...body.results[0], hasLyrics: true, audioTraits: ['lossless'], newField: { nested: 1 } },
    ];
    context.server.on('GET', '/search', { json: { resultCount: 2, results, extra: true } });
    const found = await engine().doSearch!({ query: 'thinking out loud' });
    expect(found.map((item) => item.track.title)).toEqual(['Thinking Out Loud']);
  });

  it('rewrites artwork URLs to a size', () => {
    expect(itunesArtwork('https://x/source/100x100bb.jpg', 600)).toBe('https://x/source/600x600bb.jpg');
  });
});

describeHttpFailures({
  method: 'GET',
  path: '/search',
  success: {
    json: {
      resultCount: 1,
      results: [{ wrapperType: 'track', kind: 'song', trackId: 5, trackName: 'Song', artistName: 'A' }],
    },
  },
  create: (baseURL, settings) => createItunesEngine({ ...settings, baseURL }),
  call: (engine, signal) => engine.doSearch!({ query: 'song', ...(signal ? { signal } : {}) }),
  expectSuccess: (result) => expect((result as MetadataResult[])[0]?.track.title).toBe('Song'),
});
