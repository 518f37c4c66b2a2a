import { readFixture } from '@nexstream/testkit';
import { describe, expect, it } from 'vitest';
import {
  describeHttpFailures,
  rejectionOf,
  testSettings,
  useReplayServer,
} from '../../../test/http-engine-harness.js';
import type { MetadataResult } from '../../engine.js';
import { createSoundchartsEngine, hasSoundchartsCredentials } from './soundcharts-engine.js';

const fixture = (name: string) =>
  readFixture(new URL(`../../__fixtures__/soundcharts/${name}`, import.meta.url));
const credentials = { appId: 'soundcharts', apiKey: 'soundcharts' };

describe('soundcharts engine', () => {
  const context = useReplayServer();
  const engine = (settings = {}) =>
    context.track(
      createSoundchartsEngine({ baseURL: context.server.url, ...testSettings, ...credentials, ...settings }),
    );

  it('finds a song by ISRC with the x-app-id / x-api-key headers; its ISRC is authoritative', async () => {
    context.server.on('GET', '/api/v2.25/song/by-isrc/USAT22003158', {
      json: await fixture('song-by-isrc.json'),
    });
    const result = await engine().doFindByIsrc!({ isrc: 'USAT22003158' });
    expect(context.server.requests[0]?.headers['x-app-id']).toBe('soundcharts');
    expect(context.server.requests[0]?.headers['x-api-key']).toBe('soundcharts');
    expect(result).toMatchObject({
      engine: 'soundcharts',
      isrcAuthoritative: true,
      track: {
        title: 'Ur So F**kinG cOoL',
        artists: ['Tones and I'],
        durationMs: 189_000,
        isrc: 'USAT22003158',
        explicit: true,
        releaseDate: '2020-05-28',
      },
    });
  });

  it('fills cross-platform ids from /identifiers when asked', async () => {
    context.server.on('GET', '/api/v2.25/song/by-isrc/USAT22003158', {
      json: await fixture('song-by-isrc.json'),
    });
    context.server.on('GET', '/api/v2/song/2ffc5f25-f191-4551-a1b4-40fe9ddcc075/identifiers', {
      json: await fixture('identifiers.json'),
    });
    const result = await engine({ fetchIdentifiers: true }).doFindByIsrc!({ isrc: 'USAT22003158' });
    expect(result?.track.ids).toEqual({
      spotify: '1a2b3c4d5e6f7g8h9i0jkl',
      deezer: '998877665',
      apple: '1516143532',
    });
  });

  it('looks a song up by platform id', async () => {
    context.server.on('GET', '/api/v2.25/song/by-platform/apple-music/1516143532', {
      json: await fixture('song-by-isrc.json'),
    });
    const found = await engine().doLookup!({ ref: { platform: 'apple', kind: 'track', id: '1516143532' } });
    expect(found?.kind === 'track' && found.result.track.ids).toEqual({ apple: '1516143532' });
  });

  it('returns null for 404 and for 410 (ISRC blacklisted), logging the latter', async () => {
    context.server.on('GET', /by-isrc\/USAAA0000001$/, {
      status: 404,
      json: await fixture('error-404.json'),
    });
    context.server.on('GET', /by-isrc\/USAAA0000002$/, {
      status: 410,
      json: await fixture('error-410.json'),
    });
    const logs: string[] = [];
    const soundcharts = engine();
    expect(await soundcharts.doFindByIsrc!({ isrc: 'USAAA0000001' })).toBeNull();
    expect(
      await soundcharts.doFindByIsrc!({ isrc: 'USAAA0000002', onLog: (event) => logs.push(event.message) }),
    ).toBeNull();
    expect(logs.join()).toMatch(/blacklisted/);
  });

  it('maps 401 to NXS_UNAUTHORIZED naming the env vars, and 403 (not in plan) to NXS_FORBIDDEN', async () => {
    context.server.on('GET', /by-isrc\/USAAA0000001$/, {
      status: 401,
      json: await fixture('error-401.json'),
    });
    context.server.on('GET', /by-isrc\/USAAA0000002$/, { status: 403, json: { errors: [] } });
    const unauthorized = await rejectionOf(engine().doFindByIsrc!({ isrc: 'USAAA0000001' }));
    expect(unauthorized.code).toBe('NXS_UNAUTHORIZED');
    expect(unauthorized.message).toMatch(/SOUNDCHARTS_APP_ID/);
    expect(unauthorized.message).not.toMatch(/soundcharts"?$/);
    expect((await rejectionOf(engine().doFindByIsrc!({ isrc: 'USAAA0000002' }))).code).toBe('NXS_FORBIDDEN');
  });

  it('tolerates unknown extra fields (and the older string ISRC)', async () => {
    const body = (await fixture('song-by-isrc.json')) as { object: object };
    context.server.on('GET', /by-isrc/, {
      json: { ...body, object: { ...body.object, isrc: 'USAT22003158', audio: { tempo: 1 } }, related: {} },
    });
    expect((await engine().doFindByIsrc!({ isrc: 'USAT22003158' }))?.track.isrc).toBe('USAT22003158');
  });

  it('needs credentials from options or SOUNDCHARTS_APP_ID / SOUNDCHARTS_API_KEY', () => {
    expect(() => createSoundchartsEngine({ env: {} })).toThrow(/SOUNDCHARTS_APP_ID/);
    expect(hasSoundchartsCredentials({ env: { SOUNDCHARTS_APP_ID: 'a', SOUNDCHARTS_API_KEY: 'b' } })).toBe(
      true,
    );
    expect(hasSoundchartsCredentials({ env: { SOUNDCHARTS_APP_ID: 'a' } })).toBe(false);
  });
});

describeHttpFailures({
  method: 'GET',
  path: '/api/v2.25/song/by-isrc/USAT22003158',
  success: {
    json: { type: 'song', object: { uuid: 'u', name: 'Song', isrc: { value: 'USAT22003158' } }, errors: [] },
  },
  create: (baseURL, settings) => createSoundchartsEngine({ ...settings, ...credentials, baseURL }),
  call: (engine, signal) => engine.doFindByIsrc!({ isrc: 'USAT22003158', ...(signal ? { signal } : {}) }),
  expectSuccess: (result) => expect((result as MetadataResult).track.isrc).toBe('USAT22003158'),
});
