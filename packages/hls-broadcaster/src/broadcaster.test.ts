import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleMedia } from '@nexstream/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBroadcaster } from './broadcaster.js';

describe('broadcaster channels', () => {
  let dataDir: string;
  const channelsOnDisk = async () => (await readdir(join(dataDir, 'channels')).catch(() => [])).sort();

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nxs-broadcaster-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('creates a channel with its folder and an empty persisted playlist, and returns it again', async () => {
    const broadcaster = createBroadcaster({ dataDir });
    expect(broadcaster.has('main')).toBe(false);
    expect(broadcaster.get('main')).toBeUndefined();
    const channel = await broadcaster.create('main');
    const onDisk = JSON.parse(await readFile(join(dataDir, 'channels', 'main', 'playlist.json'), 'utf8'));
    expect(onDisk).toMatchObject({ version: 1, items: [], currentId: null });
    expect(await broadcaster.create('main')).toBe(channel);
    expect(broadcaster.get('main')).toBe(channel);
    expect(broadcaster.has('main')).toBe(true);
    expect(await broadcaster.ids()).toEqual(['main']);
  });

  it('looks channels up without creating folders, for unknown and malformed ids alike', async () => {
    const broadcaster = createBroadcaster({ dataDir });
    for (const id of ['ghost', 'x'.repeat(64), '../escape', '', 'a/b', '.hidden']) {
      expect(broadcaster.get(id), id).toBeUndefined();
      expect(broadcaster.has(id), id).toBe(false);
    }
    expect(await channelsOnDisk()).toEqual([]);
    await expect(broadcaster.create('../escape')).rejects.toMatchObject({ code: 'NXS_INVALID_INPUT' });
    expect(() => broadcaster.channel('../escape')).toThrow(
      expect.objectContaining({ code: 'NXS_INVALID_INPUT' }),
    );
  });

  it('refuses channels over maxChannels with NXS_CONFLICT, through create() and channel(), exactly under concurrency', async () => {
    const broadcaster = createBroadcaster({ dataDir, maxChannels: 3 });
    await broadcaster.create('one');
    const results = await Promise.allSettled(
      ['two', 'three', 'four', 'five'].map((id) => broadcaster.create(id)),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(2);
    const refused = results.find((result) => result.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({
      code: 'NXS_CONFLICT',
      retryable: false,
      details: { reason: 'max-channels', maxChannels: 3 },
      message: expect.stringMatching(/already has 3 channels/),
    });
    expect(() => broadcaster.channel('six')).toThrow(expect.objectContaining({ code: 'NXS_CONFLICT' }));
    expect(await channelsOnDisk()).toHaveLength(3);
    // An existing channel is still returned at the cap.
    await expect(broadcaster.create('one')).resolves.toBe(broadcaster.get('one'));
    expect(broadcaster.channel('one')).toBe(broadcaster.get('one'));
  });

  it('counts channels on disk from an earlier run toward the cap, but not folders without a playlist', async () => {
    const first = createBroadcaster({ dataDir });
    await first.create('kept');
    // What an older version left for a GET on a made-up id: a folder, no playlist.
    await mkdir(join(dataDir, 'channels', 'junk', 'media'), { recursive: true });
    const second = createBroadcaster({ dataDir, maxChannels: 2 });
    expect(await second.ids()).toEqual(['kept']);
    expect(second.has('junk')).toBe(false);
    await second.create('new');
    await expect(second.create('third')).rejects.toMatchObject({ code: 'NXS_CONFLICT' });
    expect(await second.ids()).toEqual(['kept', 'new']);
  });

  it('finds a channel from an earlier run after a restart, with its playlist, and carries on', async () => {
    const clip = await sampleMedia('h264-aac-mp4', { durationS: 2, width: 160, height: 90 });
    const before = createBroadcaster({ dataDir });
    const channel = await before.create('tv');
    const item = await channel.ingest(createReadStream(clip), { originalName: 'clip.mp4' });
    await before.close();

    const after = createBroadcaster({ dataDir });
    expect(after.has('tv')).toBe(true);
    const reloaded = after.get('tv');
    expect(reloaded).toBeDefined();
    expect((await reloaded?.list())?.items.map((entry) => entry.id)).toEqual([item.id]);
    expect(after.channels()).toEqual([reloaded]);
    // A channel made with channel() is persisted at once, so it too survives a restart.
    await after.channel('programmatic').ready();
    expect(await stat(join(dataDir, 'channels', 'programmatic', 'playlist.json'))).toBeTruthy();
    expect(await createBroadcaster({ dataDir }).ids()).toEqual(['programmatic', 'tv']);
  });
});
