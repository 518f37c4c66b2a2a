import { parseInput } from '@nexstream/core';
import { readFixture } from '@nexstream/testkit';
import { describe, expect, it } from 'vitest';
import {
  describeHttpFailures,
  rejectionOf,
  testSettings,
  useReplayServer,
} from '../../../test/http-engine-harness.js';
import type { LookupResult } from '../../engine.js';
import { createOdesliEngine } from './odesli-engine.js';

const fixture = (name: string) => readFixture(new URL(`../../__fixtures__/odesli/${name}`, import.meta.url));
const ref = {
  platform: 'apple',
  kind: 'track',
  id: '1443109064',
  url: 'https://music.apple.com/us/album/kitchen/1443108737?i=1443109064',
} as const;

describe('odesli engine', () => {
  const context = useReplayServer();
  const engine = (settings = {}) =>
    context.track(createOdesliEngine({ baseURL: context.server.url, ...testSettings, env: {}, ...settings }));

  it('maps a link to per-platform ids, title and artist (no ISRC, no duration)', async () => {
    context.server.on('GET', '/v1-alpha.1/links', { json: await fixture('links.json') });
    const found = await engine().doLookup!({ ref });
    expect(context.server.requests[0]?.query.get('url')).toBe(ref.url);
    expect(context.server.requests[0]?.query.get('userCountry')).toBe('US');
    expect(found).toMatchObject({
      kind: 'track',
      result: {
        engine: 'odesli',
        isrcAuthoritative: false,
        track: {
          title: 'Kitchen',
          artists: ['Kid Cudi'],
          ids: { apple: '1443109064', spotify: '0Jcij1eWd5bDMU5iPbxe2i', youtube: 'w3LJ2bDvDJs' },
        },
      },
    });
  });

  it("names the song, not the video, for a YouTube link (another platform's song entity)", async () => {
    context.server.on('GET', '/v1-alpha.1/links', { json: await fixture('links-youtube-input.json') });
    const found = await engine().doLookup!({
      ref: {
        platform: 'youtube',
        kind: 'track',
        id: 'QfnVrp2bPuE',
        url: 'https://www.youtube.com/watch?v=QfnVrp2bPuE',
      },
    });
    expect(found).toMatchObject({
      kind: 'track',
      result: { track: { title: 'Angst', artists: ['Inzo'], ids: { youtube: 'QfnVrp2bPuE' } } },
    });
  });

  it('never reads an interface language as a storefront: intl-ja and Deezer /fr/ keep the default country', async () => {
    context.server.on('GET', '/v1-alpha.1/links', { json: await fixture('links.json') });
    for (const link of [
      'https://open.spotify.com/intl-ja/track/0Jcij1eWd5bDMU5iPbxe2i?si=1',
      'https://www.deezer.com/fr/track/3135556',
    ]) {
      const parsed = parseInput(link);
      if (parsed.type !== 'platform') throw new Error(link);
      const { language: _language, ...lookup } = parsed;
      await engine().doLookup!({ ref: lookup });
    }
    expect(context.server.requests.map((request) => request.query.get('userCountry'))).toEqual(['US', 'US']);
  });

  it('tolerates the degraded 2026 answer and an empty linksByPlatform', async () => {
    context.server.on(
      'GET',
      '/v1-alpha.1/links',
      { json: await fixture('links-degraded.json') },
      { times: 1 },
    );
    context.server.on(
      'GET',
      '/v1-alpha.1/links',
      { json: await fixture('links-empty-platforms.json') },
      { times: 1 },
    );
    const odesli = engine();
    const first = (await odesli.doLookup!({ ref })) as Extract<LookupResult, { kind: 'track' }>;
    const second = (await odesli.doLookup!({ ref })) as Extract<LookupResult, { kind: 'track' }>;
    expect(second.result.track.ids).toEqual({ apple: '1443109064' });
    expect(first.result.track.ids).toEqual({ apple: '1443109064' });
    expect(first.result.track.title).toBe('Kitchen');
  });

  it('returns null for "no match" (empty entityUniqueId) and for 404', async () => {
    context.server.on('GET', '/v1-alpha.1/links', { json: await fixture('no-match.json') }, { times: 1 });
    context.server.on('GET', '/v1-alpha.1/links', { status: 404, json: {} }, { times: 1 });
    const odesli = engine();
    expect(await odesli.doLookup!({ ref })).toBeNull();
    expect(await odesli.doLookup!({ ref })).toBeNull();
  });

  it('looks up by platform, type and id when no URL is known, with the key from ODESLI_API_KEY masked in errors', async () => {
    context.server.on('GET', '/v1-alpha.1/links', { status: 500, json: { error: 'boom' } });
    const error = await rejectionOf(
      engine({ env: { ODESLI_API_KEY: 'secret-key-123' } }).doLookup!({
        ref: { platform: 'spotify', kind: 'track', id: '0Jcij1eWd5bDMU5iPbxe2i' },
      }),
    );
    const query = context.server.requests[0]?.query;
    expect([query?.get('platform'), query?.get('type'), query?.get('id'), query?.get('key')]).toEqual([
      'spotify',
      'song',
      '0Jcij1eWd5bDMU5iPbxe2i',
      'secret-key-123',
    ]);
    expect(error.message).not.toContain('secret-key-123');
    expect(error.message).toContain('key=***');
  });

  it('reports its 429 as NXS_RATE_LIMITED', async () => {
    context.server.on('GET', '/v1-alpha.1/links', { status: 429, json: await fixture('rate-limited.json') });
    const error = await rejectionOf(engine({ retry: { retries: 0 } }).doLookup!({ ref }));
    expect(error.code).toBe('NXS_RATE_LIMITED');
  });

  it('tolerates unknown extra fields', async () => {
    const body = (await fixture('links.json')) as object;
    context.server.on('GET', '/v1-alpha.1/links', { json: { ...body, newField: [1], entityType: 'song' } });
    expect((await engine().doLookup!({ ref }))?.kind).toBe('track');
  });
});

describeHttpFailures({
  method: 'GET',
  path: '/v1-alpha.1/links',
  success: {
    json: {
      entityUniqueId: 'A::1',
      pageUrl: 'https://song.link/x',
      entitiesByUniqueId: { 'A::1': { title: 'Song', artistName: 'A' } },
      linksByPlatform: {},
    },
  },
  create: (baseURL, settings) => createOdesliEngine({ ...settings, env: {}, baseURL }),
  call: (engine, signal) => engine.doLookup!({ ref, ...(signal ? { signal } : {}) }),
  expectSuccess: (result) => expect((result as LookupResult).kind).toBe('track'),
});
