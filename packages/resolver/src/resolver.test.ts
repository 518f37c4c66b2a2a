import { createRegistry, type Registry } from '@nexstream/registry';
import { readFixture } from '@nexstream/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rejectionOf, testSettings, useReplayServer } from '../test/http-engine-harness.js';
import {
  collect,
  createScriptedVideoEngine,
  fixtureTrack,
  routeDeezerTrack,
  videos,
} from '../test/race-harness.js';
import { createDeezerEngine } from './engines/deezer/deezer-engine.js';
import { createItunesEngine } from './engines/itunes/itunes-engine.js';
import { createResolver } from './resolver.js';

describe('resolver', () => {
  const context = useReplayServer();
  let registry: Registry;
  beforeEach(async () => {
    registry = await createRegistry({ url: ':memory:' });
  });
  afterEach(async () => {
    await registry.close();
  });

  const fixture = (name: string) => readFixture(new URL(`./__fixtures__/deezer/${name}`, import.meta.url));
  const build = () => {
    const video = createScriptedVideoEngine({
      isrc: () => ({ latencyMs: 20, candidates: [videos.artTrack] }),
    });
    const deezer = context.track(createDeezerEngine({ baseURL: context.server.url, ...testSettings }));
    const resolver = createResolver({
      engines: [deezer, video],
      registry,
      timings: { tier1DelayMs: 100, tier2DelayMs: 200, graceMs: 500 },
    });
    return { resolver, video };
  };

  it('resolves free text: the catalogue search names the track, its full record proves the ISRC', async () => {
    context.server.on('GET', '/search', { json: await fixture('search-advanced.json') });
    routeDeezerTrack(context.server, await fixture('track-isrc.json'));
    const session = build().resolver.resolve('daft punk harder better faster stronger');
    const events = await collect(session);
    const resolution = await session.result;
    expect(resolution).toMatchObject({ grade: 'verified', mediaId: videos.artTrack.mediaId, written: true });
    expect(context.server.requests.find((request) => request.path === '/search')?.query.get('q')).toBe(
      'daft punk harder better faster stronger',
    );
    const metadata = events.filter((event) => event.type === 'metadata');
    expect(metadata[0]).toMatchObject({ engine: 'deezer', authoritative: false });
    expect(metadata.some((event) => event.authoritative && event.track.isrc === fixtureTrack.isrc)).toBe(
      true,
    );
  });

  it('answers a registry hit by ISRC or by any platform id it knows, in order: metadata, settled, media, done', async () => {
    routeDeezerTrack(context.server, await fixture('track-isrc.json'));
    const { resolver, video } = build();
    await resolver.resolve(fixtureTrack.link).result;
    const calls = video.calls.length;
    const session = resolver.resolve(fixtureTrack.isrc);
    const events = await collect(session);
    expect(events.map((event) => event.type)).toEqual(['metadata', 'settled', 'media', 'done']);
    expect((await session.result).via).toBe('registry');
    expect(video.calls.length).toBe(calls);
  });

  it("looks a link up in the link's own storefront: the parsed link is the engine's look-up", async () => {
    const lookup = new URL('./__fixtures__/itunes/lookup-track.json', import.meta.url);
    context.server.on('GET', '/lookup', { json: await readFixture(lookup) });
    const itunes = context.track(createItunesEngine({ baseURL: context.server.url, ...testSettings }));
    const video = createScriptedVideoEngine({
      search: () => ({ candidates: [videos.officialAudio] }),
    });
    const resolver = createResolver({
      engines: [itunes, video],
      timings: { tier1DelayMs: 0, tier2DelayMs: 0, graceMs: 0, deadlineMs: 2000 },
    });
    const session = resolver.resolve('https://music.apple.com/id/song/thinking-out-loud/858517200');
    const events = await collect(session);
    await session.result.catch(() => {});
    const request = context.server.requests.find((entry) => entry.path === '/lookup');
    expect(request?.query.get('id')).toBe('858517200');
    expect(request?.query.get('country')).toBe('id');
    expect(events.find((event) => event.type === 'metadata')).toMatchObject({
      engine: 'itunes',
      track: { title: 'Thinking Out Loud' },
    });
  });

  it('refuses collections and short links with a hint', async () => {
    const { resolver } = build();
    const album = await rejectionOf(resolver.resolve('https://www.deezer.com/album/302127').result);
    expect(album.code).toBe('NXS_INVALID_INPUT');
    expect(album.message).toMatch(/seed/);
    const empty = await rejectionOf(resolver.resolve('   ').result);
    expect(empty.code).toBe('NXS_INVALID_INPUT');
  });

  it('refuses refresh without a registry', async () => {
    const resolver = createResolver({ engines: [createScriptedVideoEngine({})] });
    expect((await rejectionOf(resolver.refresh('youtube:GDpmVUEjagg'))).code).toBe('NXS_INVALID_INPUT');
  });
});
