import { readFixture } from '@nexstream/testkit';
import { describe, expect, it } from 'vitest';
import {
  describeHttpFailures,
  rejectionOf,
  testSettings,
  useReplayServer,
} from '../../../test/http-engine-harness.js';
import type { MetadataResult } from '../../engine.js';
import { checkIsrcAuthority } from '../../verification.js';
import { createMusicBrainzEngine } from './musicbrainz-engine.js';
import {
  mapMusicBrainzRecording,
  musicBrainzRecordingQuery,
  musicBrainzTitle,
} from './musicbrainz-mapping.js';

const fixture = (name: string) =>
  readFixture(new URL(`../../__fixtures__/musicbrainz/${name}`, import.meta.url));
/** The recorded video recording (see the fixtures README); its relations hold the audio recording. */
const body = (await fixture('recording-video.json')) as {
  relations: Array<{ type: string; recording?: unknown }>;
};

describe('musicbrainz engine', () => {
  const context = useReplayServer();
  const engine = (settings = {}) =>
    context.track(createMusicBrainzEngine({ baseURL: context.server.url, ...testSettings, ...settings }));

  it('looks up an ISRC with inc=artists+releases and a NexStream User-Agent with a contact', async () => {
    context.server.on('GET', '/ws/2/isrc/GBDUW0000059', { json: await fixture('isrc.json') });
    const result = await engine({ contact: 'ops@example.org' }).doFindByIsrc!({ isrc: 'GBDUW0000059' });
    const request = context.server.requests[0];
    expect(request?.query.get('inc')).toBe('artists releases');
    expect(request?.query.get('fmt')).toBe('json');
    expect(request?.headers['user-agent']).toMatch(/^NexStream\/\d+\.\d+\.\d+ \( ops@example\.org \)$/);
    expect(result).toMatchObject({
      engine: 'musicbrainz',
      isrcAuthoritative: true,
      track: {
        title: 'Harder, Better, Faster, Stronger',
        artists: ['Daft Punk'],
        album: 'Discovery',
        durationMs: 224_693,
        isrc: 'GBDUW0000059',
        releaseDate: '2001-03-12',
      },
    });
    expect(result?.track.coverArt?.large).toMatch(
      /^https:\/\/coverartarchive\.org\/release\/.+\/front-1200$/,
    );
  });

  it('returns null for an unknown ISRC (404)', async () => {
    context.server.on('GET', /^\/ws\/2\/isrc\//, { status: 404, json: await fixture('not-found.json') });
    expect(await engine().doFindByIsrc!({ isrc: 'USAAA0000001' })).toBeNull();
  });

  it('retries the 503 MusicBrainz sends over its rate limit, then succeeds', async () => {
    context.server.on('GET', '/ws/2/isrc/GBDUW0000059', { json: await fixture('isrc.json') });
    context.server.on(
      'GET',
      '/ws/2/isrc/GBDUW0000059',
      { status: 503, json: await fixture('rate-limited.json') },
      { times: 1 },
    );
    const result = await engine().doFindByIsrc!({ isrc: 'GBDUW0000059' });
    expect(result?.track.isrc).toBe('GBDUW0000059');
    expect(context.server.requests).toHaveLength(2);
  });

  it('searches recordings; a recording with one ISRC carries it, one with several does not', async () => {
    context.server.on('GET', '/ws/2/recording', { json: await fixture('recording-search.json') });
    const results = await engine().doSearch!({
      track: { title: 'Harder, Better, Faster, Stronger', artists: ['Daft Punk'], durationMs: 224_693 },
    });
    expect(context.server.requests[0]?.query.get('query')).toBe(
      'recording:"Harder, Better, Faster, Stronger" AND artist:"Daft Punk" AND dur:[214693 TO 234693]',
    );
    expect(results.map((item) => [item.track.isrc, item.isrcAuthoritative, item.relevance])).toEqual([
      ['GBDUW0000059', true, 1],
      [undefined, false, 0.87],
    ]);
  });

  it("carries the credited artists' sort names and aliases (a real recorded search) as artistAliases", async () => {
    context.server.on('GET', '/ws/2/recording', { json: await fixture('recording-search-aliases.json') });
    const [kawai, tamura] = await engine().doSearch!({
      track: { title: '残酷な天使のテーゼ', artists: ['Eri Kawai'] },
    });
    expect(kawai?.track.artists).toEqual(['河井英里']);
    expect(kawai?.track.artistAliases).toEqual(
      expect.arrayContaining(['Kawai, Eri', 'Eri Kawai', 'Erie', '河井英理', 'エリ']),
    );
    expect(kawai?.track.artistAliases).not.toContain('河井英里');
    expect(tamura?.track.artistAliases).toEqual(
      expect.arrayContaining(['Tamura, Naomi', 'Naomi Tamura', 'たむら なおみ']),
    );
    // The sort name is what ties the Latin credit of another service to this recording's ISRC.
    const reference = { title: '残酷な天使のテーゼ', artists: ['Eri Kawai'], durationMs: 331_000, ids: {} };
    expect(checkIsrcAuthority(reference, kawai!).authority?.isrc).toBe('JPPI00152140');
    expect(
      checkIsrcAuthority(reference, { ...kawai!, track: { ...kawai!.track, artistAliases: [] } }).authority,
    ).toBe(undefined);
  });

  it('carries a disambiguation into the title and marks a video recording (a real recorded body)', () => {
    // A real ws/2 recording look-up recorded by metabrainz/picard (test/data/ws_data/recording_video.json):
    // the music video of Paradise Lost's "The Enemy", `video: true`, disambiguation "official music video",
    // with the audio recording it shows under its "music video" relation (`video: false`, no disambiguation).
    const video = structuredClone(body);
    const audio = video.relations.find((relation) => relation.type === 'music video')?.recording;
    expect(mapMusicBrainzRecording(video)).toMatchObject({
      video: true,
      url: 'https://musicbrainz.org/recording/370889ee-7a70-4d0a-8f4d-e514e0494d7e',
      track: { title: 'The Enemy (official music video)', artists: ['Paradise Lost'], durationMs: 218_000 },
    });
    const song = mapMusicBrainzRecording(audio);
    expect(song?.track).toMatchObject({
      title: 'The Enemy',
      artists: ['Paradise Lost'],
      durationMs: 219_066,
    });
    expect(song?.video).toBeUndefined();
    // No recorded ws/2 body with a "live" or "remix" disambiguation was found; the title rule is the same.
    expect(musicBrainzTitle('Creep', 'live')).toBe('Creep (live)');
  });

  it('lists a video recording after the audio one in a search', async () => {
    // Both recordings are the real ones above; the search envelope around them is ours.
    const video = structuredClone(body);
    const audio = video.relations.find((relation) => relation.type === 'music video')?.recording;
    context.server.on('GET', '/ws/2/recording', {
      json: { count: 2, offset: 0, recordings: [video, audio] },
    });
    const results = await engine().doSearch!({ track: { title: 'The Enemy', artists: ['Paradise Lost'] } });
    expect(results.map((item) => [item.track.title, item.video])).toEqual([
      ['The Enemy', undefined],
      ['The Enemy (official music video)', true],
    ]);
  });

  it('spaces requests one second apart by default', async () => {
    context.server.on('GET', /^\/ws\/2\/isrc\//, { status: 404, json: await fixture('not-found.json') });
    const musicbrainz = context.track(createMusicBrainzEngine({ baseURL: context.server.url }));
    const times: number[] = [];
    await Promise.all(
      ['USAAA0000001', 'USAAA0000002'].map(async (isrc) => {
        await musicbrainz.doFindByIsrc!({ isrc });
        times.push(Date.now());
      }),
    );
    expect(Math.abs(times[1]! - times[0]!)).toBeGreaterThanOrEqual(950);
  });

  it('tolerates unknown extra fields', async () => {
    const body = (await fixture('isrc.json')) as { recordings: object[] };
    body.recordings = body.recordings.map((recording) => ({
      ...recording,
      genres: [{ name: 'house' }],
      'new-thing': 1,
    }));
    context.server.on('GET', '/ws/2/isrc/GBDUW0000059', { json: { ...body, extra: { x: 1 } } });
    expect((await engine().doFindByIsrc!({ isrc: 'GBDUW0000059' }))?.track.durationMs).toBe(224_693);
  });

  it('maps a 400 to a non-retryable NXS_UPSTREAM', async () => {
    context.server.on('GET', '/ws/2/recording', { status: 400, json: { error: 'Invalid query' } });
    const error = await rejectionOf(engine().doSearch!({ query: 'AND' }));
    expect(error.code).toBe('NXS_UPSTREAM');
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/400 Bad Request \(Invalid query\)/);
  });

  it('escapes quotes in the Lucene query', () => {
    expect(musicBrainzRecordingQuery({ title: 'Say "Hi"', artists: [] })).toBe('recording:"Say \\"Hi\\""');
  });
});

describeHttpFailures({
  method: 'GET',
  path: '/ws/2/isrc/GBDUW0000059',
  success: {
    json: {
      isrc: 'GBDUW0000059',
      recordings: [{ id: 'r1', title: 'Song', length: 1000, 'artist-credit': [] }],
    },
  },
  create: (baseURL, settings) =>
    createMusicBrainzEngine({ ...settings, retry: { ...settings.retry, retryServerErrors: false }, baseURL }),
  call: (engine, signal) => engine.doFindByIsrc!({ isrc: 'GBDUW0000059', ...(signal ? { signal } : {}) }),
  expectSuccess: (result) => expect((result as MetadataResult).track.isrc).toBe('GBDUW0000059'),
});
