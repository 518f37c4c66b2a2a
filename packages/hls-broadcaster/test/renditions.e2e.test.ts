import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium, sampleMedia } from '@nexstream/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Broadcaster, createBroadcaster } from '../src/broadcaster.js';
import { createHttpHandler } from '../src/http-handler.js';
import { watchPlaylist } from './support/live-playlist.js';
import { type PlayerServer, startPlayerServer } from './support/player-server.js';
import { nextEvent, waitFor } from './support/wait.js';

const page = `<!doctype html><html><body><video id="video" muted playsinline></video>
<script src="/hls.min.js"></script>
<script>
  const video = document.getElementById('video');
  const state = { levels: 0, waiting: 0, playing: false, errors: [] };
  window.state = state;
  const hls = new Hls();
  hls.on(Hls.Events.MANIFEST_PARSED, (_event, data) => { state.levels = data.levels.length; });
  hls.on(Hls.Events.ERROR, (_event, data) => state.errors.push(data.details + (data.fatal ? ' (fatal)' : '')));
  video.addEventListener('playing', () => { state.playing = true; });
  video.addEventListener('waiting', () => { if (state.playing) state.waiting += 1; });
  window.played = () => video.currentTime;
  hls.loadSource('/tv/hls/index.m3u8');
  hls.attachMedia(video);
  video.play().catch((error) => state.errors.push('play: ' + error.message));
</script></body></html>`;

describe('a channel with a renditions ladder (hls.js in Chromium)', () => {
  let dataDir: string;
  let broadcaster: Broadcaster;
  let server: PlayerServer | undefined;
  let base: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nxs-ladder-'));
    broadcaster = createBroadcaster({
      dataDir,
      profile: {
        width: 320,
        height: 180,
        fps: 25,
        videoBitrateKbps: 300,
        audioBitrateKbps: 64,
        renditions: [{ width: 160, height: 90, videoBitrateKbps: 100 }],
      },
    });
    const channel = broadcaster.channel('ladder');
    await channel.ingest(
      createReadStream(await sampleMedia('h264-aac-mp4', { durationS: 4, width: 640, height: 360 })),
    );
    await channel.ingest(
      createReadStream(
        await sampleMedia('h264-aac-mp4', { durationS: 5, width: 320, height: 240, fps: 24, audio: 'none' }),
      ),
    );
    const handler = createHttpHandler({ channel, basePath: '/tv' });
    server = await startPlayerServer(page, (request, response) => void handler(request, response));
    base = server.base;
  });

  afterAll(async () => {
    await broadcaster?.close();
    await server?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('plays the master playlist with both levels, and every variant survives an encoder crash with one discontinuity', async () => {
    const channel = broadcaster.channel('ladder');
    await channel.start();
    const variants = [0, 1].map((index) => watchPlaylist(`${base}/tv/hls/index_${index}.m3u8`));
    await variants[0]?.nextSegmentAfter(0, 30_000);
    const browser = await launchChromium({ args: ['--autoplay-policy=no-user-gesture-required'] });
    try {
      const tab = await browser.newPage();
      await tab.goto(`${base}/`);
      await tab.waitForFunction(
        () => (window as unknown as { state: { playing: boolean } }).state.playing,
        undefined,
        {
          timeout: 30_000,
        },
      );
      // Some playback before the crash, and well past it after.
      await tab.waitForFunction(() => (window as unknown as { played(): number }).played() > 4, undefined, {
        timeout: 60_000,
      });
      process.kill(channel.status().encoder.pid as number, 'SIGKILL');
      await nextEvent(channel, 'encoder-restarted');
      await tab.waitForFunction(() => (window as unknown as { played(): number }).played() > 13, undefined, {
        timeout: 60_000,
      });
      await waitFor(
        () =>
          variants.every((variant) => {
            const after = [...variant.segments.values()].find((segment) => segment.discontinuity);
            return after !== undefined && variant.segments.has(after.sequence + 2);
          }),
        'two segments after the discontinuity in every variant',
      );
      const state = await tab.evaluate(() => ({
        ...(window as unknown as { state: { levels: number; waiting: number; errors: string[] } }).state,
        played: (window as unknown as { played(): number }).played(),
      }));
      expect(state.levels).toBe(2);
      expect(state.played).toBeGreaterThan(12);
      expect(state.errors.filter((error) => error.includes('fatal'))).toEqual([]);
      for (const variant of variants) {
        await variant.stop();
        const sequences = [...variant.segments.keys()].sort((a, b) => a - b);
        expect(sequences.at(-1)! - sequences[0]! + 1).toBe(sequences.length);
        expect([...variant.segments.values()].filter((segment) => segment.discontinuity)).toHaveLength(1);
        for (const segment of variant.segments.values())
          expect(Math.abs(segment.durationS - 2)).toBeLessThanOrEqual(0.1);
      }
    } finally {
      await browser.close();
      await Promise.all(variants.map((variant) => variant.stop()));
    }
  }, 120_000);
});
