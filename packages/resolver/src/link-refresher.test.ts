import { NexStreamError } from '@nexstream/core';
import { createRegistry, type Registry } from '@nexstream/registry';
import { createVerifiedMatch } from '@nexstream/registry/verification';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rejectionOf } from '../test/http-engine-harness.js';
import { createScriptedVideoEngine, fixtureTrack, formatsFor, videos } from '../test/race-harness.js';
import type { VideoCandidate } from './engine.js';
import { createLinkRefresher } from './link-refresher.js';

describe('link refresher', () => {
  let registry: Registry;
  beforeEach(async () => {
    registry = await createRegistry({ url: ':memory:' });
  });
  afterEach(async () => {
    await registry.close();
  });

  async function store(
    expiresInMs: number,
    video: VideoCandidate = videos.artTrack,
    isrc: string = fixtureTrack.isrc,
  ) {
    const expiresAt = Date.now() + expiresInMs;
    await registry.put(
      createVerifiedMatch({
        track: {
          title: 'Harder Better Faster Stronger',
          artists: ['Daft Punk'],
          durationMs: video.durationMs ?? fixtureTrack.durationMs,
          isrc,
          ids: { deezer: isrc === fixtureTrack.isrc ? fixtureTrack.deezerId : isrc.slice(-7) },
        },
        media: {
          id: video.mediaId,
          platform: 'youtube',
          pageUrl: video.url,
          title: video.title,
          durationMs: video.durationMs ?? fixtureTrack.durationMs,
          formats: formatsFor(video.id, expiresAt, 0),
          expiresAt: Math.floor(expiresAt / 1000) * 1000,
        },
        verification: { method: 'art-track', isrcSource: 'deezer' },
      }),
    );
  }

  it('coalesces concurrent refreshes of one media into one extraction and records the new links', async () => {
    await store(5 * 60_000);
    const video = createScriptedVideoEngine({ extractLatencyMs: 150 });
    const refresher = createLinkRefresher({ registry, video, marginMs: 30 * 60_000 });
    const results = await Promise.all(
      Array.from({ length: 5 }, () => refresher.refresh(videos.artTrack.mediaId)),
    );
    expect(video.calls.filter((call) => call.method === 'extract')).toHaveLength(1);
    expect(new Set(results.map((media) => media.formats[0]?.url)).size).toBe(1);
    const entry = await registry.get({ mediaId: videos.artTrack.mediaId });
    expect(entry?.media.formats[0]?.url).toBe(results[0]?.formats[0]?.url);
    expect(entry?.link.expiresAt).toBeGreaterThan(Date.now() + 60 * 60_000);
    expect(refresher.inFlight).toBe(0);
  });

  it('keeps links valid beyond the margin, and re-extracts them at once after a 403 (force)', async () => {
    await store(5 * 3600_000);
    const video = createScriptedVideoEngine({});
    const refresher = createLinkRefresher({ registry, video, marginMs: 30 * 60_000 });
    const kept = await refresher.refresh(videos.artTrack.mediaId);
    expect(video.calls).toHaveLength(0);
    expect(kept.formats[0]?.url).toMatch(/g=0/);
    const forced = await refresher.refresh(videos.artTrack.mediaId, { force: true });
    expect(video.calls).toHaveLength(1);
    expect(forced.formats[0]?.url).toMatch(/g=1/);
  });

  it('records a failed refresh and reports the extraction error', async () => {
    const gone = {
      ...videos.artTrack,
      mediaId: 'youtube:gone0000000',
      id: 'gone0000000',
      url: 'https://www.youtube.com/watch?v=gone0000000',
    };
    await store(60_000, gone);
    const video = createScriptedVideoEngine({});
    const refresher = createLinkRefresher({ registry, video });
    const error = await rejectionOf(refresher.refresh(gone.mediaId));
    expect(error.code).toBe('NXS_NOT_FOUND');
    // The refresher asked for the video by its id (the canonical watch URL), not by a stored URL.
    expect(video.calls.map((call) => call.argument)).toEqual(['https://www.youtube.com/watch?v=gone0000000']);
    const entry = await registry.get({ mediaId: gone.mediaId });
    expect(entry?.link.refreshFailures).toBe(1);
    expect((await rejectionOf(refresher.refresh('youtube:AAAAAAAAAAA'))).code).toBe('NXS_NOT_FOUND');
  });

  it('lets one waiter stop waiting without cancelling the shared extraction', async () => {
    await store(60_000);
    const video = createScriptedVideoEngine({ extractLatencyMs: 200 });
    const refresher = createLinkRefresher({ registry, video });
    const controller = new AbortController();
    const impatient = refresher.refresh(videos.artTrack.mediaId, { signal: controller.signal });
    const patient = refresher.refresh(videos.artTrack.mediaId);
    controller.abort();
    expect((await rejectionOf(impatient)).code).toBe('NXS_ABORTED');
    expect((await patient).formats[0]?.url).toMatch(/g=1/);
  });

  /** Starts the background refresher on one due media and waits until its extraction is running. */
  async function backgroundExtracting(extractLatencyMs: number) {
    await store(60_000);
    const video = createScriptedVideoEngine({ extractLatencyMs });
    const refresher = createLinkRefresher({ registry, video, marginMs: 30 * 60_000 });
    refresher.start({ intervalMs: 60_000 });
    const deadline = Date.now() + 5_000;
    while (video.calls.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(refresher.inFlight).toBe(1);
    return { video, refresher };
  }

  it('gives a just-in-time caller who joined a background extraction the fresh media after stop()', async () => {
    const { video, refresher } = await backgroundExtracting(300);
    const joined = refresher.refresh(videos.artTrack.mediaId);
    await refresher.stop();
    expect(refresher.running).toBe(false);
    const media = await joined;
    expect(media.formats[0]?.url).toMatch(/g=1/);
    expect(video.calls).toHaveLength(1);
    expect(video.calls[0]?.aborted).toBe(false);
    const entry = await registry.get({ mediaId: videos.artTrack.mediaId });
    expect(entry?.media.formats[0]?.url).toBe(media.formats[0]?.url);
    expect(refresher.inFlight).toBe(0);
  });

  it('aborts a shared extraction only when its last waiter leaves', async () => {
    // The background stops, a caller still waits: it runs on; that caller leaves too: it is aborted.
    const { video, refresher } = await backgroundExtracting(5_000);
    const controller = new AbortController();
    const joined = refresher.refresh(videos.artTrack.mediaId, { signal: controller.signal });
    await refresher.stop();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(video.calls[0]).toMatchObject({ aborted: false, settled: false });
    controller.abort();
    const error = await rejectionOf(joined);
    expect([error.code, error.message]).toEqual([
      'NXS_ABORTED',
      `refresh of ${videos.artTrack.mediaId}: the caller stopped waiting`,
    ]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(video.calls[0]).toMatchObject({ aborted: true, settled: true });
    expect(refresher.inFlight).toBe(0);
    // An abandoned extraction is no failure of the link.
    expect((await registry.get({ mediaId: videos.artTrack.mediaId }))?.link.refreshFailures).toBe(0);

    // Just-in-time callers only: the extraction lives while one of them waits.
    const first = new AbortController();
    const second = new AbortController();
    const one = refresher.refresh(videos.artTrack.mediaId, { force: true, signal: first.signal });
    const two = refresher.refresh(videos.artTrack.mediaId, { force: true, signal: second.signal });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(video.calls).toHaveLength(2);
    first.abort();
    expect((await rejectionOf(one)).code).toBe('NXS_ABORTED');
    expect(video.calls[1]?.aborted).toBe(false);
    second.abort();
    expect((await rejectionOf(two)).code).toBe('NXS_ABORTED');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(video.calls[1]).toMatchObject({ aborted: true, settled: true });
    expect(refresher.inFlight).toBe(0);
  });

  it('aborts the background extraction nobody joined when stopped', async () => {
    const { video, refresher } = await backgroundExtracting(5_000);
    await refresher.stop();
    expect(video.calls[0]).toMatchObject({ aborted: true, settled: true });
    expect(refresher.inFlight).toBe(0);
  });

  it('works through dueForRefresh in the background until stopped', async () => {
    await store(60_000, videos.artTrack, fixtureTrack.isrc);
    await store(2 * 60_000, videos.officialAudio, 'GBDUW0000060');
    await store(10 * 3600_000, videos.lyricUpload, 'GBDUW0000061');
    const video = createScriptedVideoEngine({});
    const logs: string[] = [];
    const refresher = createLinkRefresher({
      registry,
      video,
      marginMs: 30 * 60_000,
      onLog: (event) => logs.push(event.message),
    });
    refresher.start({ intervalMs: 60_000 });
    expect(refresher.running).toBe(true);
    const deadline = Date.now() + 10_000;
    while (video.calls.filter((call) => call.settled).length < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await refresher.stop();
    expect(refresher.running).toBe(false);
    expect(video.calls.map((call) => call.argument).sort()).toEqual(
      [videos.artTrack.url, videos.officialAudio.url].sort(),
    );
    const due = await registry.dueForRefresh({ within: 30 * 60_000 });
    expect(due).toHaveLength(0);
    expect(logs.some((line) => /background refresh: 2 of 2/.test(line))).toBe(true);
    expect(NexStreamError.is(await refresher.runPass().catch((error: unknown) => error))).toBe(false);
  });
});
