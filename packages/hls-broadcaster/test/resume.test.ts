import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleMedia } from '@nexstream/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Broadcaster, createBroadcaster } from '../src/broadcaster.js';
import type { Channel } from '../src/channel.js';
import type { PlaylistDocument } from '../src/playlist.js';
import { parseMediaPlaylist } from '../src/program-schedule.js';
import { lastSequence, nextEvent, waitFor } from './support/wait.js';

const profile = { width: 160, height: 90, fps: 15, videoBitrateKbps: 150, audioBitrateKbps: 48 };

describe('a channel that was on air comes back after a restart (real ffmpeg)', () => {
  let dataDir: string;
  const broadcasters: Broadcaster[] = [];
  const open = () => {
    const broadcaster = createBroadcaster({ dataDir, profile });
    broadcasters.push(broadcaster);
    return broadcaster;
  };
  const document = async () =>
    JSON.parse(
      await readFile(join(dataDir, 'channels', 'main', 'playlist.json'), 'utf8'),
    ) as PlaylistDocument;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nxs-resume-'));
  });
  afterEach(async () => {
    for (const broadcaster of broadcasters.splice(0)) await broadcaster.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('resumes on air at the recorded item and position, with the right status from the first call; a user stop is final', async () => {
    const clip = await sampleMedia('h264-aac-mp4', { durationS: 8, width: 320, height: 180 });
    const first = open();
    const channel = await first.create('main');
    await channel.ingest(createReadStream(clip), { originalName: 'one.mp4' });
    const two = await channel.ingest(createReadStream(clip), { originalName: 'two.mp4' });
    await channel.jump(two.id);
    await channel.start();
    expect(channel.status().onAir).toBe(true);
    // Let the item play a while: the encoder has written a segment, so it is well past the start.
    await nextEvent(channel, 'stats', (stats) => stats.outTimeMs > 2500);
    await first.close();
    expect(channel.status().state).toBe('stopped');
    const livePath = join(dataDir, 'channels', 'main', 'hls', channel.status().playlistName ?? 'index.m3u8');
    const before = parseMediaPlaylist(await readFile(livePath, 'utf8'));
    const lastBefore = before.at(-1)?.sequence ?? -1;
    expect(lastBefore).toBeGreaterThanOrEqual(0);
    const saved = (await document()).playout;
    expect(saved).toMatchObject({ onAir: true, resumeAt: { itemId: two.id } });
    expect(saved?.resumeAt?.positionMs).toBeGreaterThan(1500);

    // A new server on the same folder: the status is right before anything was awaited.
    const second = open();
    const resumed = second.get('main');
    expect(resumed).toBeDefined();
    const atOnce = resumed?.status();
    expect(atOnce).toMatchObject({
      state: 'starting',
      onAir: true,
      playlist: { size: 2, currentId: two.id },
    });
    expect(await second.ready()).toEqual(['main']);
    const status = resumed?.status();
    expect(status).toMatchObject({ state: 'playing', onAir: true, item: { id: two.id } });
    expect(status?.item?.positionMs).toBeGreaterThanOrEqual(saved?.resumeAt?.positionMs ?? 0);
    await nextEvent(resumed as Channel, 'stats', (stats) => stats.outTimeMs > 0);
    // The stream goes on: the same playlist, its media sequence continued after one discontinuity (players
    // and caches keep following it), not a new stream from sequence 0.
    await waitFor(
      async () => (await lastSequence(livePath)) > lastBefore,
      'the resumed run to add a segment',
    );
    const continued = parseMediaPlaylist(await readFile(livePath, 'utf8'));
    expect(continued.some((segment) => segment.sequence <= lastBefore)).toBe(true);
    const text = await readFile(livePath, 'utf8');
    expect(text.match(/#EXT-X-DISCONTINUITY$/gm)?.length).toBe(1);

    // A user's stop takes the channel off air for good: the next server leaves it stopped.
    await resumed?.stop();
    expect((await document()).playout?.onAir).toBe(false);
    await second.close();
    const third = open();
    expect(third.get('main')?.status()).toMatchObject({
      state: 'stopped',
      onAir: false,
      playlist: { size: 2 },
    });
    expect(await third.ready()).toEqual([]);
  });

  it('comes back paused on the slate when it was paused at shutdown, and resume() continues at the paused position', async () => {
    const clip = await sampleMedia('h264-aac-mp4', { durationS: 8, width: 320, height: 180 });
    const first = open();
    const channel = await first.create('main');
    const item = await channel.ingest(createReadStream(clip), { originalName: 'one.mp4' });
    await channel.start();
    await nextEvent(channel, 'stats', (stats) => stats.outTimeMs > 2500);
    await channel.pause();
    await first.close();
    const saved = (await document()).playout;
    expect(saved).toMatchObject({ onAir: true, resumeAt: { itemId: item.id, paused: true } });

    const second = open();
    expect(await second.ready()).toEqual(['main']);
    const resumed = second.get('main') as Channel;
    expect(resumed.status()).toMatchObject({ state: 'paused', slateReason: 'paused', onAir: true });
    const started = nextEvent(resumed, 'item-started');
    await resumed.resume();
    const { item: startedItem, startMs } = await started;
    expect(startedItem.id).toBe(item.id);
    expect(startMs).toBe(saved?.resumeAt?.positionMs);
    expect(startMs).toBeGreaterThan(1500);
  });

  it('publishes when each item appears in the stream, on the clock of its program date-time', async () => {
    const clip = await sampleMedia('h264-aac-mp4', { durationS: 3, width: 320, height: 180 });
    const broadcaster = open();
    const channel = await broadcaster.create('main');
    const one = await channel.ingest(createReadStream(clip), { originalName: 'one.mp4' });
    const two = await channel.ingest(createReadStream(clip), { originalName: 'two.mp4' });
    await channel.start();
    // Three items on air, all with a stream time: one, two, and one again (the playlist loops).
    const { schedule } = await nextEvent(
      channel,
      'schedule-changed',
      (event) => event.schedule.filter((entry) => entry.programDateTime !== null).length >= 3,
    );
    expect(schedule.slice(0, 3).map((entry) => entry.itemId)).toEqual([one.id, two.id, one.id]);
    const times = schedule.map((entry) => entry.programDateTime as number);
    // Items follow each other after their duration (3 s). The dates are read from the stream as ffmpeg writes
    // it, so a loaded machine can add a few frames of jitter; 400 ms still tells "after its duration" apart
    // from anything else (a whole item is 3000 ms).
    expect(Math.abs((times[1] as number) - (times[0] as number) - one.durationMs)).toBeLessThan(400);
    expect(Math.abs((times[2] as number) - (times[1] as number) - two.durationMs)).toBeLessThan(400);
    // The first item starts with the stream: the first segment's EXT-X-PROGRAM-DATE-TIME.
    const live = parseMediaPlaylist(await readFile(join(channel.hlsDirectory, 'index.m3u8'), 'utf8'));
    const firstSegment = live.find((segment) => segment.sequence === 0);
    if (firstSegment?.programDateTime !== undefined) {
      expect(Math.abs((times[0] as number) - firstSegment.programDateTime)).toBeLessThan(250);
    }
    expect(channel.status().schedule.length).toBeGreaterThanOrEqual(3);

    // An encoder crash: the restarted run is dated from its own first segment, after the old run's, and
    // what the old encoder was fed but never wrote leaves the schedule.
    const pid = channel.status().encoder.pid as number;
    const restarted = nextEvent(channel, 'encoder-restarted');
    process.kill(pid, 'SIGKILL');
    await restarted;
    const playlistPath = join(channel.hlsDirectory, 'index.m3u8');
    const lastOld = parseMediaPlaylist(await readFile(playlistPath, 'utf8')).at(-1)?.sequence ?? -1;
    const known = new Set(times);
    const after = await nextEvent(channel, 'schedule-changed', (event) =>
      event.schedule.some((entry) => entry.programDateTime !== null && !known.has(entry.programDateTime)),
    );
    const firstNew = parseMediaPlaylist(await readFile(playlistPath, 'utf8')).find(
      (segment) => segment.sequence > lastOld,
    );
    const dated = after.schedule.map((entry) => entry.programDateTime);
    // The first thing the new run encodes is the resumed item: it starts with the run's first segment.
    expect(dated).toContain(firstNew?.programDateTime);
    expect(dated).toEqual([...dated].sort((a, b) => (a as number) - (b as number)));
    await channel.stop();
    expect(channel.status().schedule).toEqual([]);
    expect(channel.status().encoder.stats).toBeUndefined();
  });
});
