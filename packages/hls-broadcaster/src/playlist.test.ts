import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseInstaStreamItems } from './legacy-import.js';
import { createPlaylist, type PlaylistItem } from './playlist.js';
import { createPlaylistStore } from './playlist-store.js';

function item(id: string): PlaylistItem {
  return {
    id,
    filename: `${id}.mp4`,
    originalName: `${id} original.mp4`,
    sizeBytes: 1000,
    durationMs: 5000,
    probe: {
      container: 'mov,mp4',
      durationMs: 5000,
      videoCodec: 'h264',
      width: 640,
      height: 360,
      fps: 30,
      audioCodec: 'aac',
      audioChannels: 2,
      audioSampleRateHz: 48000,
    },
    addedAt: '2026-01-01T00:00:00.000Z',
  };
}

describe('playlist', () => {
  let folder: string;
  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'nxs-playlist-'));
  });
  afterEach(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('adds, moves, reorders, jumps, removes and clears, persisting every change', async () => {
    const store = createPlaylistStore(join(folder, 'playlist.json'));
    const playlist = createPlaylist({ store });
    await playlist.add(item('a'));
    await playlist.add(item('b'));
    await playlist.add(item('c'));
    expect(playlist.list()).toMatchObject({ currentId: 'a', currentIndex: 0, revision: 3 });
    await playlist.move('c', 0);
    expect(playlist.list().items.map((entry) => entry.id)).toEqual(['c', 'a', 'b']);
    await playlist.reorder(['b', 'a', 'c']);
    await playlist.jump('c');
    expect(playlist.list()).toMatchObject({ currentId: 'c', currentIndex: 2 });
    // Removing the current item makes the next one (wrapping) current.
    await playlist.remove('c');
    expect(playlist.list().currentId).toBe('b');
    const reloaded = await store.load();
    expect(reloaded.document.items.map((entry) => entry.id)).toEqual(['b', 'a']);
    expect(reloaded.document.currentId).toBe('b');
    await playlist.clear();
    expect(playlist.list()).toMatchObject({ items: [], currentId: null, currentIndex: -1 });
    expect((await store.load()).document.items).toEqual([]);
  });

  it('bumps the revision on edits only, and refuses an edit made against an older revision', async () => {
    const playlist = createPlaylist({ store: createPlaylistStore(join(folder, 'p.json')) });
    await playlist.addMany([item('a'), item('b')]);
    const edited = playlist.list().revision;
    // Playout bookkeeping is persisted but is not an edit.
    await playlist.advance('b');
    await playlist.setPlayout({ onAir: true, resumeAt: { itemId: 'b', positionMs: 1200 } });
    expect(playlist.list()).toMatchObject({ currentId: 'b', revision: edited });
    // A jump is an edit (a user's command that changes the playlist's current item).
    await playlist.jump('a', { expectedRevision: edited });
    expect(playlist.list().revision).toBe(edited + 1);
    // Two edits made against one revision: the second is refused, and nothing of it is applied.
    const [first, second] = await Promise.allSettled([
      playlist.reorder(['b', 'a'], { expectedRevision: edited + 1 }),
      playlist.remove('a', { expectedRevision: edited + 1 }),
    ]);
    expect(first.status).toBe('fulfilled');
    expect(second).toMatchObject({
      status: 'rejected',
      reason: {
        code: 'NXS_CONFLICT',
        retryable: false,
        details: { reason: 'revision-mismatch', revision: edited + 2, expectedRevision: edited + 1 },
      },
    });
    expect(playlist.list()).toMatchObject({ revision: edited + 2, items: [{ id: 'b' }, { id: 'a' }] });
  });

  it('loops from the last item to the first, and stops at the end when loop is off', async () => {
    const playlist = createPlaylist({ store: createPlaylistStore(join(folder, 'p.json')) });
    await playlist.addMany([item('a'), item('b')]);
    expect(playlist.nextAfter('a')?.id).toBe('b');
    expect(playlist.nextAfter('b')?.id).toBe('a');
    await playlist.setLoop(false);
    expect(playlist.nextAfter('b')).toBeUndefined();
    expect(playlist.nextAfter('gone')?.id).toBe('a');
  });

  it('rejects unknown ids and incomplete reorders with stable codes', async () => {
    const playlist = createPlaylist({ store: createPlaylistStore(join(folder, 'p.json')) });
    await playlist.addMany([item('a'), item('b')]);
    await expect(playlist.jump('nope')).rejects.toMatchObject({ code: 'NXS_NOT_FOUND' });
    await expect(playlist.reorder(['a'])).rejects.toMatchObject({ code: 'NXS_INVALID_INPUT' });
    await expect(playlist.reorder(['a', 'x'])).rejects.toMatchObject({ code: 'NXS_INVALID_INPUT' });
    await expect(playlist.add(item('a'))).rejects.toMatchObject({ code: 'NXS_CONFLICT' });
    // A failed mutation leaves the state (and the queue) intact.
    await playlist.move('b', 0);
    expect(playlist.list().items.map((entry) => entry.id)).toEqual(['b', 'a']);
  });

  it('applies 50 concurrent edits one after another, ending in one consistent persisted state', async () => {
    const store = createPlaylistStore(join(folder, 'p.json'));
    const playlist = createPlaylist({ store });
    const ids = Array.from({ length: 30 }, (_, index) => `item-${index}`);
    await Promise.all(ids.map((id) => playlist.add(item(id))));
    const edits: Promise<unknown>[] = [];
    for (let index = 0; index < 50; index += 1) {
      const id = ids[index % ids.length] as string;
      if (index % 5 === 0) edits.push(playlist.remove(id).catch(() => undefined));
      else if (index % 5 === 1) edits.push(playlist.move(id, 0).catch(() => undefined));
      else if (index % 5 === 2) edits.push(playlist.jump(id).catch(() => undefined));
      else edits.push(playlist.move(id, 1000).catch(() => undefined));
    }
    await Promise.all(edits);
    const memory = playlist.list();
    const disk = (await store.load()).document;
    expect(disk.items.map((entry) => entry.id)).toEqual(memory.items.map((entry) => entry.id));
    expect(disk.revision).toBe(memory.revision);
    expect(new Set(memory.items.map((entry) => entry.id)).size).toBe(memory.items.length);
    const removed = new Set(
      Array.from({ length: 50 }, (_, index) => index)
        .filter((index) => index % 5 === 0)
        .map((index) => ids[index % ids.length]),
    );
    expect(memory.items.map((entry) => entry.id).sort()).toEqual(ids.filter((id) => !removed.has(id)).sort());
    expect(memory.items.some((entry) => entry.id === memory.currentId)).toBe(true);
  });

  it('keeps a corrupt file aside as a backup and reports it instead of replacing it silently', async () => {
    const path = join(folder, 'playlist.json');
    await writeFile(path, '{"version":1,"items":[{"id":"a"');
    const result = await createPlaylistStore(path).load();
    expect(result.document.items).toEqual([]);
    expect(result.corrupt?.reason).toMatch(/not valid JSON/);
    expect(await readFile(result.corrupt?.backupPath as string, 'utf8')).toBe(
      '{"version":1,"items":[{"id":"a"',
    );
  });

  it('refuses a document whose item names a path outside the media folder', async () => {
    const path = join(folder, 'playlist.json');
    await writeFile(
      path,
      JSON.stringify({ version: 1, items: [{ ...item('a'), filename: '../../etc/passwd' }] }),
    );
    const result = await createPlaylistStore(path).load();
    expect(result.corrupt?.reason).toMatch(/unsafe file/);
  });

  it('leaves a valid file when the writing process is killed mid-write', async () => {
    const path = join(folder, 'playlist.json');
    for (let round = 0; round < 3; round += 1) {
      const child = spawn(
        process.execPath,
        ['--import', '@nexstream/testkit/register-ts', 'test/support/playlist-writer.ts', path],
        { cwd: join(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] },
      );
      // Killed while it writes, after a different number of saves each round.
      const saves = 5 + round * 7;
      await new Promise<void>((resolve) => {
        let seen = 0;
        child.stdout.on('data', (chunk: Buffer) => {
          seen += chunk.toString().split('\n').length - 1;
          if (seen >= saves) resolve();
        });
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      const result = await createPlaylistStore(path).load();
      expect(result.corrupt).toBeUndefined();
      expect(result.document.items.length).toBeGreaterThan(0);
      expect(result.document.items.length).toBe(result.document.revision);
    }
    // Stale temp files of the killed writer are cleaned on load.
    expect((await readdir(folder)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('reads the insta-stream item format', () => {
    const items = parseInstaStreamItems({
      playlist: [
        {
          id: '1700000000000',
          filename: 'video-1700000000000.mp4',
          originalName: 'holiday.mp4',
          path: '/srv/insta-stream/uploads/video-1700000000000.mp4',
          size: 1234,
          duration: 12.5,
          addedAt: '2024-01-01T00:00:00.000Z',
        },
      ],
    });
    expect(items[0]).toMatchObject({ id: '1700000000000', duration: 12.5, originalName: 'holiday.mp4' });
    expect(() => parseInstaStreamItems([{ filename: 3 }])).toThrow(/item 0/);
  });
});
