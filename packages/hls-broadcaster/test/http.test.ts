import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleMedia } from '@nexstream/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBroadcaster } from '../src/broadcaster.js';
import { createHttpHandler } from '../src/http-handler.js';
import type { PlaylistItem, PlaylistSnapshot } from '../src/playlist.js';
import { truncatedCopy, zipArchive } from './support/hostile.js';

const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

/** A raw GET whose path is sent exactly as written (fetch would normalize `..`). */
const rawGet = (base: string, path: string) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const url = new URL(base);
    const request = httpRequest({ host: url.hostname, port: url.port, path, method: 'GET' }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
    request.end();
  });

describe('HTTP handler (plain node:http)', () => {
  let dataDir: string;
  let server: Server;
  let base: string;
  let clip: string;
  const broadcasterOptions = () => ({ dataDir, maxUploadBytes: 3 * 1024 * 1024 });
  const channelDir = () => join(dataDir, 'channels', 'main');

  const upload = async (body: Blob, name: string) => {
    const form = new FormData();
    form.append('file', body, name);
    const response = await fetch(`${base}/tv/upload`, { method: 'POST', body: form });
    return {
      status: response.status,
      body: (await response.json()) as {
        item: PlaylistItem;
        error: { code: string; message: string };
      },
    };
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nxs-http-'));
    clip = await sampleMedia('h264-aac-mp4', { durationS: 4, width: 320, height: 180, fps: 25 });
    const broadcaster = createBroadcaster(broadcasterOptions());
    await broadcaster.create('main');
    const handler = createHttpHandler({
      broadcaster,
      basePath: '/tv',
      cors: { origin: ['https://player.example'] },
      authorize: (request) => request.headers['x-deny'] === undefined,
    });
    server = createServer((request, response) => void handler(request, response));
    base = await listen(server);
  });
  afterAll(async () => {
    await close(server);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('accepts a video upload and lists it', async () => {
    const { status, body } = await upload(new Blob([new Uint8Array(await readFile(clip))]), 'clip.mp4');
    expect(status).toBe(201);
    expect(body.item).toMatchObject({ originalName: 'clip.mp4', probe: { width: 320 } });
    const list = (await (await fetch(`${base}/tv/playlist`)).json()) as PlaylistSnapshot;
    expect(list.items.map((item) => item.id)).toContain(body.item.id);
  });

  it.each([
    [
      'not media',
      async () => new Blob(['just text\n'.repeat(100)]),
      'notes.mp4',
      415,
      'NXS_UNSUPPORTED_MEDIA',
    ],
    [
      'a truncated MP4',
      async () => new Blob([new Uint8Array(await truncatedCopy(clip))]),
      'cut.mp4',
      415,
      'NXS_UNSUPPORTED_MEDIA',
    ],
    [
      'a zip named .mp4',
      async () => new Blob([new Uint8Array(zipArchive())]),
      'archive.mp4',
      415,
      'NXS_UNSUPPORTED_MEDIA',
    ],
    ['0 bytes', async () => new Blob([]), 'empty.mp4', 415, 'NXS_UNSUPPORTED_MEDIA'],
    [
      'a ../../ name',
      async () => new Blob([new Uint8Array(await readFile(clip))]),
      '../../evil.mp4',
      400,
      'NXS_INVALID_INPUT',
    ],
    [
      'far over the size limit (refused before reading)',
      async () => new Blob([new Uint8Array(8 * 1024 * 1024).fill(7)]),
      'big.mp4',
      413,
      'NXS_TOO_LARGE',
    ],
    [
      'just over the size limit (cut while streaming)',
      async () => new Blob([new Uint8Array(3 * 1024 * 1024 + 100 * 1024).fill(7)]),
      'big.mp4',
      413,
      'NXS_TOO_LARGE',
    ],
  ])(
    'answers a hostile upload (%s) with a 4xx code and leaves nothing on disk',
    async (_name, make, fileName, status, code) => {
      const before = await readdir(join(channelDir(), 'media'));
      const result = await upload(await make(), fileName);
      expect(result.status).toBe(status);
      expect(result.body.error.code).toBe(code);
      expect(result.body.error.message).toBeTruthy();
      expect(await readdir(join(channelDir(), 'media'))).toEqual(before);
      expect(await readdir(join(channelDir(), 'tmp'))).toEqual([]);
    },
  );

  it('answers a non-multipart upload with NXS_INVALID_INPUT', async () => {
    const response = await fetch(`${base}/tv/upload`, {
      method: 'POST',
      body: 'x',
      headers: { 'content-type': 'text/plain' },
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'NXS_INVALID_INPUT' } });
  });

  it('applies 50 concurrent API edits into one consistent playlist', async () => {
    for (let index = 0; index < 5; index += 1) {
      expect(
        (await upload(new Blob([new Uint8Array(await readFile(clip))]), `extra-${index}.mp4`)).status,
      ).toBe(201);
    }
    const start = (await (await fetch(`${base}/tv/playlist`)).json()) as PlaylistSnapshot;
    const ids = start.items.map((item) => item.id);
    const requests: Promise<Response>[] = [];
    for (let index = 0; index < 50; index += 1) {
      const id = ids[index % ids.length] as string;
      if (index % 10 === 3) requests.push(fetch(`${base}/tv/playlist/${id}`, { method: 'DELETE' }));
      else if (index % 3 === 0) requests.push(fetch(`${base}/tv/playlist/${id}/play`, { method: 'POST' }));
      else {
        const order = [...ids].sort(() => (index % 2 === 0 ? 1 : -1));
        requests.push(
          fetch(`${base}/tv/playlist/order`, {
            method: 'PUT',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ order }),
          }),
        );
      }
    }
    const statuses = await Promise.all(
      requests.map(async (pending) => {
        const response = await pending;
        await response.arrayBuffer();
        return response.status;
      }),
    );
    expect(statuses.every((status) => [200, 400, 404].includes(status))).toBe(true);
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThan(10);
    const final = (await (await fetch(`${base}/tv/playlist`)).json()) as PlaylistSnapshot;
    const onDisk = JSON.parse(await readFile(join(channelDir(), 'playlist.json'), 'utf8'));
    expect(onDisk.items.map((item: { id: string }) => item.id)).toEqual(final.items.map((item) => item.id));
    expect(onDisk.revision).toBe(final.revision);
    expect(new Set(final.items.map((item) => item.id)).size).toBe(final.items.length);
    expect(final.items.some((item) => item.id === final.currentId)).toBe(true);
    expect((await readdir(join(channelDir(), 'media'))).sort()).toEqual(
      final.items.map((item) => item.filename).sort(),
    );
  });

  it('serves HLS files with the right types and caching, and never outside the channel folder', async () => {
    const hls = join(channelDir(), 'hls');
    await mkdir(hls, { recursive: true });
    await writeFile(join(hls, 'index.m3u8'), '#EXTM3U\n#EXT-X-TARGETDURATION:2\n');
    await writeFile(join(hls, 'seg-1.ts'), Buffer.alloc(376, 0x47));
    const playlist = await fetch(`${base}/tv/hls/index.m3u8`, {
      headers: { origin: 'https://player.example' },
    });
    expect(playlist.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(playlist.headers.get('cache-control')).toBe('public, max-age=1');
    expect(playlist.headers.get('access-control-allow-origin')).toBe('https://player.example');
    expect(await playlist.text()).toBe('#EXTM3U\n#EXT-X-TARGETDURATION:2\n');
    const segment = await fetch(`${base}/tv/hls/seg-1.ts`, { headers: { origin: 'https://evil.example' } });
    expect(segment.headers.get('content-type')).toBe('video/mp2t');
    expect(segment.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(segment.headers.get('access-control-allow-origin')).toBeNull();
    expect((await segment.arrayBuffer()).byteLength).toBe(376);
    for (const path of [
      '/tv/hls/../playlist.json',
      '/tv/hls/..%2Fplaylist.json',
      '/tv/hls/%2e%2e%2f%2e%2e%2fchannels%2fmain%2fplaylist.json',
      '/tv/hls/..%5cplaylist.json',
      '/tv/hls/.index.m3u8',
      '/tv/hls/index.m3u8%00.ts',
    ]) {
      const response = await rawGet(base, path);
      expect(response.status, path).toBe(404);
      expect(response.body, path).not.toContain('"items"');
    }
  });

  it('maps errors to statuses and stable codes, and asks the auth hook', async () => {
    expect((await fetch(`${base}/tv/playlist/nope`, { method: 'DELETE' })).status).toBe(404);
    const conflict = await fetch(`${base}/tv/stream/resume`, { method: 'POST' });
    expect(conflict.status).toBe(409);
    expect(await conflict.json()).toMatchObject({ error: { code: 'NXS_CONFLICT' } });
    const bad = await fetch(`${base}/tv/playlist/order`, { method: 'PUT', body: '{"order":' });
    expect(await bad.json()).toMatchObject({ error: { code: 'NXS_INVALID_INPUT' } });
    const denied = await fetch(`${base}/tv/stream/status`, { headers: { 'x-deny': '1' } });
    expect(denied.status).toBe(401);
    expect(await denied.json()).toMatchObject({ error: { code: 'NXS_UNAUTHORIZED' } });
    const status = await (await fetch(`${base}/tv/stream/status`)).json();
    expect(status).toMatchObject({ channelId: 'main', state: 'stopped' });
  });

  it('streams channel events over SSE', async () => {
    const controller = new AbortController();
    const response = await fetch(`${base}/tv/events`, { signal: controller.signal });
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    const list = (await (await fetch(`${base}/tv/playlist`)).json()) as PlaylistSnapshot;
    await fetch(`${base}/tv/playlist/${list.items[0]?.id}/play`, { method: 'POST' });
    while (!text.includes('event: playlist-changed')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    controller.abort();
    expect(text).toMatch(/^event: status\nid: \d+\n/);
    expect(text).toContain('"kind":"jumped"');
  });

  it('numbers events, and gives a client that reconnects with Last-Event-ID the events it missed', async () => {
    /** Reads SSE frames from `response` until `until` says stop; returns them. */
    const readFrames = async (
      response: Response,
      until: (frames: { event: string; id: string; data: string }[]) => boolean,
    ) => {
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      const frames: { event: string; id: string; data: string }[] = [];
      let buffer = '';
      while (!until(frames)) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value);
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const field = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(frame)?.[1] ?? '';
          if (field('event')) frames.push({ event: field('event'), id: field('id'), data: field('data') });
          end = buffer.indexOf('\n\n');
        }
      }
      await reader.cancel();
      return frames;
    };
    const list = (await (await fetch(`${base}/tv/playlist`)).json()) as PlaylistSnapshot;
    const [a, b] = list.items as [PlaylistItem, PlaylistItem];
    const first = new AbortController();
    const firstResponse = await fetch(`${base}/tv/events`, { signal: first.signal });
    const jumped = fetch(`${base}/tv/playlist/${a.id}/play`, { method: 'POST' }).then((r) => r.arrayBuffer());
    const seen = await readFrames(firstResponse, (frames) =>
      frames.some((frame) => frame.event === 'playlist-changed'),
    );
    await jumped;
    first.abort();
    const lastSeen = seen.at(-1) as { id: string };
    expect(seen.map((frame) => Number(frame.id))).toEqual(
      [...seen.map((frame) => Number(frame.id))].sort((x, y) => x - y),
    );
    // Missed while disconnected: two edits.
    await (await fetch(`${base}/tv/playlist/${b.id}/play`, { method: 'POST' })).arrayBuffer();
    await (await fetch(`${base}/tv/playlist/${a.id}/play`, { method: 'POST' })).arrayBuffer();
    const second = new AbortController();
    const secondResponse = await fetch(`${base}/tv/events`, {
      signal: second.signal,
      headers: { 'Last-Event-ID': lastSeen.id },
    });
    const replayed = await readFrames(secondResponse, (frames) =>
      frames.some((frame) => frame.event === 'status'),
    );
    second.abort();
    const changes = replayed.filter((frame) => frame.event === 'playlist-changed');
    expect(changes.map((frame) => JSON.parse(frame.data).change)).toEqual([
      { kind: 'jumped', id: b.id },
      { kind: 'jumped', id: a.id },
    ]);
    expect(changes.every((frame) => Number(frame.id) > Number(lastSeen.id))).toBe(true);
    expect(replayed.at(-1)?.event).toBe('status');
    expect(replayed.some((frame) => frame.event === 'replay-gap')).toBe(false);
  });

  it('serves the playlist revision as its ETag, and refuses an edit with a stale If-Match with 409 NXS_CONFLICT', async () => {
    const current = await fetch(`${base}/tv/playlist`);
    const snapshot = (await current.json()) as PlaylistSnapshot;
    expect(current.headers.get('etag')).toBe(`"${snapshot.revision}"`);
    const [a, b] = snapshot.items as [PlaylistItem, PlaylistItem];
    const stale = `"${snapshot.revision - 1}"`;
    const refused = await fetch(`${base}/tv/playlist/${a.id}`, {
      method: 'DELETE',
      headers: { 'If-Match': stale },
    });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toEqual({
      error: {
        code: 'NXS_CONFLICT',
        message: expect.stringMatching(/edited since revision/),
        retryable: false,
        details: {
          reason: 'revision-mismatch',
          revision: snapshot.revision,
          expectedRevision: snapshot.revision - 1,
        },
      },
    });
    const jumped = await fetch(`${base}/tv/playlist/${b.id}/play`, {
      method: 'POST',
      headers: { 'If-Match': `"${snapshot.revision}"` },
    });
    expect(jumped.status).toBe(200);
    expect(jumped.headers.get('etag')).toBe(`"${snapshot.revision + 1}"`);
    const reorder = await fetch(`${base}/tv/playlist/order`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'If-Match': `"${snapshot.revision}"` },
      body: JSON.stringify({ order: snapshot.items.map((item) => item.id).reverse() }),
    });
    expect(reorder.status).toBe(409);
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(await readFile(clip))]), 'late.mp4');
    const lateUpload = await fetch(`${base}/tv/upload`, {
      method: 'POST',
      body: form,
      headers: { 'If-Match': stale },
    });
    expect(lateUpload.status).toBe(409);
    const malformed = await fetch(`${base}/tv/playlist`, {
      method: 'DELETE',
      headers: { 'If-Match': 'W/"1"' },
    });
    expect(malformed.status).toBe(400);
    const after = (await (await fetch(`${base}/tv/playlist`)).json()) as PlaylistSnapshot;
    expect(after.items.map((item) => item.id)).toEqual(snapshot.items.map((item) => item.id));
    expect(after.revision).toBe(snapshot.revision + 1);
  });
});

describe('Express router', () => {
  it('serves the seed API under a mount path, with a body express.json() already parsed', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'nxs-express-'));
    const broadcaster = createBroadcaster({ dataDir });
    const channel = broadcaster.channel('main');
    const clip = await sampleMedia('h264-aac-mp4', { durationS: 4, width: 320, height: 180, fps: 25 });
    const first = await channel.ingest(createReadStream(clip));
    const second = await channel.ingest(createReadStream(clip));
    const child = spawn(
      process.execPath,
      ['--import', '@nexstream/testkit/register-ts', 'test/support/express-server.ts', dataDir],
      { cwd: join(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const base = await new Promise<string>((resolve) =>
        child.stdout.once('data', (data) => resolve(String(data).trim())),
      );
      const reordered = await fetch(`${base}/tv/playlist/order`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ order: [second.id, first.id] }),
      });
      expect(reordered.status).toBe(200);
      expect(((await reordered.json()) as PlaylistSnapshot).items.map((item) => item.id)).toEqual([
        second.id,
        first.id,
      ]);
      expect(await (await fetch(`${base}/tv/stream/status`)).json()).toMatchObject({ state: 'stopped' });
      const missing = await fetch(`${base}/tv/playlist/nope`, { method: 'DELETE' });
      expect(await missing.json()).toMatchObject({ error: { code: 'NXS_NOT_FOUND' } });
      const fallback = await fetch(`${base}/tv/unknown`);
      expect(await fallback.text()).toBe('express fallback');
    } finally {
      child.kill('SIGTERM');
      await exited;
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
