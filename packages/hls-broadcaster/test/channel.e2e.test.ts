import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childProcessIds, launchChromium, sampleMedia } from '@nexstream/testkit';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Broadcaster, createBroadcaster } from '../src/broadcaster.js';
import type { Channel, ChannelEvents } from '../src/channel.js';
import { createHttpHandler } from '../src/http-handler.js';
import type { PlaylistItem } from '../src/playlist.js';
import { watchPlaylist } from './support/live-playlist.js';
import { type PlayerServer, startPlayerServer } from './support/player-server.js';
import { nextEvent, waitFor, waitForNewSegments } from './support/wait.js';

const page = `<!doctype html><html><body><video id="video" muted playsinline></video>
<script src="/hls.min.js"></script>
<script>
  const video = document.getElementById('video');
  const stats = { waiting: 0, stalls: 0, errors: [], firstPlayingAt: 0, supported: Hls.isSupported() };
  window.playerStats = stats;
  const hls = new Hls();
  hls.on(Hls.Events.ERROR, (_event, data) => {
    stats.errors.push(data.details + (data.fatal ? ' (fatal)' : '') + ' @' + (Date.now() / 1000).toFixed(1));
    if (data.details === 'bufferStalledError') stats.stalls += 1;
  });
  video.addEventListener('playing', () => { if (!stats.firstPlayingAt) stats.firstPlayingAt = performance.now(); });
  video.addEventListener('waiting', () => { if (stats.firstPlayingAt) { stats.waiting += 1; stats.errors.push('waiting @' + (Date.now() / 1000).toFixed(1)); } });
  window.playedSeconds = () => video.currentTime;
  window.sinceFirstPlayingSeconds = () => stats.firstPlayingAt ? (performance.now() - stats.firstPlayingAt) / 1000 : 0;
  hls.loadSource('/tv/hls/index.m3u8');
  hls.attachMedia(video);
  video.play().catch((error) => stats.errors.push('play: ' + error.message));
</script></body></html>`;

describe('a live channel end to end (real ffmpeg, hls.js in Chromium, ffprobe over HTTP)', () => {
  let dataDir: string;
  let broadcaster: Broadcaster;
  let channel: Channel;
  let server: PlayerServer | undefined;
  let base: string;
  const items: PlaylistItem[] = [];
  const events: Array<
    { at: number } & {
      [K in keyof ChannelEvents]: { type: K; payload: ChannelEvents[K] };
    }[keyof ChannelEvents]
  > = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nxs-e2e-'));
    broadcaster = createBroadcaster({
      dataDir,
      profile: { width: 320, height: 180, fps: 25, videoBitrateKbps: 300, audioBitrateKbps: 64 },
    });
    channel = broadcaster.channel('e2e');
    channel.onAny((type, payload) => {
      if (type !== 'stats') events.push({ at: Date.now(), type, payload } as (typeof events)[number]);
    });
    const clips = [
      await sampleMedia('h264-aac-mp4', { durationS: 5, width: 640, height: 360, fps: 30, audio: 'stereo' }),
      await sampleMedia('h264-aac-mp4', {
        durationS: 4,
        width: 480,
        height: 270,
        fps: 25,
        audio: 'mono',
        sampleRateHz: 44100,
      }),
      await sampleMedia('h264-aac-mp4', { durationS: 5, width: 320, height: 240, fps: 24, audio: 'none' }),
    ];
    for (const [index, clip] of clips.entries()) {
      items.push(await channel.ingest(createReadStream(clip), { originalName: `clip-${index}.mp4` }));
    }
    const handler = createHttpHandler({ channel, basePath: '/tv' });
    server = await startPlayerServer(page, (request, response) => void handler(request, response));
    base = server.base;
  });

  afterAll(async () => {
    await broadcaster?.close();
    await server?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('plays across transitions, a jump, a reorder, pause/resume and an encoder SIGKILL without stalling', async () => {
    const started = Date.now();
    await channel.start();
    const watcher = watchPlaylist(`${base}/tv/hls/index.m3u8`);
    const firstSegmentAt = await watcher.nextSegmentAfter(0, 30_000);
    const browser = await launchChromium({ args: ['--autoplay-policy=no-user-gesture-required'] });
    let ffprobe: ReturnType<typeof execa> | undefined;
    try {
      const tab = await browser.newPage();
      await tab.goto(`${base}/`);
      expect(
        await tab.evaluate(
          () => (window as unknown as { playerStats: { supported: boolean } }).playerStats.supported,
        ),
      ).toBe(true);
      await tab.waitForFunction(
        () =>
          (window as unknown as { playerStats: { firstPlayingAt: number } }).playerStats.firstPlayingAt > 0,
        undefined,
        { timeout: 30_000 },
      );

      // ffprobe reads the live stream over HTTP for ~30 s while the edits happen.
      ffprobe = execa(
        'ffprobe',
        [
          '-v',
          'error',
          '-show_entries',
          'packet=codec_type,pts_time,duration_time',
          '-of',
          'csv=p=0',
          '-read_intervals',
          '%+34',
          `${base}/tv/hls/index.m3u8`,
        ],
        { reject: false, timeout: 90_000 },
      );

      const itemStarts = () => events.filter((event) => event.type === 'item-started').length;
      await waitFor(() => itemStarts() >= 4, 'three natural transitions');
      const [first, second, third] = items as [PlaylistItem, PlaylistItem, PlaylistItem];
      const playing = channel.status().item?.id;
      const target = [first, second, third].find((item) => item.id !== playing) as PlaylistItem;
      const live = join(channel.hlsDirectory, channel.playlistName);
      await channel.jump(target.id);
      await waitFor(() => channel.status().item?.id === target.id, 'the jump target on air');
      await waitForNewSegments(live, 1);
      await channel.reorder([third.id, first.id, second.id]);
      await waitForNewSegments(live, 1);
      await channel.pause();
      const pausedPosition = (await Promise.resolve(channel.status())).item;
      expect(channel.status().state).toBe('paused');
      await waitForNewSegments(live, 2);
      const resumedStart = nextEvent(channel, 'item-started');
      await channel.resume();
      await resumedStart;
      const resumed = events.filter((event) => event.type === 'item-started').at(-1);
      expect(resumed?.type === 'item-started' && resumed.payload.startMs).toBeGreaterThan(0);
      expect(pausedPosition).toBeNull(); // the slate is on air while paused
      const probe = await ffprobe;
      expect(probe.stderr).toBe('');
      const packets = String(probe.stdout)
        .trim()
        .split('\n')
        .map((line) => line.split(','))
        .map(([type, pts, duration]) => ({ type, pts: Number(pts), duration: Number(duration) }));
      for (const type of ['video', 'audio']) {
        const stream = packets.filter((packet) => packet.type === type && Number.isFinite(packet.pts));
        expect(stream.at(-1)!.pts - stream[0]!.pts, `${type} seconds read`).toBeGreaterThan(25);
        let worstGap = 0;
        for (let index = 1; index < stream.length; index += 1) {
          const previous = stream[index - 1]!;
          worstGap = Math.max(worstGap, stream[index]!.pts - previous.pts - (previous.duration || 0));
        }
        expect(worstGap, `${type} worst timestamp gap (s)`).toBeLessThanOrEqual(0.1);
      }

      // Crash the encoder: it must come back within a second, appending with one discontinuity.
      const sequenceBeforeCrash = Math.max(...watcher.segments.keys());
      const pid = channel.status().encoder.pid as number;
      const killedAt = Date.now();
      process.kill(pid, 'SIGKILL');
      await waitFor(
        () =>
          events.some((event) => event.type === 'encoder-restarted') && channel.status().encoder.pid !== pid,
        'the encoder to restart',
        { intervalMs: 20 },
      );
      expect(Date.now() - killedAt).toBeLessThan(1000);
      // Six segments (12 s of stream) after the crash.
      await waitForNewSegments(live, 6);

      const stats = await tab.evaluate(() => {
        const w = window as unknown as {
          playerStats: { waiting: number; stalls: number; errors: string[] };
          playedSeconds(): number;
          sinceFirstPlayingSeconds(): number;
        };
        return { ...w.playerStats, played: w.playedSeconds(), since: w.sinceFirstPlayingSeconds() };
      });
      await watcher.stop();

      // The player never stalled after start-up and kept up with real time.
      const timeline = `killed @${(killedAt / 1000).toFixed(1)}; ${stats.errors.join(', ')}; events: ${events
        .filter((event) => event.type !== 'playlist-changed')
        .map((event) => `${event.type} @${(event.at / 1000).toFixed(1)}`)
        .join(', ')}`;
      expect(stats.stalls, timeline).toBe(0);
      expect(stats.waiting, timeline).toBe(0);
      expect(stats.errors.filter((error) => error.includes('fatal'))).toEqual([]);
      // The live playlist: continuous media sequence, constant 2 s segments, one discontinuity after the crash.
      const sequences = [...watcher.segments.keys()].sort((a, b) => a - b);
      expect(sequences.at(-1)! - sequences[0]! + 1).toBe(sequences.length);
      expect(sequences.length).toBeGreaterThan(20);
      for (const segment of watcher.segments.values()) {
        expect(
          Math.abs(segment.durationS - 2),
          `segment ${segment.sequence} lasts ${segment.durationS}`,
        ).toBeLessThanOrEqual(0.1);
      }
      const discontinuities = [...watcher.segments.values()].filter((segment) => segment.discontinuity);
      expect(discontinuities.map((segment) => segment.sequence)).toHaveLength(1);
      expect(discontinuities[0]!.sequence).toBeGreaterThan(sequenceBeforeCrash);
      expect(watcher.errors).toEqual([]);
      expect(events.filter((event) => event.type === 'item-failed')).toEqual([]);
      expect(events.filter((event) => event.type === 'encoder-restarted')).toHaveLength(1);
      // Orphans of the killed encoder are pruned: only the window (+ a small margin) stays on disk.
      const onDisk = (await readdir(channel.hlsDirectory)).filter((name) => name.endsWith('.ts'));
      expect(onDisk.length).toBeLessThanOrEqual(10 + 5);
      console.info(
        `e2e: first segment after ${firstSegmentAt - started} ms, ${sequences.length} segments, played ${stats.played.toFixed(1)} s in ${stats.since.toFixed(1)} s`,
      );
    } finally {
      ffprobe?.kill();
      await browser.close();
    }
    await channel.stop();
    expect(channel.status().state).toBe('stopped');
    expect(childProcessIds()).toEqual([]);
  }, 240_000);
});
