import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { type SqldServer, sampleMedia, startSqld } from '@nexstream/testkit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Broadcaster, createBroadcaster } from '../src/broadcaster.js';
import {
  createLibsqlPlaylistStorage,
  importPlaylistFiles,
  type LibsqlPlaylistStorage,
} from '../src/libsql-storage.js';
import { emptyPlaylistDocument, type PlaylistDocument } from '../src/playlist-document.js';
import { nextEvent } from './support/wait.js';

const profile = { width: 160, height: 90, fps: 15, videoBitrateKbps: 150, audioBitrateKbps: 48 };

/** A document with one item whose name says who wrote it. */
function documentBy(writer: string, revision: number): PlaylistDocument {
  return {
    ...emptyPlaylistDocument(),
    revision,
    items: [
      {
        id: `item-${writer}`,
        filename: `${writer}.mp4`,
        originalName: `${writer}.mp4`,
        sizeBytes: 1,
        durationMs: 1000,
        probe: {
          container: 'mov,mp4,m4a,3gp,3g2,mj2',
          durationMs: 1000,
          videoCodec: 'h264',
          width: 16,
          height: 16,
          fps: 25,
          audioChannels: 0,
          audioSampleRateHz: 0,
        },
        addedAt: new Date().toISOString(),
      },
    ],
    currentId: `item-${writer}`,
  };
}

describe('playlists in libSQL', () => {
  let dataDir: string;
  const storages: LibsqlPlaylistStorage[] = [];
  const broadcasters: Broadcaster[] = [];
  const fileStorage = (options: Parameters<typeof createLibsqlPlaylistStorage>[0] = {}) => {
    const storage = createLibsqlPlaylistStorage({ url: `file:${join(dataDir, 'channels.db')}`, ...options });
    storages.push(storage);
    return storage;
  };

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nxs-libsql-playlists-'));
  });
  afterEach(async () => {
    for (const broadcaster of broadcasters.splice(0)) await broadcaster.close();
    for (const storage of storages.splice(0)) storage.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('stores a document per channel in a database file and lists the channels with their on-air flag', async () => {
    const storage = fileStorage();
    expect(await storage.list()).toEqual([]);
    const store = storage.open('main');
    expect(await store.load()).toMatchObject({ found: false, document: { items: [], revision: 0 } });
    const document = { ...documentBy('a', 3), playout: { onAir: true, updatedAt: new Date().toISOString() } };
    await store.save(document);
    await storage.open('other').save(documentBy('b', 1));
    // A second storage on the same file (another process) reads what the first wrote.
    const again = fileStorage();
    expect(await again.open('main').load()).toEqual({ document, found: true });
    expect(await again.list()).toEqual([
      { id: 'main', onAir: true },
      { id: 'other', onAir: false },
    ]);
    expect(store.location).toBe('libsql:channel_playlists/main');
  });

  it('keeps an unreadable row in the backup table and starts the channel empty, losing nothing', async () => {
    const url = `file:${join(dataDir, 'channels.db')}`;
    const storage = fileStorage();
    await storage.open('main').save(documentBy('a', 1));
    const client = createClient({ url });
    await client.execute(
      "UPDATE channel_playlists SET document = '{\"version\": 9}' WHERE channel_id = 'main'",
    );
    const result = await storage.open('main').load();
    expect(result).toMatchObject({
      found: false,
      document: { items: [] },
      corrupt: {
        reason: 'unknown playlist version 9',
        backupPath: expect.stringMatching(/^libsql:channel_playlist_backups\/\d+$/),
      },
    });
    const kept = await client.execute('SELECT channel_id, document FROM channel_playlist_backups');
    expect(kept.rows.map((row) => [row.channel_id, row.document])).toEqual([['main', '{"version": 9}']]);
    client.close();
  });

  it('refuses ids it does not hold: malformed, or outside its channelIds', async () => {
    const scoped = fileStorage({ channelIds: ['main'] });
    await fileStorage().open('other').save(documentBy('b', 1));
    await scoped.open('main').save(documentBy('a', 1));
    expect(await scoped.list()).toEqual([{ id: 'main', onAir: false }]);
    for (const id of ['other', '../escape', '']) {
      expect(() => scoped.open(id), id).toThrow(expect.objectContaining({ code: 'NXS_INVALID_INPUT' }));
    }
    expect(() => createLibsqlPlaylistStorage({})).toThrow(
      expect.objectContaining({ code: 'NXS_INVALID_INPUT' }),
    );
  });

  it('moves playlist files into the database once, keeping each file renamed', async () => {
    const files = createBroadcaster({ dataDir, profile });
    broadcasters.push(files);
    const channel = await files.create('main');
    const clip = await sampleMedia('h264-aac-mp4', { durationS: 2, width: 160, height: 90 });
    const item = await channel.ingest(createReadStream(clip), { originalName: 'clip.mp4' });
    await files.create('empty');
    const storage = fileStorage();
    expect(await importPlaylistFiles(dataDir, storage)).toEqual({ imported: ['empty', 'main'], skipped: [] });
    const path = join(dataDir, 'channels', 'main', 'playlist.json');
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
    const imported = JSON.parse(await readFile(`${path}.imported`, 'utf8')) as PlaylistDocument;
    expect((await storage.open('main').load()).document).toEqual(imported);
    expect(imported.items.map((entry) => entry.id)).toEqual([item.id]);
    expect(await importPlaylistFiles(dataDir, storage)).toEqual({ imported: [], skipped: [] });

    // A broadcaster on the database finds the channel (after ready) with its item, and its media folder.
    const onDatabase = createBroadcaster({ dataDir, profile, playlists: storage });
    broadcasters.push(onDatabase);
    expect(await onDatabase.ready()).toEqual([]);
    expect(onDatabase.has('main')).toBe(true);
    const loaded = onDatabase.get('main');
    await loaded?.ready();
    expect((await loaded?.list())?.items.map((entry) => entry.id)).toEqual([item.id]);
  });

  it('resumes a channel that was on air from the database after a restart', async () => {
    const clip = await sampleMedia('h264-aac-mp4', { durationS: 6, width: 320, height: 180 });
    const first = createBroadcaster({ dataDir, profile, playlists: fileStorage() });
    broadcasters.push(first);
    await first.ready();
    expect(first.get('main')).toBeUndefined();
    const channel = await first.create('main');
    expect(first.get('main')).toBe(channel);
    await channel.ingest(createReadStream(clip), { originalName: 'one.mp4' });
    await channel.start();
    await nextEvent(channel, 'stats', (stats) => stats.outTimeMs > 1000);
    await first.close();
    // No playlist file: the state is in the database only.
    await expect(stat(join(dataDir, 'channels', 'main', 'playlist.json'))).rejects.toMatchObject({
      code: 'ENOENT',
    });

    const second = createBroadcaster({ dataDir, profile, playlists: fileStorage() });
    broadcasters.push(second);
    expect(await second.ready()).toEqual(['main']);
    const resumed = second.get('main');
    expect(resumed?.status()).toMatchObject({ onAir: true, playlist: { size: 1 } });
    expect(resumed?.status().state).not.toBe('stopped');
    expect(await second.ids()).toEqual(['main']);
  });
});

describe('fencing on a shared sqld', () => {
  let sqld: SqldServer;
  const storages: LibsqlPlaylistStorage[] = [];
  const on = (token: number, channelIds?: string[]) => {
    const storage = createLibsqlPlaylistStorage({
      url: sqld.url,
      fence: () => token,
      ...(channelIds ? { channelIds } : {}),
    });
    storages.push(storage);
    return storage;
  };

  beforeAll(async () => {
    sqld = await startSqld();
  });
  afterAll(async () => {
    for (const storage of storages.splice(0)) storage.close();
    await sqld.stop();
  });

  it('refuses the writes of an owner whose term is over, once the next owner claimed or wrote', async () => {
    const old = on(1);
    const next = on(2);
    await old.open('main').save(documentBy('old', 1));
    // The new owner takes the lease (token 2) and claims the row before it runs the channel.
    await next.claim('main');
    const late = old.open('main').save(documentBy('old-late', 2));
    await expect(late).rejects.toMatchObject({
      code: 'NXS_CONFLICT',
      retryable: false,
      details: { reason: 'fenced', channelId: 'main', token: 1, storedFence: 2 },
    });
    await expect(old.claim('main')).rejects.toMatchObject({ details: { reason: 'fenced' } });
    await next.open('main').save(documentBy('next', 2));
    expect((await on(2).open('main').load()).document.items.map((item) => item.id)).toEqual(['item-next']);
    // A write with a newer token is never refused, with or without a claim.
    await on(3).open('main').save(documentBy('third', 3));
    await expect(next.open('main').save(documentBy('next-late', 3))).rejects.toMatchObject({
      details: { reason: 'fenced', storedFence: 3 },
    });
  });

  it('lets two owners of different channels write side by side', async () => {
    const a = on(5, ['a']);
    const b = on(1, ['b']);
    await Promise.all([a.open('a').save(documentBy('a', 1)), b.open('b').save(documentBy('b', 1))]);
    expect(await a.list()).toEqual([{ id: 'a', onAir: false }]);
    expect(await b.list()).toEqual([{ id: 'b', onAir: false }]);
  });

  it('reports a database that cannot be reached as NXS_REGISTRY (retryable), without the token', async () => {
    const own = await startSqld();
    const storage = createLibsqlPlaylistStorage({ url: own.url, authToken: 'a-secret-token-value' });
    storages.push(storage);
    await storage.open('main').save(documentBy('a', 1));
    await own.stop();
    const refused = storage.open('main').save(documentBy('a', 2));
    await expect(refused).rejects.toMatchObject({
      code: 'NXS_REGISTRY',
      retryable: true,
      message: expect.stringContaining(`playlist database ${own.url}`),
    });
    await expect(refused).rejects.not.toMatchObject({
      message: expect.stringContaining('a-secret-token-value'),
    });
    await expect(storage.list()).rejects.toMatchObject({ code: 'NXS_REGISTRY' });
  });
});
