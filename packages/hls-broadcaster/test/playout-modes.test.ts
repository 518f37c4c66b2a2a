import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeMedia, sampleMedia } from '@nexstream/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Broadcaster, createBroadcaster } from '../src/broadcaster.js';
import { parseMediaPlaylist } from './support/live-playlist.js';
import { lastSequence, waitFor, waitForNewSegments } from './support/wait.js';

describe('playout modes (real ffmpeg)', () => {
  let dataDir: string;
  let broadcaster: Broadcaster;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nxs-copy-'));
    broadcaster = createBroadcaster({
      dataDir,
      profile: {
        width: 320,
        height: 180,
        fps: 25,
        // A realistic bitrate: the encoder must find the AAC parameters in a dense stream-copy input.
        videoBitrateKbps: 2500,
        audioBitrateKbps: 64,
        playout: 'copy',
      },
    });
  });
  afterAll(async () => {
    await broadcaster.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('normalizes items at ingest and plays them by stream copy in whole 2 s segments', async () => {
    const channel = broadcaster.channel('copy');
    const first = await channel.ingest(
      createReadStream(await sampleMedia('h264-aac-mp4', { durationS: 5, width: 640, height: 360, fps: 30 })),
    );
    await channel.ingest(
      createReadStream(
        await sampleMedia('h264-aac-mp4', { durationS: 4, width: 480, height: 270, fps: 24, audio: 'none' }),
      ),
    );
    // Normalized once: the channel's size and rate, audio added, length rounded up to whole segments.
    expect(first.filename).toMatch(/\.copy\.ts$/);
    expect(first.durationMs).toBe(6000);
    const probed = await probeMedia(join(dataDir, 'channels', 'copy', 'media', first.filename));
    expect(probed.streams.find((stream) => stream.codec_type === 'video')).toMatchObject({
      width: 320,
      height: 180,
    });
    expect(await readdir(join(dataDir, 'channels', 'copy', 'media'))).toHaveLength(2);

    await channel.start();
    const live = join(channel.hlsDirectory, channel.playlistName);
    await waitForNewSegments(live, 6);
    const { segments } = parseMediaPlaylist(
      await readFile(join(channel.hlsDirectory, channel.playlistName), 'utf8'),
    );
    expect(segments.length).toBeGreaterThanOrEqual(5);
    for (const segment of segments) expect(Math.abs(segment.durationS - 2)).toBeLessThanOrEqual(0.1);
    expect(segments.some((segment) => segment.discontinuity)).toBe(false);
    // Live edits still work by stream copy; they land on keyframes, so a segment may stretch to two.
    await channel.pause();
    await waitForNewSegments(live, 1);
    await channel.resume();
    await waitForNewSegments(live, 3);
    const edited = parseMediaPlaylist(
      await readFile(join(channel.hlsDirectory, channel.playlistName), 'utf8'),
    );
    expect(edited.segments.some((segment) => segment.discontinuity)).toBe(false);
    for (const segment of edited.segments) expect(segment.durationS).toBeLessThanOrEqual(4.1);
    expect(channel.status().state).toBe('playing');
    expect(channel.status().encoder.restarts).toBe(0);
    await channel.stop();
  }, 90_000);

  it('writes a master playlist and one aligned media playlist per rendition of the ladder', async () => {
    const ladder = createBroadcaster({
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
    const channel = ladder.channel('ladder');
    try {
      await channel.ingest(
        createReadStream(
          await sampleMedia('h264-aac-mp4', { durationS: 4, width: 640, height: 360, fps: 30 }),
        ),
      );
      await channel.start();
      const names = ['index_0.m3u8', 'index_1.m3u8'];
      await waitFor(
        async () =>
          (await Promise.all(names.map((name) => lastSequence(join(channel.hlsDirectory, name))))).every(
            (sequence) => sequence >= 1,
          ),
        'two segments in every variant playlist',
      );
      const master = await readFile(join(channel.hlsDirectory, channel.playlistName), 'utf8');
      expect(master.match(/#EXT-X-STREAM-INF/g)).toHaveLength(2);
      expect(master).toContain('RESOLUTION=320x180');
      expect(master).toContain('RESOLUTION=160x90');
      const variants = await Promise.all(
        ['index_0.m3u8', 'index_1.m3u8'].map(async (name) =>
          parseMediaPlaylist(await readFile(join(channel.hlsDirectory, name), 'utf8')),
        ),
      );
      for (const variant of variants) {
        expect(variant.segments.length).toBeGreaterThanOrEqual(2);
        for (const segment of variant.segments)
          expect(Math.abs(segment.durationS - 2)).toBeLessThanOrEqual(0.1);
      }
      expect(variants[0]?.mediaSequence).toBe(variants[1]?.mediaSequence);
      const probed = await probeMedia(join(channel.hlsDirectory, variants[1]?.segments[0]?.uri as string));
      expect(probed.streams.find((stream) => stream.codec_type === 'video')).toMatchObject({
        width: 160,
        height: 90,
      });
    } finally {
      await ladder.close();
    }
  }, 90_000);
});
