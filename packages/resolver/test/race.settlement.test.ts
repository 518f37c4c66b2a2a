import { NexStreamError, type NexStreamEvent } from '@nexstream/core';
import { createRegistry, type Registry } from '@nexstream/registry';
import { readFixture } from '@nexstream/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDeezerEngine } from '../src/engines/deezer/deezer-engine.js';
import { createGroqEngine } from '../src/engines/groq/groq-engine.js';
import { createMusicBrainzEngine } from '../src/engines/musicbrainz/musicbrainz-engine.js';
import type { RaceTimings } from '../src/race.js';
import { createResolver, type ResolverOptions } from '../src/resolver.js';
import { rejectionOf, testSettings, useReplayServer } from './http-engine-harness.js';
import {
  collect,
  createScriptedVideoEngine,
  fixtureTrack,
  indexOfType,
  routeDeezerTrack,
  videos,
} from './race-harness.js';

const fixture = (path: string) => readFixture(new URL(`../src/__fixtures__/${path}`, import.meta.url));

/** Short timings: the race's behaviour, not its default clock. */
const quick: Partial<RaceTimings> = {
  tier1DelayMs: 100,
  tier2DelayMs: 250,
  graceMs: 1500,
  deadlineMs: 20_000,
};

describe('the race', () => {
  const context = useReplayServer();
  let registry: Registry;
  let deezerTrack: unknown;

  beforeEach(async () => {
    registry = await createRegistry({ url: ':memory:' });
    deezerTrack = await fixture('deezer/track-isrc.json');
  });
  afterEach(async () => {
    await registry.close();
  });

  const deezer = () => context.track(createDeezerEngine({ baseURL: context.server.url, ...testSettings }));
  const resolverWith = (options: Omit<ResolverOptions, 'registry'> & { registry?: Registry }) =>
    createResolver({ registry, ...options });

  it('sends the source metadata before it settles, and stores the ISRC-verified match', async () => {
    routeDeezerTrack(context.server, deezerTrack, 50);
    const video = createScriptedVideoEngine({
      isrc: () => ({ latencyMs: 400, candidates: [videos.artTrack, videos.live] }),
    });
    const resolver = resolverWith({ engines: [deezer(), video], timings: quick });
    const session = resolver.resolve(fixtureTrack.link);
    const events = await collect(session);
    const resolution = await session.result;

    const metadata = indexOfType(events, 'metadata');
    const settled = indexOfType(events, 'settled');
    expect(metadata).toBeGreaterThanOrEqual(0);
    expect(metadata).toBeLessThan(settled);
    expect(events[metadata]).toMatchObject({
      engine: 'deezer',
      authoritative: true,
      track: { isrc: fixtureTrack.isrc },
    });
    // The metadata did not wait for the video search (400 ms).
    const settledEvent = events[settled] as Extract<NexStreamEvent, { type: 'settled' }>;
    expect(events[metadata]!.receivedMs).toBeLessThan(settledEvent.elapsedMs);
    expect(settledEvent).toMatchObject({ via: 'race', grade: 'verified', mediaId: videos.artTrack.mediaId });
    expect(events.map((event) => event.type).slice(-2)).toEqual(['media', 'done']);

    const candidates = events.filter((event) => event.type === 'candidate');
    const live = candidates.find((event) => event.candidate.mediaId === videos.live.mediaId);
    expect(live).toMatchObject({ grade: 'rejected', engine: 'youtube:isrc' });
    expect(live?.reason).toMatch(/rejected/);
    expect(Object.keys(live?.parts ?? {})).toEqual(
      expect.arrayContaining(['title', 'artist', 'duration', 'channel']),
    );

    expect(resolution).toMatchObject({
      grade: 'verified',
      via: 'race',
      written: true,
      verification: { method: 'isrc-search', isrc: fixtureTrack.isrc, isrcSource: 'deezer' },
    });
    expect(resolution.media.formats.length).toBeGreaterThan(0);
    const stored = await registry.get({ isrc: fixtureTrack.isrc });
    expect(stored?.media.id).toBe(videos.artTrack.mediaId);

    // Next time the registry answers: no engine is asked.
    const requestsBefore = context.server.requests.length;
    const callsBefore = video.calls.length;
    const again = await resolver.resolve(fixtureTrack.link).result;
    expect(again).toMatchObject({ via: 'registry', grade: 'verified', mediaId: videos.artTrack.mediaId });
    expect(context.server.requests.length).toBe(requestsBefore);
    expect(video.calls.length).toBe(callsBefore);
  });

  it('settles on a verified tier-0 candidate without waiting for tiers 1 and 2, and aborts what still runs', async () => {
    routeDeezerTrack(context.server, deezerTrack);
    // MusicBrainz never answers: its call must be aborted (socket closed) once the race settles.
    context.server.on('GET', /^\/ws\/2\//, { stall: true });
    const video = createScriptedVideoEngine({
      isrc: () => ({ latencyMs: 100, candidates: [videos.artTrack] }),
      search: () => ({ candidates: [videos.officialAudio] }),
    });
    const musicbrainz = context.track(
      createMusicBrainzEngine({ baseURL: context.server.url, ...testSettings }),
    );
    const resolver = resolverWith({
      engines: [deezer(), musicbrainz, video],
      timings: { tier1DelayMs: 5000, tier2DelayMs: 10_000, graceMs: 15_000 },
    });
    const started = performance.now();
    const resolution = await resolver.resolve(fixtureTrack.isrc).result;
    expect(performance.now() - started).toBeLessThan(5000);
    expect(resolution.grade).toBe('verified');
    expect(video.calls.filter((call) => call.method === 'search')).toHaveLength(0);
    expect(context.server.requests.some((request) => request.path.startsWith('/ws/2/'))).toBe(true);
    // The stalled MusicBrainz request was aborted; useReplayServer checks its socket is closed.
    expect(video.inFlight()).toBe(0);
  });

  it('holds a fuzzy candidate for the grace period and lets a later exact one win', async () => {
    routeDeezerTrack(context.server, deezerTrack);
    context.server.on('POST', '/chat/completions', {
      json: await fixture('groq/completion.json'),
      latencyMs: 50,
    });
    const video = createScriptedVideoEngine({
      isrc: () => ({ candidates: [] }),
      search: (query) =>
        query.includes('official audio')
          ? { latencyMs: 50, candidates: [videos.officialAudio] }
          : { candidates: [videos.lyricUpload, videos.cover] },
    });
    const groq = context.track(
      createGroqEngine({ baseURL: context.server.url, apiKey: 'test-key', ...testSettings }),
    );
    const resolver = resolverWith({
      engines: [deezer(), video, groq],
      timings: { tier1DelayMs: 50, tier2DelayMs: 300, graceMs: 5000, deadlineMs: 20_000 },
    });
    const session = resolver.resolve(fixtureTrack.link);
    const events = await collect(session);
    const resolution = await session.result;

    const fuzzy = events.find(
      (event) => event.type === 'candidate' && event.candidate.mediaId === videos.lyricUpload.mediaId,
    );
    expect(fuzzy).toMatchObject({ grade: 'fuzzy', engine: 'youtube:search' });
    const exact = events.find(
      (event) => event.type === 'candidate' && event.candidate.mediaId === videos.officialAudio.mediaId,
    );
    expect(exact).toMatchObject({ grade: 'exact', engine: 'groq→youtube' });
    expect(events.indexOf(fuzzy!)).toBeLessThan(events.indexOf(exact!));
    expect(resolution).toMatchObject({
      grade: 'exact',
      mediaId: videos.officialAudio.mediaId,
      written: false,
    });
    // Not verified (no ISRC tie): nothing stored.
    expect(await registry.get({ isrc: fixtureTrack.isrc })).toBeUndefined();
  });

  it('settles a fuzzy candidate when the grace period ends even though an engine hangs', async () => {
    routeDeezerTrack(context.server, deezerTrack);
    const video = createScriptedVideoEngine({
      isrc: () => ({ hang: true }),
      search: () => ({ candidates: [videos.lyricUpload] }),
    });
    const graceMs = 600;
    const resolver = resolverWith({
      engines: [deezer(), video],
      timings: { tier1DelayMs: 50, tier2DelayMs: 100, graceMs, deadlineMs: 20_000 },
    });
    const session = resolver.resolve(fixtureTrack.link);
    const events = await collect(session);
    const resolution = await session.result;
    expect(resolution).toMatchObject({ grade: 'fuzzy', mediaId: videos.lyricUpload.mediaId });
    const candidateAt = events.find((event) => event.type === 'candidate')!.receivedMs;
    const settled = events.find((event) => event.type === 'settled')!;
    expect(settled.receivedMs - candidateAt).toBeGreaterThanOrEqual(graceMs - 150);
    // The hanging ISRC search was aborted at settlement.
    const hanging = video.calls.find((call) => call.method === 'isrc');
    expect(hanging?.aborted).toBe(true);
    expect(video.inFlight()).toBe(0);
  });

  it('settles a strong candidate once the stronger tiers are done', async () => {
    routeDeezerTrack(context.server, deezerTrack);
    const strong = { ...videos.officialAudio, channel: 'Electronic Classics', channelVerified: false };
    const video = createScriptedVideoEngine({
      isrc: () => ({ latencyMs: 20, candidates: [] }),
      search: () => ({ latencyMs: 20, candidates: [strong] }),
    });
    const resolver = resolverWith({
      engines: [deezer(), video],
      timings: { tier1DelayMs: 100, tier2DelayMs: 10_000, graceMs: 15_000 },
    });
    const started = performance.now();
    const resolution = await resolver.resolve(fixtureTrack.link).result;
    expect(resolution.grade).toBe('strong');
    // Tier 2 (10 s) could not beat it and no query engine exists: no waiting for it, nor for the grace period.
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('fails with NXS_NO_MATCH and the best rejected candidates when nothing is acceptable', async () => {
    routeDeezerTrack(context.server, deezerTrack);
    const video = createScriptedVideoEngine({
      isrc: () => ({ candidates: [videos.live] }),
      search: () => ({ candidates: [videos.cover, videos.live] }),
    });
    const resolver = resolverWith({ engines: [deezer(), video], timings: quick });
    const session = resolver.resolve(fixtureTrack.link);
    const events = await collect(session);
    const error = await rejectionOf(session.result);
    expect(error.code).toBe('NXS_NO_MATCH');
    expect(error.message).toMatch(/Daft Punk - Harder Better Faster Stronger/);
    const details = error.details as { bestRejected: Array<{ mediaId: string; reasons: string[] }> };
    expect(details.bestRejected.map((entry) => entry.mediaId).sort()).toEqual(
      [videos.cover.mediaId, videos.live.mediaId].sort(),
    );
    expect(details.bestRejected[0]?.reasons.length).toBeGreaterThan(0);
    expect(events.map((event) => event.type).slice(-2)).toEqual(['error', 'done']);
  });

  it('gives one clear error naming every engine when all of them fail', async () => {
    context.server.on('GET', `/track/isrc:${fixtureTrack.isrc}`, { status: 503, json: { error: 'down' } });
    context.server.on('GET', /^\/ws\/2\//, { status: 500, json: { error: 'boom' } });
    const video = createScriptedVideoEngine({
      isrc: () => ({
        error: new NexStreamError('NXS_PROCESS_FAILED', 'yt-dlp failed (exit 1): HTTP Error 403', {
          retryable: true,
        }),
      }),
    });
    const musicbrainz = context.track(
      createMusicBrainzEngine({ baseURL: context.server.url, ...testSettings }),
    );
    const resolver = resolverWith({ engines: [deezer(), musicbrainz, video], timings: quick });
    const session = resolver.resolve(fixtureTrack.isrc);
    const events = await collect(session);
    const error = await rejectionOf(session.result);
    expect(error.message).toMatch(/every engine failed/);
    expect(error.message).toMatch(/deezer/);
    expect(error.message).toMatch(/musicbrainz/);
    expect(error.message).toMatch(/youtube/);
    expect(error.retryable).toBe(true);
    const failures = (error.details as { failures: Array<{ engine: string }> }).failures;
    expect(new Set(failures.map((failure) => failure.engine))).toEqual(
      new Set(['deezer', 'musicbrainz', 'youtube']),
    );
    expect(
      events.filter((event) => event.type === 'log' && event.level === 'warn').length,
    ).toBeGreaterThanOrEqual(3);
    expect(events.at(-1)?.type).toBe('done');
  });

  it('uses a video the caller names (override), says so, and checks it exists', async () => {
    routeDeezerTrack(context.server, deezerTrack);
    const video = createScriptedVideoEngine({});
    const resolver = resolverWith({ engines: [deezer(), video], timings: quick });
    const session = resolver.resolve(fixtureTrack.link, { override: videos.lyricUpload.id });
    const events = await collect(session);
    const resolution = await session.result;
    expect(resolution).toMatchObject({
      via: 'override',
      mediaId: videos.lyricUpload.mediaId,
      grade: 'fuzzy',
    });
    expect(events.find((event) => event.type === 'settled')).toMatchObject({ via: 'override' });
    expect(events.find((event) => event.type === 'candidate')).toMatchObject({
      engine: 'override',
      reason: expect.stringMatching(/named by the caller/),
    });
    expect(video.calls.filter((call) => call.method !== 'extract')).toHaveLength(0);

    const missing = resolver.resolve(fixtureTrack.link, { override: 'AAAAAAAAAAA' });
    expect((await rejectionOf(missing.result)).code).toBe('NXS_NOT_FOUND');
  });

  it('never writes an override, even an art track tied to the authoritative ISRC; the pick of the race is written', async () => {
    routeDeezerTrack(context.server, deezerTrack);
    const video = createScriptedVideoEngine({ isrc: () => ({ candidates: [videos.artTrack] }) });
    const resolver = resolverWith({ engines: [deezer(), video], timings: quick });
    for (const override of [
      videos.artTrack.id,
      `youtube:${videos.artTrack.id}`,
      `https://music.youtube.com/watch?v=${videos.artTrack.id}&feature=share`,
      `https://youtu.be/${videos.artTrack.id}?si=tracking`,
      `https://m.youtube.com/watch?v=${videos.artTrack.id}`,
    ]) {
      const resolution = await resolver.resolve(fixtureTrack.isrc, { override }).result;
      expect(resolution, override).toMatchObject({ via: 'override', mediaId: videos.artTrack.mediaId });
      expect(resolution.written).toBe(false);
      expect(resolution.verifiedMatch).toBeUndefined();
    }
    // yt-dlp was only ever given the canonical watch URL built from the id.
    expect(new Set(video.calls.map((call) => call.argument))).toEqual(
      new Set([`https://www.youtube.com/watch?v=${videos.artTrack.id}`]),
    );
    expect(await registry.get({ isrc: fixtureTrack.isrc })).toBeUndefined();
    const raced = await resolver.resolve(fixtureTrack.isrc).result;
    expect(raced).toMatchObject({ via: 'race', grade: 'verified', written: true });
  });

  it('refreshes a stored link that expires within the margin before settling from the registry', async () => {
    routeDeezerTrack(context.server, deezerTrack);
    const video = createScriptedVideoEngine({
      isrc: () => ({ candidates: [videos.artTrack] }),
      expiresInMs: 10 * 60_000,
    });
    const resolver = resolverWith({
      engines: [deezer(), video],
      timings: { ...quick, refreshMarginMs: 30 * 60_000 },
    });
    const first = await resolver.resolve(fixtureTrack.isrc).result;
    expect(first.written).toBe(true);
    const formatId = first.media.formats[0]!.id;
    const firstUrl = (await resolver.media(first.mediaId)).origin(formatId).url;
    const extractions = video.calls.filter((call) => call.method === 'extract').length;
    const second = await resolver.resolve(fixtureTrack.isrc).result;
    expect(second.via).toBe('registry');
    expect(video.calls.filter((call) => call.method === 'extract').length).toBe(extractions + 1);
    expect((await resolver.media(second.mediaId)).origin(formatId).url).not.toBe(firstUrl);
  });
});
