// Issue 13, the hostile-client review: every attack against the broadcaster's HTTP handler, on a real
// server on loopback, with real ffprobe/ffmpeg and real files. Assertions are on what a client sees (status,
// code, message) and on what is left on the server (files, open handles, folders).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createReadStream, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleMedia } from '@nexstream/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Broadcaster, createBroadcaster } from '../src/broadcaster.js';
import { createHttpHandler, type HttpHandler, type HttpHandlerOptions } from '../src/http-handler.js';
import type { PlaylistDocument, PlaylistItem, PlaylistSnapshot } from '../src/playlist.js';
import { truncatedCopy } from './support/hostile.js';
import { writeHostilePlaylists } from './support/hostile-playlists.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const waitFor = async (condition: () => boolean | Promise<boolean>) => {
  while (!(await condition())) await sleep(20);
};

/** Every open file descriptor of this process (the server runs in it) that points into `directory`. */
const openHandlesInto = (directory: string): string[] => {
  const real = realpathSync(directory);
  return readdirSync('/proc/self/fd')
    .map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return '';
      }
    })
    .filter((target) => target.startsWith(`${real}/`));
};

interface ErrorBody {
  error: { code: string; message: string; retryable: boolean; details?: { reason?: string } };
}

/** A parsed raw HTTP response. */
const parseResponse = (text: string) => {
  const [head = '', ...rest] = text.split('\r\n\r\n');
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const headers = Object.fromEntries(
    headerLines.map((line) => {
      const at = line.indexOf(':');
      return [line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim()];
    }),
  );
  return {
    status: Number(statusLine.split(' ')[1]),
    headers,
    body: JSON.parse(rest.join('\r\n\r\n')) as ErrorBody,
  };
};

/**
 * A hostile upload on a raw socket: headers announcing a body of `announcedBytes`, the multipart preamble
 * and `sentBytes` of the file, then nothing (a slow or stalled client). `text()` is what came back.
 */
const startSlowUpload = (
  base: string,
  path: string,
  options: { client: string; name?: string; sentBytes?: number },
) => {
  const url = new URL(base);
  const socket: Socket = connect(Number(url.port), url.hostname);
  socket.on('error', () => undefined);
  const boundary = `nxs-${randomUUID()}`;
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: ${url.host}\r\nX-Client: ${options.client}\r\n` +
      `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${1024 * 1024}\r\n\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${options.name ?? 'slow.mp4'}"\r\n` +
      'Content-Type: video/mp4\r\n\r\n',
  );
  socket.write(Buffer.alloc(options.sentBytes ?? 64 * 1024, 7));
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    text += chunk;
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, closed, text: () => text };
};

describe('broadcaster HTTP security (issue 13; real server, ffprobe and ffmpeg)', () => {
  let dataDir: string;
  let attackDir: string;
  let broadcaster: Broadcaster;
  let server: Server;
  let base: string;
  let clip: string;
  const inFlight = new Set<Promise<void>>();
  /** Resolves once every request handler has returned (uploads abandoned, temp files removed…). */
  const handlersSettled = async () => {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  };
  const channelDir = (id: string) => join(dataDir, 'channels', id);
  const tempFiles = async (id = 'main') => readdir(join(channelDir(id), 'tmp')).catch(() => [] as string[]);
  const mediaFiles = async (id = 'main') =>
    readdir(join(channelDir(id), 'media')).catch(() => [] as string[]);

  const upload = async (path: string, body: Blob, name: string, client = 'uploader') => {
    const form = new FormData();
    form.append('file', body, name);
    const response = await fetch(`${base}${path}`, {
      method: 'POST',
      body: form,
      headers: { 'x-client': client },
    });
    return {
      status: response.status,
      body: (await response.json()) as ErrorBody & { item: PlaylistItem },
    };
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nxs-security-'));
    attackDir = await mkdtemp(join(tmpdir(), 'nxs-attack-'));
    clip = await sampleMedia('h264-aac-mp4', { durationS: 2, width: 160, height: 90, fps: 25 });
    broadcaster = createBroadcaster({ dataDir, maxUploadBytes: 3 * 1024 * 1024 });
    await broadcaster.create('main');
    await broadcaster.create('second');
    const common: Partial<HttpHandlerOptions> = {
      broadcaster,
      clientId: (request) => String(request.headers['x-client'] ?? request.socket.remoteAddress),
    };
    const mounts: Array<[string, HttpHandler]> = [
      ['/tv', createHttpHandler({ ...common, channelId: 'main', basePath: '/tv' })],
      ['/tv2', createHttpHandler({ ...common, channelId: 'second', basePath: '/tv2' })],
      [
        '/quick',
        createHttpHandler({ ...common, channelId: 'main', basePath: '/quick', uploadIdleTimeoutMs: 300 }),
      ],
      [
        '/ev',
        createHttpHandler({
          ...common,
          channelId: 'main',
          basePath: '/ev',
          maxEventStreamsPerChannel: 2,
          maxEventStreamsPerClient: 3,
        }),
      ],
      [
        '/ev2',
        createHttpHandler({ ...common, channelId: 'second', basePath: '/ev2', maxEventStreamsPerClient: 3 }),
      ],
      ['/ghost', createHttpHandler({ ...common, channelId: 'ghost', basePath: '/ghost' })],
      ['/big', createHttpHandler({ ...common, channelId: 'big', basePath: '/big', maxJsonBytes: 16 * 1024 })],
    ];
    // Like the example server: one handler per channel id named in the URL, made on first use.
    const perId = new Map<string, HttpHandler>();
    const route = (request: IncomingMessage, response: ServerResponse): Promise<void> => {
      const path = request.url ?? '/';
      const byId = /^\/c\/([^/]+)\//.exec(path);
      if (byId) {
        const id = byId[1] as string;
        let handler = perId.get(id);
        if (!handler) {
          handler = createHttpHandler({ ...common, channelId: id, basePath: `/c/${id}` });
          perId.set(id, handler);
        }
        return handler(request, response);
      }
      const mount = mounts.find(([prefix]) => path.startsWith(`${prefix}/`));
      if (mount) return mount[1](request, response);
      response.writeHead(404).end();
      return Promise.resolve();
    };
    server = createServer((request, response) => {
      const handled = route(request, response);
      inFlight.add(handled);
      void handled.finally(() => inFlight.delete(handled));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await broadcaster.close();
    await rm(dataDir, { recursive: true, force: true });
    await rm(attackDir, { recursive: true, force: true });
  });

  it('refuses an HLS playlist uploaded as x.mp4 that points at local media: 415, the file named, nothing stored', async () => {
    const { hlsPath, secretPath } = await writeHostilePlaylists(attackDir, clip);
    const before = await broadcaster.get('main')?.list();
    const result = await upload('/tv/upload', new Blob([new Uint8Array(await readFile(hlsPath))]), 'x.mp4');
    expect(result.status).toBe(415);
    expect(result.body.error).toMatchObject({
      code: 'NXS_UNSUPPORTED_MEDIA',
      message: '"x.mp4" is not a video this server can play: it is an HLS playlist, not a media file',
      details: { reason: 'container-not-allowed', container: 'hls' },
    });
    expect(result.body.error.message).not.toContain(secretPath);
    expect(await tempFiles()).toEqual([]);
    expect(await mediaFiles()).toEqual([]);
    expect((await broadcaster.get('main')?.list())?.revision).toBe(before?.revision);
  });

  it.each([
    [
      'a text file',
      async () => Buffer.from('just text\n'.repeat(100)),
      'notes.mp4',
      'unrecognized',
      'it is not a video in a format this server reads, or it is damaged or truncated',
    ],
    [
      'an ffconcat script',
      async () => readFile((await writeHostilePlaylists(attackDir, clip)).concatPath),
      'list.mp4',
      'container-not-allowed',
      'it is an ffconcat playlist, not a media file',
    ],
    [
      'an audio-only file',
      async () => readFile(await sampleMedia('aac-audio-m4a', { durationS: 2 })),
      'song.mp4',
      'no-video',
      'it has no video stream (an audio file or a picture?)',
    ],
    [
      'a truncated MP4',
      async () => truncatedCopy(clip),
      'cut.mp4',
      'damaged',
      'the file is damaged or truncated',
    ],
    ['an empty file', async () => Buffer.alloc(0), 'empty.mp4', 'empty', 'the file is empty (0 bytes)'],
  ])(
    'answers %s with a plain reason naming the file, no temp path and no program output',
    async (_kind, make, name, reason, explanation) => {
      const result = await upload('/tv/upload', new Blob([new Uint8Array(await make())]), name);
      expect(result.status).toBe(415);
      expect(result.body.error).toMatchObject({
        code: 'NXS_UNSUPPORTED_MEDIA',
        message: `"${name}" is not a video this server can play: ${explanation}`,
        details: { reason },
      });
      const wire = JSON.stringify(result.body);
      for (const leak of [
        dataDir,
        tmpdir(),
        '/tmp',
        '.part',
        'upload-',
        'ffprobe',
        'ffmpeg',
        'Invalid data',
        'moov',
      ]) {
        expect(wire, leak).not.toContain(leak);
      }
      expect(await tempFiles()).toEqual([]);
      expect(await mediaFiles()).toEqual([]);
    },
  );

  it('stores a UTF-8 file name as the client sent it, and names it so in refusals', async () => {
    const accepted = await upload(
      '/tv2/upload',
      new Blob([new Uint8Array(await readFile(clip))]),
      'vidéo – été.mp4',
    );
    expect(accepted.status).toBe(201);
    expect(accepted.body.item.originalName).toBe('vidéo – été.mp4');
    const onDisk = JSON.parse(
      await readFile(join(channelDir('second'), 'playlist.json'), 'utf8'),
    ) as PlaylistDocument;
    expect(onDisk.items.map((item) => item.originalName)).toContain('vidéo – été.mp4');
    const refused = await upload('/tv2/upload', new Blob(['not a video\n'.repeat(40)]), 'résumé.mp4');
    expect(refused.body.error.message).toMatch(/^"résumé\.mp4" is not a video this server can play: /);
    await broadcaster.get('second')?.clear();
  });

  it('removes the temp file and closes its handle when clients disconnect mid-upload (50 at once)', async () => {
    const tmp = join(channelDir('main'), 'tmp');
    const clients = Array.from({ length: 50 }, (_, index) =>
      startSlowUpload(base, '/tv/upload', { client: `gone-${index}` }),
    );
    // The attack state: one .part file and one open write handle per stalled client.
    await waitFor(async () => (await tempFiles()).length === 50 && openHandlesInto(tmp).length === 50);
    for (const client of clients) client.socket.destroy();
    await handlersSettled();
    expect(await tempFiles()).toEqual([]);
    expect(openHandlesInto(tmp)).toEqual([]);
    expect(await mediaFiles()).toEqual([]);
  });

  it('answers an upload that goes idle with 408 NXS_TIMEOUT and Connection: close, leaving nothing behind', async () => {
    const tmp = join(channelDir('main'), 'tmp');
    const idle = startSlowUpload(base, '/quick/upload', { client: 'idle', name: 'stalled.mp4' });
    await idle.closed;
    const response = parseResponse(idle.text());
    expect(response.status).toBe(408);
    expect(response.headers.connection).toBe('close');
    expect(response.body.error).toMatchObject({ code: 'NXS_TIMEOUT', details: { reason: 'upload-idle' } });
    await handlersSettled();
    expect(await tempFiles()).toEqual([]);
    expect(openHandlesInto(tmp)).toEqual([]);
  });

  it('refuses a third concurrent upload from one client with 429 and Connection: close, counted across channels', async () => {
    const first = startSlowUpload(base, '/tv/upload', { client: 'greedy' });
    const second = startSlowUpload(base, '/tv2/upload', { client: 'greedy' });
    await waitFor(
      async () => (await tempFiles('main')).length === 1 && (await tempFiles('second')).length === 1,
    );
    const third = startSlowUpload(base, '/tv/upload', { client: 'greedy' });
    await third.closed;
    const refused = parseResponse(third.text());
    expect(refused.status).toBe(429);
    expect(refused.headers.connection).toBe('close');
    expect(refused.body.error).toMatchObject({
      code: 'NXS_RATE_LIMITED',
      details: { reason: 'uploads-per-client' },
    });
    expect(await tempFiles('main')).toHaveLength(1);
    // Another client is not affected.
    const other = await upload(
      '/tv/upload',
      new Blob([new Uint8Array(await readFile(clip))]),
      'other.mp4',
      'polite',
    );
    expect(other.status).toBe(201);
    // Once the two uploads are gone, their slots are free again.
    first.socket.destroy();
    second.socket.destroy();
    await handlersSettled();
    const again = await upload(
      '/tv/upload',
      new Blob([new Uint8Array(await readFile(clip))]),
      'again.mp4',
      'greedy',
    );
    expect(again.status).toBe(201);
    await broadcaster.get('main')?.clear();
  });

  it('sweeps the .part file a SIGKILL left mid-upload when the channel loads again, before any ingest', async () => {
    const crashDir = await mkdtemp(join(tmpdir(), 'nxs-crash-'));
    const child = spawn(
      process.execPath,
      ['--import', '@nexstream/testkit/register-ts', 'test/support/upload-server.ts', crashDir],
      { cwd: join(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const crashBase = await new Promise<string>((resolve) =>
        child.stdout.once('data', (data) => resolve(String(data).trim())),
      );
      const tmp = join(crashDir, 'channels', 'main', 'tmp');
      const slow = startSlowUpload(crashBase, '/upload', { client: 'crash' });
      await waitFor(async () => (await readdir(tmp).catch(() => [])).length === 1);
      child.kill('SIGKILL');
      await exited;
      slow.socket.destroy();
      const [orphan] = await readdir(tmp);
      expect(orphan).toMatch(/^upload-[0-9a-f-]+\.part$/);

      const restarted = createBroadcaster({ dataDir: crashDir });
      const channel = restarted.get('main');
      expect(channel).toBeDefined();
      await channel?.ready();
      expect(await readdir(tmp)).toEqual([]);
      await channel?.ingest(createReadStream(clip), { originalName: 'after.mp4' });
      expect(await readdir(tmp)).toEqual([]);
      expect((await channel?.list())?.items.map((item) => item.originalName)).toEqual(['after.mp4']);
      await restarted.close();
    } finally {
      child.kill('SIGKILL');
      await exited;
      await rm(crashDir, { recursive: true, force: true });
    }
  });

  it('answers every route of a channel that does not exist with 404 NXS_NOT_FOUND, and creates nothing', async () => {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(await readFile(clip))]), 'clip.mp4');
    const requests: Array<[string, string, RequestInit?]> = [
      ['GET', '/ghost/playlist'],
      ['GET', '/ghost/stream/status'],
      ['GET', '/ghost/events'],
      ['GET', '/ghost/hls/index.m3u8'],
      ['POST', '/ghost/upload', { body: form }],
      [
        'PUT',
        '/ghost/playlist/order',
        { body: '{"order":[]}', headers: { 'content-type': 'application/json' } },
      ],
      ['DELETE', '/ghost/playlist'],
      ['POST', '/ghost/playlist/x/play'],
      ['POST', '/ghost/stream/start'],
    ];
    for (const [method, path, init] of requests) {
      const response = await fetch(`${base}${path}`, { method, ...init });
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(await response.json(), `${method} ${path}`).toMatchObject({
        error: { code: 'NXS_NOT_FOUND', message: 'channel "ghost" does not exist; create it first' },
      });
    }
    expect(await stat(channelDir('ghost')).catch(() => undefined)).toBeUndefined();
    expect(broadcaster.has('ghost')).toBe(false);
  });

  it('creates no folder for 3,000 made-up channel ids', async () => {
    const before = await readdir(join(dataDir, 'channels'));
    const ids = Array.from({ length: 3000 }, (_, index) => `made-up-${index}`);
    for (let start = 0; start < ids.length; start += 100) {
      const statuses = await Promise.all(
        ids.slice(start, start + 100).map(async (id) => {
          const response = await fetch(`${base}/c/${id}/playlist`);
          await response.arrayBuffer();
          return response.status;
        }),
      );
      expect(new Set(statuses)).toEqual(new Set([404]));
    }
    expect(await readdir(join(dataDir, 'channels'))).toEqual(before);
    expect(await broadcaster.ids()).toEqual(['main', 'second']);
  });

  it('caps event streams per channel and per client across channels with 429, and frees a slot on close', async () => {
    const open = async (path: string, client: string) => {
      const controller = new AbortController();
      const response = await fetch(`${base}${path}/events`, {
        signal: controller.signal,
        headers: { 'x-client': client },
      });
      if (response.status !== 200) {
        return { status: response.status, body: (await response.json()) as ErrorBody, controller };
      }
      return { status: 200, body: undefined, controller };
    };
    const streams = [await open('/ev', 'p1'), await open('/ev', 'p2')];
    expect(streams.map((stream) => stream.status)).toEqual([200, 200]);
    const channelFull = await open('/ev', 'p3');
    expect(channelFull.status).toBe(429);
    expect(channelFull.body?.error).toMatchObject({
      code: 'NXS_RATE_LIMITED',
      details: { reason: 'event-streams-per-channel' },
    });
    // p1 already holds one stream on main; two more on another channel reach its limit of three.
    streams.push(await open('/ev2', 'p1'), await open('/ev2', 'p1'));
    expect(streams.map((stream) => stream.status)).toEqual([200, 200, 200, 200]);
    const clientFull = await open('/ev2', 'p1');
    expect(clientFull.status).toBe(429);
    expect(clientFull.body?.error.details?.reason).toBe('event-streams-per-client');

    streams[0]?.controller.abort();
    // The server frees p1's slot on main when it sees the connection close.
    let reopened = await open('/ev2', 'p1');
    while (reopened.status !== 200) {
      await sleep(20);
      reopened = await open('/ev2', 'p1');
    }
    streams.push(reopened);
    for (const stream of streams) stream.controller.abort();
    await handlersSettled();
  });

  it('reorders a 10,000-item playlist over a small maxJsonBytes, and still answers an oversized body with 413', async () => {
    const items: PlaylistItem[] = Array.from({ length: 10_000 }, (_, index) => {
      const id = randomUUID();
      return {
        id,
        filename: `${id}.mp4`,
        originalName: `clip-${index}.mp4`,
        sizeBytes: 1,
        durationMs: 2000,
        probe: {
          container: 'mov,mp4,m4a,3gp,3g2,mj2',
          durationMs: 2000,
          videoCodec: 'h264',
          width: 160,
          height: 90,
          fps: 25,
          audioChannels: 0,
          audioSampleRateHz: 0,
        },
        addedAt: new Date().toISOString(),
      };
    });
    // A channel from an earlier run: only its files on disk.
    await mkdir(channelDir('big'), { recursive: true });
    const document: PlaylistDocument = {
      version: 1,
      items,
      currentId: items[0]?.id ?? null,
      loop: true,
      revision: 7,
      updatedAt: new Date().toISOString(),
    };
    await writeFile(join(channelDir('big'), 'playlist.json'), JSON.stringify(document));

    const order = items.map((item) => item.id).reverse();
    const body = JSON.stringify({ order });
    expect(body.length).toBeGreaterThan(300 * 1024);
    const response = await fetch(`${base}/big/playlist/order`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(response.status).toBe(200);
    const snapshot = (await response.json()) as PlaylistSnapshot;
    expect(snapshot.items).toHaveLength(10_000);
    expect(snapshot.items[0]?.id).toBe(order[0]);
    const saved = JSON.parse(
      await readFile(join(channelDir('big'), 'playlist.json'), 'utf8'),
    ) as PlaylistDocument;
    expect(saved.items.map((item) => item.id)).toEqual(order);

    const oversized = await fetch(`${base}/big/playlist/order`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ order, padding: 'x'.repeat(400 * 1024) }),
    });
    expect(oversized.status).toBe(413);
    expect(await oversized.json()).toMatchObject({ error: { code: 'NXS_TOO_LARGE' } });
  });
});
