import { createRegistry, type Registry } from '@nexstream/registry';
import {
  childProcessIds,
  type MediaOrigin,
  readFixture,
  sampleMedia,
  startMediaOrigin,
} from '@nexstream/testkit';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDeezerEngine } from '../src/engines/deezer/deezer-engine.js';
import { createYoutubeEngine, defaultYoutubeExtractors } from '../src/engines/youtube/youtube-engine.js';
import { createResolver } from '../src/resolver.js';
import { eventually, rejectionOf, testSettings, useReplayServer } from './http-engine-harness.js';
import { collect, fixtureTrack, indexOfType, routeDeezerTrack } from './race-harness.js';

// End to end with the real yt-dlp: searches are pages of <video> tags on the replay server (yt-dlp's generic
// extractor reads them), the media lives on the testkit media origin.
describe('the race with the real YouTube engine (yt-dlp)', () => {
  const context = useReplayServer();
  let origin: MediaOrigin;
  let registry: Registry;
  let samplePath: string;
  let deezerTrack: unknown;

  beforeAll(async () => {
    samplePath = await sampleMedia('h264-aac-mp4', { durationS: 3 });
    deezerTrack = await readFixture(new URL('../src/__fixtures__/deezer/track-isrc.json', import.meta.url));
  }, 120_000);
  beforeEach(async () => {
    origin = await startMediaOrigin();
    registry = await createRegistry({ url: ':memory:' });
  });
  afterEach(async () => {
    await registry.close();
    await origin.close();
  });

  const engines = () => [
    context.track(createDeezerEngine({ baseURL: context.server.url, ...testSettings })),
    context.track(
      createYoutubeEngine({
        extractors: [...defaultYoutubeExtractors, 'generic', 'html5'],
        searchTarget: (query) => `${context.server.url}/results?q=${encodeURIComponent(query)}`,
      }),
    ),
  ];

  it('searches, settles, extracts the winner with yt-dlp and ends with media then done', async () => {
    routeDeezerTrack(context.server, deezerTrack);
    const file = origin.add('hbfs.mp4', samplePath);
    context.server.on('GET', '/results', (request) =>
      request.query.get('q')?.startsWith('"')
        ? { status: 404, body: 'no results' }
        : {
            headers: { 'content-type': 'text/html; charset=utf-8' },
            body: `<html><head><title>Daft Punk - Harder Better Faster Stronger (Official Audio)</title></head><body><video src="${file}"></video></body></html>`,
          },
    );
    const resolver = createResolver({
      engines: engines(),
      registry,
      timings: { tier1DelayMs: 50, tier2DelayMs: 100, graceMs: 300, deadlineMs: 60_000 },
    });
    const session = resolver.resolve(fixtureTrack.link);
    const events = await collect(session);
    const resolution = await session.result;

    expect(indexOfType(events, 'metadata')).toBeLessThan(indexOfType(events, 'settled'));
    expect(events.at(-1)?.type).toBe('done');
    expect(events.at(-2)?.type).toBe('media');
    expect(resolution.via).toBe('race');
    expect(['fuzzy', 'strong', 'exact']).toContain(resolution.grade);
    // Events and the result carry no origin URL; the server's handle knows where the bytes are.
    expect(JSON.stringify(events)).not.toContain(file);
    expect(JSON.stringify(resolution.media)).not.toContain(file);
    const handle = await resolver.media(resolution.mediaId);
    expect(handle.origin(resolution.media.formats[0]!.id).url).toBe(file);
    expect(events.some((event) => event.type === 'log' && event.source === 'yt-dlp')).toBe(true);
    // Duration unknown from a generic page: not ISRC-verified, not stored.
    expect(resolution.written).toBe(false);
  });

  it('kills yt-dlp and closes every socket when the caller aborts mid-race, without an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      routeDeezerTrack(context.server, deezerTrack);
      context.server.on('GET', '/results', { stall: true });
      const before = childProcessIds();
      const controller = new AbortController();
      const resolver = createResolver({ engines: engines(), registry, timings: { tier1DelayMs: 50 } });
      const session = resolver.resolve(fixtureTrack.link, { signal: controller.signal });
      const events = collect(session);
      await eventually(() => childProcessIds().length > before.length, 20_000);
      await eventually(() => context.server.requests.some((request) => request.path === '/results'), 20_000);
      controller.abort();
      const error = await rejectionOf(session.result);
      expect(error.code).toBe('NXS_ABORTED');
      const seen = await events;
      expect(seen.map((event) => event.type).slice(-2)).toEqual(['error', 'done']);
      // The session drains its engine calls before it ends: the processes are already gone.
      expect(childProcessIds()).toEqual(before);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('says the music services cannot be reached when every engine fails on DNS or a refused connection', async () => {
    const resolver = createResolver({
      engines: [
        context.track(createDeezerEngine({ baseURL: 'http://127.0.0.1:9', ...testSettings })),
        context.track(
          createYoutubeEngine({
            extractors: [...defaultYoutubeExtractors, 'generic', 'html5'],
            searchTarget: (query) => `http://nexstream-test.invalid/results?q=${encodeURIComponent(query)}`,
          }),
        ),
      ],
      timings: { tier1DelayMs: 100, tier2DelayMs: 200, graceMs: 300 },
    });
    const session = resolver.resolve(fixtureTrack.isrc);
    await collect(session);
    const error = await rejectionOf(session.result);
    expect(error.code).toBe('NXS_UNREACHABLE');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/^the server cannot reach the music services \(deezer, youtube\)/);
  });

  it('refuses an override that is not a YouTube video before any process starts; nothing is fetched', async () => {
    routeDeezerTrack(context.server, deezerTrack);
    const file = origin.add('chosen.mp4', samplePath);
    const before = childProcessIds();
    const resolver = createResolver({ engines: engines(), registry });
    for (const override of [
      file,
      `${context.server.url}/page`,
      'http://169.254.169.254/latest/meta-data/',
      'https://www.youtube.com/playlist?list=PL590L5WQmH8fJ54F369BLDSqIwcs-TCfs',
      'file:///etc/passwd',
    ]) {
      const session = resolver.resolve(fixtureTrack.link, { override });
      const events = await collect(session);
      expect((await rejectionOf(session.result)).code, override).toBe('NXS_INVALID_INPUT');
      expect(events.map((event) => event.type)).toEqual(['error', 'done']);
    }
    expect(origin.requests).toHaveLength(0);
    expect(context.server.requests).toHaveLength(0);
    expect(childProcessIds().filter((pid) => !before.includes(pid))).toEqual([]);
    expect((await registry.stats()).tracks).toBe(0);
  });
});
