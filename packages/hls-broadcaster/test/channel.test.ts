import { createReadStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childProcessIds, sampleMedia } from '@nexstream/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Broadcaster, createBroadcaster } from '../src/broadcaster.js';
import type { ChannelEvents } from '../src/channel.js';
import { writeHostilePlaylists } from './support/hostile-playlists.js';
import { parseMediaPlaylist } from './support/live-playlist.js';
import { waitFor, waitForNewSegments } from './support/wait.js';

const profile = { width: 160, height: 90, fps: 15, videoBitrateKbps: 150, audioBitrateKbps: 48 };

describe('channel (real ffmpeg)', () => {
  let dataDir: string;
  let broadcaster: Broadcaster;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nxs-channel-'));
    broadcaster = createBroadcaster({ dataDir, profile, failureBackoffMs: 60_000 });
  });
  afterEach(async () => {
    await broadcaster.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const record = (id: string) => {
    const events: Array<{ type: keyof ChannelEvents; payload: unknown }> = [];
    broadcaster.channel(id).onAny((type, payload) => {
      if (type !== 'stats') events.push({ type, payload });
    });
    return events;
  };

  it('skips a broken item with an item-failed event, and shows the slate without spinning when all fail', async () => {
    const channel = broadcaster.channel('broken');
    const events = record('broken');
    const clip = await sampleMedia('h264-aac-mp4', { durationS: 4, width: 320, height: 180 });
    const good = await channel.ingest(createReadStream(clip));
    const bad = await channel.ingest(createReadStream(clip));
    // Probe was fine at ingest; the file is damaged afterwards (decode fails on air).
    await writeFile(join(dataDir, 'channels', 'broken', 'media', bad.filename), Buffer.alloc(4096, 1));
    await channel.jump(bad.id);
    await channel.start();
    await waitFor(() => events.some((event) => event.type === 'item-failed'), 'the broken item to fail');
    await waitFor(
      () => channel.status().state === 'playing' && channel.status().item?.id === good.id,
      'the good item to play after the broken one',
    );
    // The -progress feed reaches status() and the stats event.
    await waitFor(() => (channel.status().encoder.stats?.frame ?? 0) > 0, 'the encoder to report frames');

    await writeFile(join(dataDir, 'channels', 'broken', 'media', good.filename), Buffer.alloc(4096, 1));
    await waitFor(() => channel.status().state === 'slate', 'the slate after every item failed');
    expect(channel.status().slateReason).toBe('failing');
    const failures = events.filter((event) => event.type === 'item-failed').length;
    // Two more segments of slate (4 s of stream) without another attempt: the channel does not spin.
    await waitForNewSegments(join(channel.hlsDirectory, channel.playlistName), 2);
    expect(events.filter((event) => event.type === 'item-failed').length).toBe(failures);
    expect(events.some((event) => event.type === 'error')).toBe(true);
    // The slate keeps the stream alive: segments keep coming.
    const before = (await readdir(channel.hlsDirectory)).length;
    expect(before).toBeGreaterThan(0);
    await channel.stop();
    expect(childProcessIds()).toEqual([]);
  }, 90_000);

  it('moves on within a segment when the playing item is removed, and plays the slate when the playlist empties', async () => {
    const channel = broadcaster.channel('edits');
    const events = record('edits');
    const first = await channel.ingest(
      createReadStream(await sampleMedia('h264-aac-mp4', { durationS: 6, width: 320, height: 180 })),
    );
    const second = await channel.ingest(
      createReadStream(
        await sampleMedia('h264-aac-mp4', { durationS: 4, width: 320, height: 180, audio: 'none' }),
      ),
    );
    await channel.start();
    await waitFor(
      () => channel.status().item?.id === first.id && (channel.status().item?.positionMs ?? 0) >= 1000,
      'the first item to be on air for a second',
    );
    const removedAt = Date.now();
    await channel.removeItem(first.id);
    await waitFor(() => channel.status().item?.id === second.id, 'the second item after the removal', {
      intervalMs: 20,
    });
    expect(Date.now() - removedAt).toBeLessThan(2000);
    expect(await readdir(join(dataDir, 'channels', 'edits', 'media'))).toEqual([second.filename]);
    await channel.clear();
    await waitFor(() => channel.status().state === 'slate', 'the slate after the playlist emptied', {
      intervalMs: 20,
    });
    expect(channel.status()).toMatchObject({ slateReason: 'empty', item: null });
    await waitForNewSegments(join(channel.hlsDirectory, channel.playlistName), 3);
    const { segments } = parseMediaPlaylist(
      await (await import('node:fs/promises')).readFile(
        join(channel.hlsDirectory, channel.playlistName),
        'utf8',
      ),
    );
    expect(segments.length).toBeGreaterThanOrEqual(3);
    expect(segments.every((segment) => Math.abs(segment.durationS - 2) <= 0.1)).toBe(true);
    expect(segments.some((segment) => segment.discontinuity)).toBe(false);
    expect(events.some((event) => event.type === 'item-ended')).toBe(true);
    await channel.stop();
    await expect(channel.start()).resolves.toMatchObject({ state: expect.any(String) });
    await expect(channel.start()).rejects.toMatchObject({ code: 'NXS_CONFLICT' });
  }, 90_000);

  it('never plays an HLS playlist an older version stored as an item: the decoder refuses it and the slate shows', async () => {
    const clip = await sampleMedia('h264-aac-mp4', { durationS: 4, width: 320, height: 180 });
    const attack = await writeHostilePlaylists(dataDir, clip);
    const folder = join(dataDir, 'channels', 'legacy');
    await mkdir(join(folder, 'media'), { recursive: true });
    const id = '0b8f7a52-5b1e-4c55-9d1a-3c1f2e4d5a6b';
    await copyFile(attack.hlsPath, join(folder, 'media', `${id}.mp4`));
    const item = {
      id,
      filename: `${id}.mp4`,
      originalName: 'x.mp4',
      sizeBytes: 100,
      durationMs: 4000,
      // What an older version recorded for the playlist it accepted.
      probe: {
        container: 'hls',
        durationMs: 4000,
        videoCodec: 'h264',
        width: 320,
        height: 180,
        fps: 25,
        audioChannels: 2,
        audioSampleRateHz: 48000,
      },
      addedAt: new Date().toISOString(),
    };
    await writeFile(
      join(folder, 'playlist.json'),
      JSON.stringify({
        version: 1,
        items: [item],
        currentId: id,
        loop: true,
        revision: 1,
        updatedAt: item.addedAt,
      }),
    );
    const channel = broadcaster.get('legacy');
    expect(channel).toBeDefined();
    const events = record('legacy');
    await channel?.start();
    await waitFor(() => channel?.status().state === 'slate', 'the slate after the refused item');
    const failed = events.find((event) => event.type === 'item-failed')
      ?.payload as ChannelEvents['item-failed'];
    expect(failed.item.id).toBe(id);
    expect(failed.reason).toMatch(/Format not on whitelist/);
    expect(
      events.some(
        (event) => event.type === 'item-ended' && (event.payload as { reason: string }).reason === 'finished',
      ),
    ).toBe(false);
    expect(channel?.status().slateReason).toBe('failing');
    await channel?.stop();
  });

  it('reports a corrupt playlist file, keeps it as a backup, and runs many channels side by side', async () => {
    const folder = join(dataDir, 'channels', 'corrupt');
    await (await import('node:fs/promises')).mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'playlist.json'), '{ not json');
    const channel = broadcaster.channel('corrupt');
    const corrupt = await channel.ready();
    expect(corrupt?.reason).toMatch(/not valid JSON/);
    expect((await readdir(folder)).some((name) => name.endsWith('.bak'))).toBe(true);
    expect(broadcaster.channel('other')).not.toBe(channel);
    expect(broadcaster.channel('corrupt')).toBe(channel);
    expect(() => broadcaster.channel('../escape')).toThrow(
      expect.objectContaining({ code: 'NXS_INVALID_INPUT' }),
    );
  });

  it('imports an insta-stream playlist by re-ingesting its files, reporting the ones that fail', async () => {
    const channel = broadcaster.channel('imported');
    const clip = await sampleMedia('h264-aac-mp4', { durationS: 4, width: 320, height: 180 });
    const result = await channel.importInstaStream({
      playlist: [
        {
          id: '1700000000001',
          filename: 'video-1700000000001.mp4',
          originalName: 'beach.mp4',
          path: clip,
          size: 1,
          duration: 4,
          addedAt: '2024-05-01T10:00:00.000Z',
        },
        {
          id: '1700000000002',
          filename: 'video-1700000000002.mp4',
          originalName: 'gone.mp4',
          path: join(dataDir, 'does-not-exist.mp4'),
          size: 1,
          duration: 4,
          addedAt: '2024-05-01T10:01:00.000Z',
        },
      ],
    });
    expect(result.imported).toHaveLength(1);
    expect(result.imported[0]).toMatchObject({
      originalName: 'beach.mp4',
      addedAt: '2024-05-01T10:00:00.000Z',
    });
    expect(result.failed).toEqual([{ id: '1700000000002', reason: expect.stringContaining('ENOENT') }]);
    const list = await channel.list();
    expect(list.items.map((item) => item.originalName)).toEqual(['beach.mp4']);
    expect(await readdir(join(dataDir, 'channels', 'imported', 'media'))).toEqual([list.items[0]?.filename]);
  });
});
