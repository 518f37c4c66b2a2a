import { NexStreamError, type NexStreamEvent, type ProgressEvent } from '@nexstream/core';
import { createRegistry, type Registry } from '@nexstream/registry';
import { readFixture } from '@nexstream/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rejectionOf, testSettings, useReplayServer } from '../test/http-engine-harness.js';
import { createScriptedVideoEngine, type ScriptedAnswer } from '../test/race-harness.js';
import type { VideoCandidate } from './engine.js';
import { createDeezerEngine } from './engines/deezer/deezer-engine.js';
import { createResolver } from './resolver.js';

/** Three tracks of the album: Deezer id, title, seconds, ISRC, and the art track's video id. */
const albumTracks = [
  {
    id: 3135556,
    title: 'Harder Better Faster Stronger',
    duration: 224,
    isrc: 'GBDUW0000059',
    video: 'hbfsVideo01',
  },
  { id: 3135553, title: 'One More Time', duration: 320, isrc: 'GBDUW0000053', video: 'omtVideo001' },
  { id: 3135554, title: 'Aerodynamic', duration: 212, isrc: 'GBDUW0000054', video: 'aeroVideo01' },
];

function artTrackFor(track: (typeof albumTracks)[number], isrc: string): VideoCandidate {
  return {
    engine: 'youtube',
    mediaId: `youtube:${track.video}`,
    id: track.video,
    url: `https://www.youtube.com/watch?v=${track.video}`,
    title: track.title,
    channel: 'Daft Punk - Topic',
    durationMs: track.duration * 1000,
    artTrack: { title: track.title, artists: ['Daft Punk'], album: 'Discovery' },
    foundByIsrc: isrc,
  };
}

describe('seeder', () => {
  const context = useReplayServer();
  let registry: Registry;

  beforeEach(async () => {
    registry = await createRegistry({ url: ':memory:' });
    // Deezer's album body lists tracks without ISRCs; the full track objects (`/track/{id}`) carry them.
    const full = (await readFixture(
      new URL('./__fixtures__/deezer/track-isrc.json', import.meta.url),
    )) as Record<string, unknown>;
    const album = (await readFixture(new URL('./__fixtures__/deezer/album.json', import.meta.url))) as Record<
      string,
      unknown
    >;
    const item = (album.tracks as { data: Array<Record<string, unknown>> }).data[0]!;
    const items = albumTracks.map((track) => ({
      ...item,
      id: track.id,
      title: track.title,
      title_short: track.title,
      duration: track.duration,
      link: `https://www.deezer.com/track/${track.id}`,
    }));
    context.server.on('GET', '/album/302127', { json: { ...album, nb_tracks: 3, tracks: { data: items } } });
    for (const track of albumTracks) {
      context.server.on('GET', `/track/${track.id}`, {
        json: {
          ...full,
          id: track.id,
          title: track.title,
          title_short: track.title,
          duration: track.duration,
          isrc: track.isrc,
        },
        latencyMs: 20,
      });
    }
  });
  afterEach(async () => {
    await registry.close();
  });

  const resolverWith = (
    answer: (isrc: string) => ScriptedAnswer,
    search?: (query: string) => ScriptedAnswer,
  ) => {
    const video = createScriptedVideoEngine({ isrc: answer, ...(search ? { search } : {}) });
    const deezer = context.track(createDeezerEngine({ baseURL: context.server.url, ...testSettings }));
    const resolver = createResolver({
      engines: [deezer, video],
      registry,
      timings: { tier1DelayMs: 50, tier2DelayMs: 100, graceMs: 300, deadlineMs: 20_000 },
    });
    return { resolver, video };
  };
  const byIsrc = (isrc: string) => albumTracks.find((track) => track.isrc === isrc)!;

  it('lists an album, resolves every track, writes the verified ones in batches and reports the rest', async () => {
    const { resolver } = resolverWith((isrc) =>
      isrc === 'GBDUW0000054'
        ? { candidates: [] }
        : { latencyMs: 30, candidates: [artTrackFor(byIsrc(isrc), isrc)] },
    );
    const session = resolver.seed('https://www.deezer.com/album/302127', { concurrency: 2, batchSize: 1 });
    const events: NexStreamEvent[] = [];
    for await (const event of session) events.push(event);
    const report = await session.result;

    expect(report).toMatchObject({
      kind: 'album',
      total: 3,
      skipped: 0,
      verified: 2,
      written: 2,
      noMatch: 1,
      retryable: 0,
    });
    expect(report.failed).toEqual([
      expect.objectContaining({ label: 'Daft Punk - Aerodynamic', code: 'NXS_NO_MATCH', retryable: false }),
    ]);
    const progress = events.filter((event): event is ProgressEvent => event.type === 'progress');
    expect(progress[0]).toMatchObject({ phase: 'seed', done: 0, total: 3 });
    expect(progress.at(-1)).toMatchObject({ done: 3, total: 3, failed: 1 });
    const items = progress.flatMap((event) => (event.item ? [event.item] : []));
    expect(items.map((item) => item.status).sort()).toEqual(['done', 'done', 'failed']);
    expect(items.find((item) => item.status === 'failed')?.reason).toMatch(/NXS_NO_MATCH/);
    expect((await registry.get({ isrc: 'GBDUW0000053' }))?.media.id).toBe('youtube:omtVideo001');
    expect((await registry.get({ platform: 'deezer', id: '3135556' }))?.track.isrc).toBe('GBDUW0000059');
  });

  it('reports a track whose video search failed upstream as a retryable upstream failure, not a no-match', async () => {
    const outage = (): ScriptedAnswer => ({
      latencyMs: 10,
      error: new NexStreamError('NXS_UPSTREAM', 'youtube answered 503 Service Unavailable', {
        retryable: true,
      }),
    });
    const { resolver } = resolverWith(
      (isrc) =>
        isrc === 'GBDUW0000054'
          ? outage()
          : isrc === 'GBDUW0000053'
            ? { candidates: [] }
            : { latencyMs: 10, candidates: [artTrackFor(byIsrc(isrc), isrc)] },
      (query) => (/aerodynamic/i.test(query) ? outage() : { candidates: [] }),
    );
    const session = resolver.seed('https://www.deezer.com/album/302127', { concurrency: 3 });
    const events: NexStreamEvent[] = [];
    for await (const event of session) events.push(event);
    const report = await session.result;

    expect(report).toMatchObject({ total: 3, verified: 1, written: 1, noMatch: 1, retryable: 1 });
    const byLabel = Object.fromEntries(report.failed.map((failure) => [failure.label, failure]));
    expect(byLabel['Daft Punk - One More Time']).toMatchObject({ code: 'NXS_NO_MATCH', retryable: false });
    const aerodynamic = byLabel['Daft Punk - Aerodynamic'];
    expect(aerodynamic).toMatchObject({ code: 'NXS_UPSTREAM', retryable: true });
    expect(aerodynamic?.reason).toMatch(/^youtube \(ISRC search GBDUW0000054\) failed: youtube answered 503/);
    expect(aerodynamic?.reason).not.toMatch(/^no match/);
    const items = events.flatMap((event) => (event.type === 'progress' && event.item ? [event.item] : []));
    expect(items.find((item) => item.label === 'Daft Punk - Aerodynamic')?.reason).toMatch(
      /^NXS_UPSTREAM \(retryable\): youtube/,
    );
    const last = events.filter((event): event is ProgressEvent => event.type === 'progress').at(-1);
    expect(last?.message).toMatch(/1 of them after engine failures: run the seed again/);
  });

  it('keeps what it finished when interrupted, and skips it when started again', async () => {
    let hangSecond = true;
    const { resolver, video } = resolverWith((isrc) =>
      isrc === 'GBDUW0000053' && hangSecond
        ? { hang: true }
        : { latencyMs: 10, candidates: [artTrackFor(byIsrc(isrc), isrc)] },
    );
    const controller = new AbortController();
    const first = resolver.seed('https://www.deezer.com/album/302127', {
      concurrency: 1,
      signal: controller.signal,
    });
    for await (const event of first) {
      if (event.type === 'progress' && event.item?.status === 'done') controller.abort();
    }
    const interrupted = await rejectionOf(first.result);
    expect(interrupted.code).toBe('NXS_ABORTED');
    expect(interrupted.details).toMatchObject({ written: 1 });
    expect(await registry.get({ isrc: 'GBDUW0000059' })).toBeDefined();
    expect(video.inFlight()).toBe(0);

    hangSecond = false;
    const report = await resolver.seed('https://www.deezer.com/album/302127', { concurrency: 2 }).result;
    expect(report).toMatchObject({ total: 3, skipped: 1, verified: 2, written: 2 });
    expect(
      video.calls.filter((call) => call.method === 'isrc' && call.argument === 'GBDUW0000059'),
    ).toHaveLength(1);
  });

  it('refuses a single track: that is what resolve is for', async () => {
    const { resolver } = resolverWith(() => ({ candidates: [] }));
    const error = await rejectionOf(resolver.seed('https://www.deezer.com/track/3135556').result);
    expect(error.code).toBe('NXS_INVALID_INPUT');
  });
});
