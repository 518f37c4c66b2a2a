/**
 * Hostile clients (issue 13): every attack runs against the real server, the real yt-dlp and ffmpeg, and the
 * tests assert on what reached a loopback "victim" listener, what the registry holds, what is on disk and
 * which files and processes are open — never on how the server is built.
 *
 * | #  | Attack                                      | Tests (describe › it, names shortened)                                            |
 * | -- | ------------------------------------------- | --------------------------------------------------------------------------------- |
 * | 1  | Override SSRF; the tunnel's other loopback  | 1 › refuses an override that points at a loopback service, a metadata address…    |
 * |    | ports                                       | 1 › the tunnel refuses a stored format whose URL is another loopback port…        |
 * | 2  | Registry poisoning through an override page | 2 › refuses a loopback page dressed as the track's Topic upload as an override…   |
 * | 3  | A playlist or script uploaded as a video    | 3 › refuses an HLS playlist whose entry is file:// a local .ts uploaded as x.mp4… |
 * |    |                                             | 3 › refuses an ffconcat script naming a local .ts uploaded as x.mp4…              |
 * |    |                                             | 3 › refuses an ffconcat script naming /etc/passwd uploaded as x.mp4…              |
 * | 4  | Aborted and slow uploads, crash leftovers   | 4 › removes the temp file and closes its handle when the client disconnects…      |
 * |    |                                             | 4 › answers an upload that stalls mid-body with 408 NXS_TIMEOUT…                  |
 * |    |                                             | 4 › refuses a second upload while the same client's first is still running…       |
 * |    |                                             | 4 › sweeps upload-*.part files a crash left in a channel tmp folder…              |
 * | 5  | GET requests that create channels           | 5 › answers 404 NXS_NOT_FOUND on every route of a channel nobody created…         |
 * |    |                                             | 5 › with an API key: unknown channels are still 404 and create nothing…           |
 * | 6  | Cross-site requests, DNS rebinding          | 6 › refuses changing requests from another site's page… (allowed origin passes)   |
 * |    |                                             | 6 › refuses a request for another host name (DNS rebinding)…                      |
 * | 7  | Event-stream cap                            | 7 › refuses an event stream over NEXSTREAM_MAX_EVENT_STREAMS_PER_CLIENT…          |
 * |    | UTF-8 names                                 | 7 › lists a UTF-8 file name back as it was uploaded (vidéo.mp4)                   |
 * |    | Reorder limit                               | 7 › refuses a reorder body far larger than the playlist needs… and survives it    |
 * |    | 415 messages                                | the three tests of 3 (the message names x.mp4 and no path, temp file or tool)     |
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import {
  type ClientRequest,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readSseEvents, type SseMessage } from '@nexstream/core';
import { createVerifiedMatch } from '@nexstream/registry/verification';
import { childProcessIds, sampleMedia } from '@nexstream/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { fixtureSpotifyTrackLink, fixtureYoutubeVideoId } from '../src/fixtures.js';
import { createLogger } from '../src/logger.js';
import { startServer } from '../src/server.js';
import { captureLogs, eventually, scratch, startTestServer } from './harness.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;

const runFile = promisify(execFile);

/** The fixture track (packages/resolver/src/__fixtures__/deezer/track-isrc.json: 224 s, ISRC GBDUW0000059). */
const fixtureIsrc = 'GBDUW0000059';
/** The same track's Deezer link (the fixture world's Deezer answers it, with the ISRC). */
const fixtureDeezerTrackLink = 'https://www.deezer.com/track/3135556';

// ---------------------------------------------------------------------------------------------------------
// Victim listeners: plain node:http servers on loopback that count everything they get.
// ---------------------------------------------------------------------------------------------------------

interface Victim {
  readonly url: string;
  readonly port: number;
  /** `METHOD /path` of every request received. */
  readonly requests: string[];
  /** TCP connections accepted (a request is not needed to count: a connect is already a reach). */
  readonly connections: () => number;
  close(): Promise<void>;
}

/** A loopback listener serving `routes` (anything else: 200 "secret") and recording who came. */
async function startVictim(
  routes: Record<string, { contentType: string; body: string | Uint8Array }> = {},
): Promise<Victim> {
  const requests: string[] = [];
  let connections = 0;
  const server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    const path = new URL(request.url ?? '/', 'http://victim').pathname;
    const route = routes[path];
    const body = route?.body ?? 'secret: only local processes may read this';
    response.writeHead(200, {
      'Content-Type': route?.contentType ?? 'text/plain',
      'Content-Length': String(Buffer.byteLength(body)),
    });
    response.end(request.method === 'HEAD' ? undefined : body);
  });
  server.on('connection', () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------------------
// HTTP helpers. node:http rather than fetch where a test sets Host, Origin or Sec-Fetch-* itself, or must
// control the body byte by byte.
// ---------------------------------------------------------------------------------------------------------

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** One request on a fresh connection (no keep-alive pool, so nothing outlives a test's server). */
function send(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Uint8Array } = {},
): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const request = httpRequest(url, {
      method: options.method ?? 'GET',
      headers: options.headers,
      agent: false,
    });
    request.on('error', reject);
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    request.end(options.body);
  });
}

/** The `{ error: { code, message } }` of a JSON error answer. */
function errorOf(answer: Answer): { code: string; message: string } {
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  return (JSON.parse(answer.text) as { error: { code: string; message: string } }).error;
}

/** A multipart/form-data body with one `file` field, the file name written as raw UTF-8 (as browsers do). */
function multipart(fileName: string, content: string | Uint8Array): { body: Buffer; contentType: string } {
  const boundary = `----nexstream-hostile-${Math.random().toString(36).slice(2)}`;
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${fileName}"\r\nContent-Type: video/mp4\r\n\r\n`;
  return {
    body: Buffer.concat([
      Buffer.from(head, 'utf8'),
      typeof content === 'string' ? Buffer.from(content, 'utf8') : content,
      Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8'),
    ]),
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}

/** Uploads one file to a channel. */
async function upload(
  server: TestServer,
  channelId: string,
  fileName: string,
  content: string | Uint8Array,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const { body, contentType } = multipart(fileName, content);
  return send(`${server.server.url}/api/channels/${channelId}/upload`, {
    method: 'POST',
    headers: { 'Content-Type': contentType, ...headers },
    body,
  });
}

/**
 * An upload that sends its headers, the multipart head of `x.mp4` and `bytes` bytes of a body announced
 * far longer, then sends nothing more until the test destroys it. `answer` settles with the server's answer,
 * or with `'closed'` when the connection ends without one.
 */
function stalledUpload(
  server: TestServer,
  channelId: string,
  bytes = 256 * 1024,
): { request: ClientRequest; answer: Promise<Answer | 'closed'> } {
  const boundary = '----nexstream-hostile-stalled';
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.mp4"\r\nContent-Type: video/mp4\r\n\r\n`;
  const request = httpRequest(`${server.server.url}/api/channels/${channelId}/upload`, {
    method: 'POST',
    agent: false,
    headers: {
      'Content-Type': `multipart/form-data; boundary=${boundary}`,
      'Content-Length': String(50 * 1024 * 1024),
    },
  });
  const answer = new Promise<Answer | 'closed'>((resolve) => {
    request.on('error', () => resolve('closed'));
    request.on('close', () => resolve('closed'));
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', () => resolve('closed'));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
  });
  request.write(head);
  request.write(Buffer.alloc(bytes, 0x47));
  return { request, answer };
}

/** Settles with `promise`, or rejects once `ms` passed without it (a deadline, not a sleep). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Reads an SSE response until `until` says stop (or the stream ends). */
async function readUntil(response: Response, until: (message: SseMessage) => boolean): Promise<SseMessage[]> {
  const messages: SseMessage[] = [];
  for await (const message of readSseEvents(response)) {
    messages.push(message);
    if (until(message)) break;
  }
  return messages;
}

// ---------------------------------------------------------------------------------------------------------
// What is on disk and open.
// ---------------------------------------------------------------------------------------------------------

function channelDirectory(server: TestServer, channelId: string): string {
  return join(server.server.services.config.dataDir, 'channels', channelId);
}

/** A folder's entries; `[]` when it does not exist. */
function entries(path: string): string[] {
  return existsSync(path) ? readdirSync(path).sort() : [];
}

/** Paths under `directory` that a file descriptor of this process (the server runs in it) still points at. */
function openFilesUnder(directory: string): string[] {
  const root = `${existsSync(directory) ? realpathSync(directory) : directory}/`;
  const open: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      // A deleted file still open reads as "<path> (deleted)": a leak all the same.
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(root)) open.push(target);
    } catch {
      // The descriptor was closed while we listed them.
    }
  }
  return open;
}

async function playlistItems(
  server: TestServer,
  channelId: string,
): Promise<Array<{ originalName: string }>> {
  const answer = await send(`${server.server.url}/api/channels/${channelId}/playlist`);
  expect(answer.status).toBe(200);
  return (JSON.parse(answer.text) as { items: Array<{ originalName: string }> }).items;
}

/** Starts the server on an existing data directory (the harness always makes a fresh one), fixtures mode. */
async function startServerOn(dataDir: string): Promise<Awaited<ReturnType<typeof startServer>>> {
  const logs = captureLogs();
  const config = loadConfig({
    PATH: process.env.PATH,
    NEXSTREAM_FIXTURES: '1',
    PORT: '0',
    NEXSTREAM_DATA_DIR: dataDir,
    NEXSTREAM_SHUTDOWN_MS: '1000',
  });
  return startServer({ config, logger: createLogger('debug', logs.write) });
}

/** A small real video (H.264 + AAC MP4), the kind a channel accepts. */
async function smallVideo(): Promise<Buffer> {
  return readFile(await sampleMedia('h264-aac-mp4', { durationS: 1, width: 160, height: 90, fps: 15 }));
}

// ---------------------------------------------------------------------------------------------------------
// The shared server: default settings, plus an allowed origin and a web folder with a marker page.
// ---------------------------------------------------------------------------------------------------------

const webMarker = 'nexstream-hostile-test-page';
let shared: TestServer;
let webDirectory: Awaited<ReturnType<typeof scratch>>;

beforeAll(async () => {
  webDirectory = await scratch('hostile-web');
  await writeFile(
    join(webDirectory.path, 'index.html'),
    `<!doctype html><title>${webMarker}</title><p>${webMarker}</p>`,
  );
  shared = await startTestServer({
    NEXSTREAM_ALLOWED_ORIGINS: 'https://app.example',
    NEXSTREAM_WEB_DIR: webDirectory.path,
  });
}, 120_000);

afterAll(async () => {
  await shared?.close();
  await webDirectory?.remove();
});

function resolveUrl(server: TestServer, params: Record<string, string>): string {
  return `${server.server.url}/api/resolve?${new URLSearchParams(params)}`;
}

function resolutionsStarted(server: TestServer): number {
  return server.logs.lines.filter((line) => line.msg === 'resolve: started').length;
}

describe('1 · override SSRF: an override names a YouTube video and nothing else', () => {
  it('refuses an override that points at a loopback service, a metadata address, a file or another site: 400 NXS_INVALID_INPUT, nothing reaches the victim and no process starts', async () => {
    const victim = await startVictim();
    try {
      const overrides = [
        `${victim.url}/latest/meta-data/`,
        // A watch-shaped path and a valid video id on the wrong host is still the wrong host.
        `${victim.url}/watch?v=dQw4w9WgXcQ`,
        `http://localhost:${victim.port}/`,
        'http://169.254.169.254/latest/meta-data/',
        'file:///etc/passwd',
        'https://www.youtube.com/playlist?list=PLFgquLnL59alCl_2TQvOiD5Vgm1hCaGSI',
        `https://www.youtube.com/redirect?q=${encodeURIComponent(victim.url)}`,
        'https://youtube.com.evil.example/watch?v=dQw4w9WgXcQ',
        'https://vimeo.com/76979871',
      ];
      for (const override of overrides) {
        const before = childProcessIds();
        const started = resolutionsStarted(shared);
        const answer = await send(resolveUrl(shared, { input: fixtureSpotifyTrackLink, override }));
        expect(answer.status, override).toBe(400);
        const error = errorOf(answer);
        expect(error.code, override).toBe('NXS_INVALID_INPUT');
        expect(error.message, override).toMatch(/YouTube/);
        expect(
          childProcessIds().filter((pid) => !before.includes(pid)),
          override,
        ).toEqual([]);
        expect(resolutionsStarted(shared), override).toBe(started);
      }
      expect(victim.requests).toEqual([]);
      expect(victim.connections()).toBe(0);
    } finally {
      await victim.close();
    }
  });

  it('the tunnel refuses a stored format whose URL is another loopback port (a poisoned registry entry): 403 NXS_FORBIDDEN and the victim gets nothing, while the media origin port still serves', async () => {
    const victim = await startVictim();
    try {
      const { registry, fixtures } = shared.server.services;
      // What a poisoned registry (or a poisoned resolution) would hand the tunnel: a verified-looking mapping
      // whose format URL is another local service. The tunnel's allow-list is the last line: it must refuse.
      const poisoned = (videoId: string, isrc: string, url: string) =>
        createVerifiedMatch({
          track: {
            isrc,
            title: 'evil',
            artists: ['evil'],
            durationMs: 200_000,
            ids: { deezer: isrc.slice(-7) },
          },
          media: {
            id: `youtube:${videoId}`,
            platform: 'youtube',
            pageUrl: `https://www.youtube.com/watch?v=${videoId}`,
            title: 'evil',
            durationMs: 200_000,
            formats: [
              {
                id: videoId === 'originOkay1' ? 'origin' : 'evil',
                container: 'mp4',
                videoCodec: 'avc1.64001e',
                audioCodec: 'mp4a.40.2',
                width: 640,
                height: 360,
                url,
              },
            ],
          },
          verification: { method: 'isrc-search', isrcSource: 'deezer' },
        });
      await registry.put(poisoned('evilEvilEv1', 'ZZEVL0000001', `${victim.url}/admin/export`));
      await registry.put(
        poisoned('evilEvilEv2', 'ZZEVL0000002', `http://localhost:${victim.port}/admin/export`),
      );
      // The control: the same shape on the fixture media origin's port is served.
      await registry.put(
        poisoned('originOkay1', 'ZZEVL0000003', `${fixtures!.originUrl}/media/hbfs-video.mp4`),
      );

      for (const mediaId of ['youtube:evilEvilEv1', 'youtube:evilEvilEv2']) {
        const plan = await send(
          `${shared.server.url}/api/media/${encodeURIComponent(mediaId)}/plan?worker=1&save=service-worker`,
        );
        expect(plan.status, mediaId).toBe(200);
        const { urls } = JSON.parse(plan.text) as { urls: Record<string, string> };
        const tunnelPaths = Object.values(urls).filter((path) => path.startsWith('/api/tunnel/'));
        expect(tunnelPaths.length, mediaId).toBeGreaterThan(0);
        for (const path of tunnelPaths) {
          const answer = await send(`${shared.server.url}${path}`, { headers: { Range: 'bytes=0-99' } });
          expect(answer.status, `${mediaId} ${path}`).toBe(403);
          expect(errorOf(answer).code).toBe('NXS_FORBIDDEN');
        }
        const minted = shared.server.services.tunnel.mintToken({ mediaId, formatId: 'evil' });
        const direct = await send(`${shared.server.url}/api/tunnel/${minted}`);
        expect(direct.status, mediaId).toBe(403);
        expect(errorOf(direct).code).toBe('NXS_FORBIDDEN');
      }
      expect(victim.requests).toEqual([]);
      expect(victim.connections()).toBe(0);

      const allowed = shared.server.services.tunnel.mintToken({
        mediaId: 'youtube:originOkay1',
        formatId: 'origin',
      });
      const served = await send(`${shared.server.url}/api/tunnel/${allowed}`, {
        headers: { Range: 'bytes=0-99' },
      });
      expect(served.status).toBe(206);
    } finally {
      await victim.close();
    }
  });
});

describe('2 · registry poisoning: only what the YouTube extractor identified is ever stored', () => {
  it("refuses a loopback page dressed as the track's Topic upload as an override for its Spotify or Deezer link: nothing fetched, nothing stored, and the next resolves get the race's own answer", async () => {
    const clip = await smallVideo();
    const page = (base: string) => `<!doctype html><html><head>
<title>Daft Punk - Harder, Better, Faster, Stronger</title>
<script type="application/ld+json">${JSON.stringify({
      '@context': 'https://schema.org',
      '@type': 'VideoObject',
      name: 'Harder, Better, Faster, Stronger',
      description: `Provided to YouTube by Parlophone (France)\n\nHarder, Better, Faster, Stronger · Daft Punk\n\nDiscovery\n\n℗ 2001 Daft Life Ltd.\n\nISRC: ${fixtureIsrc}\n\nAuto-generated by YouTube.`,
      author: { '@type': 'Person', name: 'Daft Punk - Topic' },
      duration: 'PT3M44S',
      uploadDate: '2009-10-25',
      thumbnailUrl: `${base}/cover.jpg`,
      contentUrl: `${base}/hbfs.mp4`,
      embedUrl: `${base}/hbfs.mp4`,
    })}</script></head><body><h1>Harder, Better, Faster, Stronger</h1></body></html>`;
    // The page names its own address, so the routes are filled in once the port is known.
    const routes: Record<string, { contentType: string; body: string | Uint8Array }> = {
      '/hbfs.mp4': { contentType: 'video/mp4', body: clip },
    };
    const victim = await startVictim(routes);
    routes['/watch/hbfs'] = { contentType: 'text/html; charset=utf-8', body: page(victim.url) };
    try {
      const { registry } = shared.server.services;
      // Other tests on this server may have stored mappings of their own: count what these requests add.
      const storedBefore = (await registry.stats()).tracks;
      const started = resolutionsStarted(shared);
      // The Deezer link carries the ISRC (an authority), which is what would let a match be verified and stored.
      const inputs = [fixtureSpotifyTrackLink, fixtureDeezerTrackLink];
      for (const input of inputs) {
        for (const override of [`${victim.url}/watch/hbfs`, `http://localhost:${victim.port}/watch/hbfs`]) {
          const answer = await send(resolveUrl(shared, { input, override }));
          expect(answer.status, `${input} ${override}`).toBe(400);
          expect(errorOf(answer).code, `${input} ${override}`).toBe('NXS_INVALID_INPUT');
        }
      }
      expect(resolutionsStarted(shared)).toBe(started);
      expect(victim.requests).toEqual([]);
      expect(victim.connections()).toBe(0);
      expect((await registry.stats()).tracks).toBe(storedBefore);
      const lookup = await send(`${shared.server.url}/api/registry/lookup?isrc=${fixtureIsrc}`);
      expect(lookup.status).toBe(404);

      // The next people to resolve the track get the race's own answer, not the page.
      for (const input of inputs) {
        const messages = await readUntil(
          await fetch(resolveUrl(shared, { input })),
          (message) => message.event === 'done',
        );
        const settled = messages.find((message) => message.event === 'settled');
        expect(settled, input).toBeDefined();
        // The race's own answer: the demo art track YouTube Music found by the ISRC (verified, and stored, so
        // the second input may be answered from the registry — with that same video, never the page).
        expect((JSON.parse(settled!.data) as { mediaId: string }).mediaId, input).toBe(
          `youtube:${fixtureYoutubeVideoId}`,
        );
        const events = messages.map((message) => message.data).join('\n');
        expect(events, input).not.toContain(`127.0.0.1:${victim.port}/`);
        expect(events, input).not.toContain(`localhost:${victim.port}/`);
      }
      expect(victim.requests).toEqual([]);
      expect(victim.connections()).toBe(0);
    } finally {
      await victim.close();
    }
  });
});

describe('3 · playlists and scripts uploaded as videos', () => {
  // A fresh server per attack: each one uploads into an empty main channel and owns what is left.
  let server: TestServer | undefined;
  let attackFiles: Awaited<ReturnType<typeof scratch>>;
  let secretTs: string;
  beforeAll(async () => {
    attackFiles = await scratch('hostile-files');
    // "Media the server must never broadcast": a real local MPEG-TS file the playlists point at.
    secretTs = join(attackFiles.path, 'secret.ts');
    const clip = await sampleMedia('h264-aac-mp4', { durationS: 2, width: 160, height: 90, fps: 15 });
    await runFile(process.env.NEXSTREAM_FFMPEG ?? 'ffmpeg', [
      '-v',
      'error',
      '-y',
      '-i',
      clip,
      '-c',
      'copy',
      '-f',
      'mpegts',
      secretTs,
    ]);
  }, 120_000);
  afterAll(async () => {
    await attackFiles?.remove();
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const attacks: Array<{ label: string; body: () => string }> = [
    {
      label: 'an HLS playlist whose entry is file:// a local .ts',
      body: () =>
        `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nfile://${secretTs}\n#EXT-X-ENDLIST\n`,
    },
    {
      label: 'an ffconcat script naming a local .ts',
      body: () => `ffconcat version 1.0\nfile '${secretTs}'\n`,
    },
    {
      label: 'an ffconcat script naming /etc/passwd',
      body: () => `ffconcat version 1.0\nfile '/etc/passwd'\n`,
    },
  ];

  for (const attack of attacks) {
    it(`refuses ${attack.label} uploaded as x.mp4: 415 NXS_UNSUPPORTED_MEDIA naming only x.mp4, nothing stored and nothing left behind`, async () => {
      server = await startTestServer();
      const answer = await upload(server, 'main', 'x.mp4', attack.body());
      expect(answer.status).toBe(415);
      const error = errorOf(answer);
      expect(error.code).toBe('NXS_UNSUPPORTED_MEDIA');
      expect(error.message).toContain('x.mp4');
      expect(error.message).not.toContain(tmpdir());
      expect(error.message).not.toContain('/tmp');
      expect(error.message).not.toContain(attackFiles.path);
      expect(error.message).not.toContain('upload-');
      expect(error.message).not.toMatch(/ffprobe/i);
      const directory = channelDirectory(server, 'main');
      expect(entries(join(directory, 'media'))).toEqual([]);
      expect(entries(join(directory, 'tmp'))).toEqual([]);
      expect(await playlistItems(server, 'main')).toEqual([]);
      expect(openFilesUnder(directory)).toEqual([]);
    });
  }
});

describe('4 · aborted, slow and crashed uploads', () => {
  // A fresh server per test (uploads into its empty main channel), closed after the test.
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('removes the temp file and closes its handle when the client disconnects mid-body', async () => {
    server = await startTestServer();
    const directory = channelDirectory(server, 'main');
    const tmp = join(directory, 'tmp');
    const { request, answer } = stalledUpload(server, 'main');
    try {
      // The server is writing the upload: its temp file exists.
      await eventually(() => entries(tmp).some((name) => /^upload-.*\.part$/.test(name)), 10_000);
    } finally {
      request.destroy();
    }
    await answer;
    await eventually(() => entries(tmp).length === 0 && openFilesUnder(directory).length === 0, 10_000);
    expect(entries(join(directory, 'media'))).toEqual([]);
    expect(await playlistItems(server, 'main')).toEqual([]);
  });

  it('answers an upload that stalls mid-body with 408 NXS_TIMEOUT after the idle time and leaves nothing on disk or open', async () => {
    server = await startTestServer({ NEXSTREAM_UPLOAD_IDLE_MS: '1000' });
    const directory = channelDirectory(server, 'main');
    const tmp = join(directory, 'tmp');
    const { request, answer } = stalledUpload(server, 'main');
    try {
      await eventually(() => entries(tmp).some((name) => /^upload-.*\.part$/.test(name)), 10_000);
      // NEXSTREAM_UPLOAD_IDLE_MS is 1000: the server must act on its own, long before this deadline.
      const outcome = await within(answer, 15_000, 'a stalled upload');
      if (outcome !== 'closed') {
        expect(outcome.status).toBe(408);
        expect(errorOf(outcome).code).toBe('NXS_TIMEOUT');
      }
      await eventually(() => entries(tmp).length === 0 && openFilesUnder(directory).length === 0, 10_000);
      expect(entries(join(directory, 'media'))).toEqual([]);
      expect(await playlistItems(server, 'main')).toEqual([]);
    } finally {
      request.destroy();
    }
  });

  it("refuses a second upload while the same client's first is still running: 429 NXS_RATE_LIMITED, and the slot frees when the first ends", async () => {
    const limited = await startTestServer({ NEXSTREAM_MAX_UPLOADS_PER_CLIENT: '1' });
    server = limited;
    const first = stalledUpload(limited, 'main');
    try {
      const tmp = join(channelDirectory(limited, 'main'), 'tmp');
      await eventually(() => entries(tmp).some((name) => /^upload-.*\.part$/.test(name)), 10_000);
      const clip = await smallVideo();
      const second = await upload(limited, 'main', 'second.mp4', clip);
      expect(second.status).toBe(429);
      expect(errorOf(second).code).toBe('NXS_RATE_LIMITED');
      expect(await playlistItems(limited, 'main')).toEqual([]);

      first.request.destroy();
      await first.answer;
      await eventually(() => entries(tmp).length === 0, 10_000);
      const third = await upload(limited, 'main', 'third.mp4', clip);
      expect(third.status).toBe(201);
      expect((await playlistItems(limited, 'main')).map((item) => item.originalName)).toEqual(['third.mp4']);
    } finally {
      first.request.destroy();
    }
  });

  it('sweeps upload-*.part files a crash left in a channel tmp folder when the channel loads after a restart', async () => {
    const data = await scratch('hostile-crash');
    try {
      const before = await startServerOn(data.path);
      await before.close();
      const tmp = join(data.path, 'channels', 'main', 'tmp');
      await mkdir(tmp, { recursive: true });
      const leftover = join(tmp, 'upload-deadbeef.part');
      await writeFile(leftover, Buffer.alloc(64 * 1024, 0x47));

      const after = await startServerOn(data.path);
      try {
        // The channel answers once it has loaded; by then the leftover is gone.
        const listed = await send(`${after.url}/api/channels/main/playlist`);
        expect(listed.status).toBe(200);
        expect(existsSync(leftover)).toBe(false);
        expect(entries(tmp).filter((name) => name.endsWith('.part'))).toEqual([]);
      } finally {
        await after.close();
      }
    } finally {
      await data.remove();
    }
  });
});

describe('5 · channels exist only when created', () => {
  const madeUpRoutes = (id: string): Array<{ method: string; path: string; upload?: boolean }> => [
    { method: 'GET', path: `/api/channels/${id}/playlist` },
    { method: 'GET', path: `/api/channels/${id}/stream/status` },
    { method: 'GET', path: `/api/channels/${id}/events` },
    { method: 'GET', path: `/api/channels/${id}/hls/index.m3u8` },
    { method: 'POST', path: `/api/channels/${id}/stream/start` },
    { method: 'POST', path: `/api/channels/${id}/upload`, upload: true },
  ];

  async function expectUnknownChannel(server: TestServer, id: string, headers: Record<string, string> = {}) {
    const clip = multipart('clip.mp4', 'not even a video');
    for (const route of madeUpRoutes(id)) {
      const answer = await send(`${server.server.url}${route.path}`, {
        method: route.method,
        headers: route.upload ? { ...headers, 'Content-Type': clip.contentType } : headers,
        ...(route.upload ? { body: clip.body } : {}),
      });
      expect(answer.status, `${route.method} ${route.path}`).toBe(404);
      expect(errorOf(answer).code, `${route.method} ${route.path}`).toBe('NXS_NOT_FOUND');
    }
  }

  it('answers 404 NXS_NOT_FOUND on every route of a channel nobody created, and 200 made-up ids leave only main on disk', async () => {
    const channels = join(shared.server.services.config.dataDir, 'channels');
    await expectUnknownChannel(shared, 'ghost');
    for (const id of ['%2e%2e', 'CON', 'x'.repeat(64), 'vid%C3%A9o', 'ghost_2']) {
      await expectUnknownChannel(shared, id);
    }
    for (let index = 0; index < 200; index += 1) {
      const answer = await send(`${shared.server.url}/api/channels/made-up-${index}/playlist`);
      expect(answer.status).toBe(404);
    }
    expect(entries(channels)).toEqual(['main']);
    const listed = await send(`${shared.server.url}/api/channels`);
    expect(JSON.parse(listed.text)).toMatchObject({ channels: ['main'] });
  });

  it('with an API key: unknown channels are still 404 and create nothing; creating one needs the key and stops at NEXSTREAM_MAX_CHANNELS', async () => {
    const key = 'hostile-test-key-0123456789';
    const server = await startTestServer({ NEXSTREAM_API_KEY: key, NEXSTREAM_MAX_CHANNELS: '2' });
    try {
      const channels = join(server.server.services.config.dataDir, 'channels');
      await expectUnknownChannel(server, 'ghost');
      await expectUnknownChannel(server, 'ghost', { Authorization: `Bearer ${key}` });
      for (let index = 0; index < 200; index += 1) {
        expect((await send(`${server.server.url}/api/channels/made-up-${index}/playlist`)).status).toBe(404);
      }
      expect(entries(channels)).toEqual(['main']);

      const create = (id: string, headers: Record<string, string> = {}) =>
        send(`${server.server.url}/api/channels`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', ...headers },
          body: JSON.stringify({ id }),
        });
      const withoutKey = await create('news');
      expect(withoutKey.status).toBe(401);
      expect(errorOf(withoutKey).code).toBe('NXS_UNAUTHORIZED');
      expect(entries(channels)).toEqual(['main']);

      expect((await create('news', { Authorization: `Bearer ${key}` })).status).toBe(201);
      const third = await create('sports', { Authorization: `Bearer ${key}` });
      expect(third.status).toBe(409);
      expect(errorOf(third).code).toBe('NXS_CONFLICT');
      expect(entries(channels)).toEqual(['main', 'news']);
      const listed = JSON.parse((await send(`${server.server.url}/api/channels`)).text) as {
        channels: string[];
      };
      expect(listed.channels).toEqual(['main', 'news']);
      expect((await send(`${server.server.url}/api/channels/news/playlist`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe('6 · Origin and Host: no cross-site changes, no DNS rebinding', () => {
  const evil = 'https://evil.example';

  async function status(): Promise<string> {
    const answer = await send(`${shared.server.url}/api/channels/main/stream/status`);
    return (JSON.parse(answer.text) as { state: string }).state;
  }

  it("refuses changing requests from another site's page (Origin, Sec-Fetch-Site: cross-site or same-site, Origin: null) with 403 NXS_FORBIDDEN and nothing changes, while the configured origin and the server's own pages get through", async () => {
    const base = shared.server.url;
    const media = join(channelDirectory(shared, 'main'), 'media');
    // Something to lose: one item, uploaded the way curl would (no Origin, no Sec-Fetch-Site).
    const stored = await upload(shared, 'main', 'kept.mp4', await smallVideo());
    expect(stored.status).toBe(201);
    const mediaBefore = entries(media);
    const channelsBefore = entries(join(shared.server.services.config.dataDir, 'channels'));
    const started = resolutionsStarted(shared);

    const crossSite: Array<Record<string, string>> = [
      { Origin: evil },
      { 'Sec-Fetch-Site': 'cross-site' },
      { Origin: evil, 'Sec-Fetch-Site': 'cross-site' },
      { Origin: 'null' },
      { 'Sec-Fetch-Site': 'same-site' },
    ];
    for (const headers of crossSite) {
      const label = JSON.stringify(headers);
      const refusals = [
        await send(`${base}/api/channels/main/stream/start`, { method: 'POST', headers }),
        await upload(shared, 'main', 'evil.mp4', await smallVideo(), headers),
        await send(`${base}/api/channels/main/playlist`, { method: 'DELETE', headers }),
        await send(`${base}/api/channels`, {
          method: 'POST',
          headers: { ...headers, 'Content-Type': 'application/json' },
          body: JSON.stringify({ id: 'evil' }),
        }),
        await send(resolveUrl(shared, { input: fixtureSpotifyTrackLink }), { headers }),
      ];
      for (const answer of refusals) {
        expect(answer.status, label).toBe(403);
        expect(errorOf(answer).code, label).toBe('NXS_FORBIDDEN');
      }
    }
    expect(await status()).toBe('stopped');
    expect((await playlistItems(shared, 'main')).map((item) => item.originalName)).toEqual(['kept.mp4']);
    expect(entries(media)).toEqual(mediaBefore);
    expect(entries(join(shared.server.services.config.dataDir, 'channels'))).toEqual(channelsBefore);
    expect(resolutionsStarted(shared)).toBe(started);

    // The guard refuses other sites, not pages: the configured origin and the server's own pages pass.
    try {
      const start = await send(`${base}/api/channels/main/stream/start`, {
        method: 'POST',
        headers: { Origin: 'https://app.example', 'Sec-Fetch-Site': 'cross-site' },
      });
      expect(start.status).toBe(200);
      expect(await status()).not.toBe('stopped');
      const own = await send(`${base}/api/channels/main/stream/stop`, {
        method: 'POST',
        headers: { Origin: base },
      });
      expect(own.status).toBe(200);
      expect(await status()).toBe('stopped');
      const sameOrigin = await send(`${base}/api/channels/main/stream/stop`, {
        method: 'POST',
        headers: { Origin: base, 'Sec-Fetch-Site': 'same-origin' },
      });
      expect(sameOrigin.status).toBe(200);
    } finally {
      await send(`${base}/api/channels/main/stream/stop`, { method: 'POST' });
    }
  });

  it('refuses a request for another host name (DNS rebinding) on API routes and static files, and answers localhost and 127.0.0.1', async () => {
    const { port } = new URL(shared.server.url);
    const paths = ['/api/health', '/api/channels/main/playlist', '/api/registry/stats', '/', '/index.html'];
    for (const host of [
      'evil.example',
      `evil.example:${port}`,
      `localhost.evil.example:${port}`,
      `127.0.0.1.nip.io:${port}`,
    ]) {
      for (const path of paths) {
        const answer = await send(`${shared.server.url}${path}`, { headers: { Host: host } });
        expect(answer.status, `${host} ${path}`).toBe(403);
        expect(errorOf(answer).code, `${host} ${path}`).toBe('NXS_FORBIDDEN');
        expect(answer.text).not.toContain(webMarker);
      }
    }
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, 'localhost']) {
      const health = await send(`${shared.server.url}/api/health`, { headers: { Host: host } });
      expect(health.status, host).toBe(200);
      const page = await send(`${shared.server.url}/`, { headers: { Host: host } });
      expect(page.status, host).toBe(200);
      expect(page.text).toContain(webMarker);
    }
  });
});

describe('7 · smaller limits: event streams, UTF-8 names, reorder bodies', () => {
  it('refuses an event stream over NEXSTREAM_MAX_EVENT_STREAMS_PER_CLIENT with 429 NXS_RATE_LIMITED, and takes one again after a stream closes', async () => {
    const server = await startTestServer({ NEXSTREAM_MAX_EVENT_STREAMS_PER_CLIENT: '2' });
    const controllers: AbortController[] = [];
    const open = async () => {
      const controller = new AbortController();
      controllers.push(controller);
      return fetch(`${server.server.url}/api/channels/main/events`, { signal: controller.signal });
    };
    try {
      const first = await open();
      const second = await open();
      expect([first.status, second.status]).toEqual([200, 200]);
      const third = await open();
      expect(third.status).toBe(429);
      expect(((await third.json()) as { error: { code: string } }).error.code).toBe('NXS_RATE_LIMITED');

      controllers[0]!.abort();
      let again: Response | undefined;
      await eventually(async () => {
        again = await open();
        if (again.status === 200) return true;
        await again.body?.cancel();
        return false;
      }, 10_000);
      expect(again!.status).toBe(200);
    } finally {
      for (const controller of controllers) controller.abort();
      await server.close();
    }
  });

  it('lists a UTF-8 file name back as it was uploaded (vidéo.mp4)', async () => {
    const server = await startTestServer();
    try {
      const answer = await upload(server, 'main', 'vidéo.mp4', await smallVideo());
      expect(answer.status).toBe(201);
      expect((await playlistItems(server, 'main')).map((item) => item.originalName)).toEqual(['vidéo.mp4']);
    } finally {
      await server.close();
    }
  });

  it('refuses a reorder body far larger than the playlist needs with 413 NXS_TOO_LARGE, as JSON or as raw text, and the server survives it', async () => {
    // The server runs in this process: an exception it throws outside a request's handling (which would
    // end a real server process) shows up here.
    const crashes: unknown[] = [];
    const onCrash = (error: unknown) => crashes.push(error);
    process.on('uncaughtExceptionMonitor', onCrash);
    try {
      const before = await playlistItems(shared, 'main');
      const order = Array.from(
        { length: 25_000 },
        (_value, index) => `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
      );
      const body = JSON.stringify({ order });
      for (const contentType of ['application/json', 'text/plain']) {
        const answer = await send(`${shared.server.url}/api/channels/main/playlist/order`, {
          method: 'PUT',
          headers: { 'Content-Type': contentType },
          body,
        });
        expect(answer.status, contentType).toBe(413);
        expect(errorOf(answer).code, contentType).toBe('NXS_TOO_LARGE');
      }
      expect(await playlistItems(shared, 'main')).toEqual(before);
      expect((await send(`${shared.server.url}/api/health`)).status).toBe(200);
      expect(crashes.map((error) => String((error as Error).stack ?? error))).toEqual([]);
    } finally {
      process.off('uncaughtExceptionMonitor', onCrash);
    }
  });
});

describe('8 · resolve streams: a reconnect replays only the client’s own resolution', () => {
  it('binds a stream nonce to the client: another client reusing it with Last-Event-ID gets nothing of the first', async () => {
    const server = await startTestServer({ NEXSTREAM_TRUST_PROXY: 'true' });
    try {
      const nonce = 'guessable-nonce';
      const first = await readUntil(
        await fetch(resolveUrl(server, { input: fixtureSpotifyTrackLink, stream: nonce }), {
          headers: { 'X-Forwarded-For': '203.0.113.10' },
        }),
        (message) => message.event === 'done',
      );
      expect(first.map((message) => message.event)).toContain('metadata');
      // Another client presents the same nonce as a reconnect: it starts its own (empty, refused) resolution.
      const other = await readUntil(
        await fetch(resolveUrl(server, { input: '', stream: nonce }), {
          headers: { 'X-Forwarded-For': '203.0.113.20', 'Last-Event-ID': '1' },
        }),
        (message) => message.event === 'done',
      );
      // A reconnect to a stream it never had: a replay gap, then its own resolution's error and done.
      expect(other.map((message) => message.event)).toEqual(['replay-gap', 'error', 'done']);
      expect(JSON.stringify(other)).not.toContain('Harder');
      // The first client's own reconnect still gets the end of its resolution.
      const again = await readUntil(
        await fetch(resolveUrl(server, { input: fixtureSpotifyTrackLink, stream: nonce }), {
          headers: { 'X-Forwarded-For': '203.0.113.10', 'Last-Event-ID': '1' },
        }),
        (message) => message.event === 'done',
      );
      expect(again.map((message) => message.event)).toContain('done');
      expect(again.map((message) => message.event)).not.toContain('error');
    } finally {
      await server.close();
    }
  });
});
