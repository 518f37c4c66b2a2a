import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleMedia } from '@nexstream/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBroadcaster } from '../src/broadcaster.js';
import { createHttpHandler, type UploadResponse } from '../src/http-handler.js';
import type { PlaylistSnapshot } from '../src/playlist.js';
import { truncatedCopy } from './support/hostile.js';

// Uploads report every file on its own: the good files of a batch are kept when another one is refused, and
// each refusal names the user's file with a stable code (issue 16, item 1).
describe('upload results per file', () => {
  let dataDir: string;
  let server: Server;
  let base: string;
  let clip: Blob;
  let truncated: Blob;

  const send = async (files: Array<[Blob, string]>) => {
    const form = new FormData();
    for (const [body, name] of files) form.append('file', body, name);
    const response = await fetch(`${base}/upload`, { method: 'POST', body: form });
    return { status: response.status, body: (await response.json()) as UploadResponse };
  };
  const playlistNames = async () =>
    ((await (await fetch(`${base}/playlist`)).json()) as PlaylistSnapshot).items.map(
      (item) => item.originalName,
    );

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nxs-upload-results-'));
    const path = await sampleMedia('h264-aac-mp4', { durationS: 2, width: 320, height: 180, fps: 25 });
    clip = new Blob([await readFile(path)], { type: 'video/mp4' });
    truncated = new Blob([new Uint8Array(await truncatedCopy(path))], { type: 'video/mp4' });
    const broadcaster = createBroadcaster({ dataDir });
    await broadcaster.create('main');
    const handler = createHttpHandler({ broadcaster });
    server = createServer((request, response) => void handler(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps the good files of a batch and reports the bad one by its own name and code (207)', async () => {
    const notes = new Blob(['these are my notes, not a video\n'], { type: 'text/plain' });
    const { status, body } = await send([
      [clip, 'holiday.mp4'],
      [notes, 'notes.txt'],
      [truncated, 'broken clip.mp4'],
      [clip, 'second.mp4'],
    ]);
    expect(status).toBe(207);
    expect(body.results.map((result) => [result.name, result.ok])).toEqual([
      ['holiday.mp4', true],
      ['notes.txt', false],
      ['broken clip.mp4', false],
      ['second.mp4', true],
    ]);
    expect(body.items.map((item) => item.originalName)).toEqual(['holiday.mp4', 'second.mp4']);
    for (const result of body.results) {
      if (result.ok) continue;
      expect(result.error.code).toBe('NXS_UNSUPPORTED_MEDIA');
      expect(result.error.message).toContain(`"${result.name}"`);
      expect(result.error.message).not.toMatch(/upload-[0-9a-f-]+|\.part|\/tmp|ffprobe/);
    }
    expect(await playlistNames()).toEqual(['holiday.mp4', 'second.mp4']);
    // Nothing of the refused files is left on disk.
    expect(await readdir(join(dataDir, 'channels', 'main', 'tmp'))).toEqual([]);
    expect(await readdir(join(dataDir, 'channels', 'main', 'media'))).toHaveLength(2);
  });

  it('answers a batch where every file is refused with the first refusal and every result', async () => {
    const before = await playlistNames();
    const { status, body } = await send([
      [new Blob([]), 'empty.mp4'],
      [truncated, 'cut.mp4'],
    ]);
    expect(status).toBe(415);
    expect(body.error?.code).toBe('NXS_UNSUPPORTED_MEDIA');
    expect(body.error?.message).toContain('"empty.mp4"');
    expect(body.results.map((result) => [result.name, result.ok])).toEqual([
      ['empty.mp4', false],
      ['cut.mp4', false],
    ]);
    expect(await playlistNames()).toEqual(before);
  });

  it('answers a batch where every file is stored with 201 and one result per file', async () => {
    const { status, body } = await send([
      [clip, 'a.mp4'],
      [clip, 'b.mp4'],
    ]);
    expect(status).toBe(201);
    expect(body.item?.originalName).toBe('a.mp4');
    expect(body.results.every((result) => result.ok)).toBe(true);
  });
});
