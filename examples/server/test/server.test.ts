import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readSseEvents, type SseMessage } from '@nexstream/core';
import { libavAssets } from '@nexstream/edge-muxer';
import { childProcessIds, probeMedia } from '@nexstream/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureSpotifyTrackLink, fixtureYoutubeVideoId } from '../src/fixtures.js';
import { eventually, scratch, startTestServer } from './harness.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;

/** Reads an SSE response until `until` says stop (or the stream ends). */
async function readUntil(
  response: Response,
  until: (message: SseMessage) => boolean = () => false,
): Promise<SseMessage[]> {
  const messages: SseMessage[] = [];
  for await (const message of readSseEvents(response)) {
    messages.push(message);
    if (until(message)) break;
  }
  return messages;
}

function resolveUrl(server: TestServer, params: Record<string, string>): string {
  return `${server.server.url}/api/resolve?${new URLSearchParams(params)}`;
}

describe('example server (fixtures mode)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ NEXSTREAM_RESOLVE_GRACE_MS: '4000' });
  }, 240_000);
  afterAll(async () => {
    await server?.close();
  });

  it('streams a resolution as named, numbered SSE events: metadata before settled, media without origin URLs, done last', async () => {
    const response = await fetch(resolveUrl(server, { input: fixtureSpotifyTrackLink }));
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const messages = await readUntil(response, (message) => message.event === 'done');
    const names = messages.map((message) => message.event);
    expect(names.indexOf('metadata')).toBeGreaterThanOrEqual(0);
    expect(names.indexOf('metadata')).toBeLessThan(names.indexOf('settled'));
    expect(names.at(-1)).toBe('done');
    expect(messages.map((message) => Number(message.id))).toEqual(
      messages.map((_message, index) => index + 1),
    );
    const media = messages.find((message) => message.event === 'media');
    expect(media).toBeDefined();
    const fixtures = server.server.services.fixtures!;
    // The page URL is public (a watch page); the formats' origin URLs and headers only the tunnel knows.
    expect(media!.data).not.toContain(fixtures.originUrl);
    const formats = JSON.parse(media!.data).media.formats as Array<Record<string, unknown>>;
    expect(formats.length).toBeGreaterThanOrEqual(2);
    expect(formats.some((format) => 'url' in format || 'headers' in format || 'manifestUrl' in format)).toBe(
      false,
    );
  });

  it('replays missed events to a client that reconnects with Last-Event-ID, then follows the same resolution', async () => {
    const params = { input: fixtureSpotifyTrackLink, stream: `replay-${Date.now()}` };
    const controller = new AbortController();
    const first = await fetch(resolveUrl(server, params), { signal: controller.signal });
    const seen = await readUntil(first, (message) => message.event === 'metadata');
    controller.abort();
    const lastId = seen.at(-1)!.id!;
    const again = await fetch(resolveUrl(server, params), { headers: { 'Last-Event-ID': lastId } });
    const rest = await readUntil(again, (message) => message.event === 'done');
    expect(rest.some((message) => message.event === 'replay-gap')).toBe(false);
    expect(Number(rest[0]!.id)).toBe(Number(lastId) + 1);
    const ids = rest.map((message) => Number(message.id));
    expect(ids).toEqual(ids.map((_id, index) => Number(lastId) + 1 + index));
    expect(rest.map((message) => message.event)).toContain('settled');
    // Still one resolution: it was not started twice.
    expect(
      server.logs.lines.filter(
        (line) => line.msg === 'resolve: started' && String(line.streamId).endsWith(`:${params.stream}`),
      ),
    ).toHaveLength(1);
  });

  it('plans a download with signed tunnel URLs, serves ranges through the tunnel, and muxes on the server', async () => {
    const messages = await readUntil(
      await fetch(resolveUrl(server, { input: fixtureSpotifyTrackLink })),
      (message) => message.event === 'done',
    );
    const settled = JSON.parse(messages.find((message) => message.event === 'settled')!.data) as {
      mediaId: string;
    };
    const base = server.server.url;
    const planResponse = await fetch(
      `${base}/api/media/${encodeURIComponent(settled.mediaId)}/plan?worker=1&save=service-worker`,
    );
    expect(planResponse.status).toBe(200);
    const planText = await planResponse.text();
    expect(planText).not.toContain(server.server.services.fixtures!.originUrl);
    const plan = JSON.parse(planText) as { route: string; container: string; urls: Record<string, string> };
    expect(plan).toMatchObject({ route: 'edge', container: 'mp4' });

    const range = await fetch(`${base}${plan.urls.video}`, { headers: { Range: 'bytes=0-99' } });
    expect(range.status).toBe(206);
    expect(range.headers.get('content-range')).toMatch(/^bytes 0-99\/\d+$/);
    expect((await range.arrayBuffer()).byteLength).toBe(100);

    const tampered = await fetch(`${base}${plan.urls.video!.slice(0, -3)}xyz`);
    expect(tampered.status).toBe(403);
    expect(((await tampered.json()) as { error: { code: string } }).error.code).toBe('NXS_FORBIDDEN');

    const muxed = await fetch(`${base}${plan.urls.server}`);
    expect(muxed.status).toBe(200);
    expect(muxed.headers.get('x-nexstream-route')).toBe('server');
    const work = await scratch('mux');
    try {
      const path = join(work.path, 'muxed.mp4');
      await writeFile(path, new Uint8Array(await muxed.arrayBuffer()));
      const probed = await probeMedia(path);
      expect(probed.streams.map((stream) => stream.codec_name).sort()).toEqual(['aac', 'h264']);
    } finally {
      await work.remove();
    }
  });

  it('seeds an album with progress over SSE, and refuses a body without input', async () => {
    const base = server.server.url;
    const response = await fetch(`${base}/api/seed`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ input: 'https://www.deezer.com/album/302127' }),
    });
    const messages = await readUntil(response, (message) => message.event === 'done');
    const progress = messages
      .filter((message) => message.event === 'progress')
      .map((message) => JSON.parse(message.data));
    expect(progress[0]).toMatchObject({ phase: 'seed', done: 0 });
    expect(progress.at(-1)).toMatchObject({ phase: 'seed', done: progress.at(-1).total });
    expect(progress.some((event) => event.item?.label)).toBe(true);
    expect(messages.at(-1)?.event).toBe('done');

    const refused = await fetch(`${base}/api/seed`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('NXS_INVALID_INPUT');
  });

  it('reports the age of yt-dlp in /api/health and warns at start when it is older than 90 days', async () => {
    const health = (await (await fetch(`${server.server.url}/api/health`)).json()) as {
      tools: {
        'yt-dlp': { version: string; releaseDate: string; ageDays: number; stale: boolean; update: string };
      };
      warnings: string[];
    };
    const ytDlp = health.tools['yt-dlp'];
    expect(ytDlp.releaseDate.replaceAll('-', '.')).toBe(ytDlp.version.slice(0, 10));
    expect(ytDlp.stale).toBe(ytDlp.ageDays > 90);
    expect(ytDlp.update).toMatch(/yt-dlp/);
    const warned = server.logs.lines.some((line) => line.msg === 'yt-dlp is out of date');
    expect(warned).toBe(ytDlp.stale);
    expect(health.warnings.length > 0).toBe(ytDlp.stale);
  });

  it('reaches verified on the demo track (ISRC search on YouTube Music), stores it, and answers the next resolve from the registry', async () => {
    const settledOf = async () => {
      const messages = await readUntil(
        await fetch(resolveUrl(server, { input: fixtureSpotifyTrackLink })),
        (message) => message.event === 'done',
      );
      const settled = messages.find((message) => message.event === 'settled');
      expect(settled, messages.map((message) => message.event).join(' ')).toBeDefined();
      return JSON.parse(settled!.data) as { grade: string; via: string; mediaId: string };
    };
    const first = await settledOf();
    expect(first).toMatchObject({ grade: 'verified', mediaId: `youtube:${fixtureYoutubeVideoId}` });
    const handle = await server.server.services.resolver.media(`youtube:${fixtureYoutubeVideoId}`);
    expect(handle.media).toMatchObject({ platform: 'youtube', title: 'Harder, Better, Faster, Stronger' });
    const lookup = await fetch(`${server.server.url}/api/registry/lookup?isrc=GBDUW0000059`);
    expect(lookup.status).toBe(200);
    expect(JSON.stringify(await lookup.json())).toContain(`youtube:${fixtureYoutubeVideoId}`);
    const second = await settledOf();
    expect(second).toMatchObject({
      grade: 'verified',
      via: 'registry',
      mediaId: `youtube:${fixtureYoutubeVideoId}`,
    });
  });

  it('uses an override (a YouTube video id) offline: the demo link with the demo video settles via override and is not stored by it', async () => {
    const messages = await readUntil(
      await fetch(resolveUrl(server, { input: fixtureSpotifyTrackLink, override: fixtureYoutubeVideoId })),
      (message) => message.event === 'done',
    );
    const names = messages.map((message) => message.event);
    expect(names, messages.map((message) => message.data).join('\n')).not.toContain('error');
    const settled = JSON.parse(messages.find((message) => message.event === 'settled')!.data) as {
      via: string;
      mediaId: string;
    };
    expect(settled).toMatchObject({ via: 'override', mediaId: `youtube:${fixtureYoutubeVideoId}` });
    expect(names).toContain('media');
  });

  it('serves the registry, the edge muxer files with their headers, and JSON errors for unknown API routes', async () => {
    const base = server.server.url;
    const stats = (await (await fetch(`${base}/api/registry/stats`)).json()) as { tracks: number };
    expect(typeof stats.tracks).toBe('number');
    const missing = await fetch(`${base}/api/registry/lookup?isrc=USXXX0000001`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('NXS_NOT_FOUND');
    expect((await fetch(`${base}/api/registry/lookup`)).status).toBe(400);

    const sw = await fetch(`${base}/nexstream-sw.js`);
    expect(sw.headers.get('service-worker-allowed')).toBe('/');
    expect(sw.headers.get('content-type')).toMatch(/javascript/);
    await sw.arrayBuffer();
    const wasm = libavAssets.find((asset) => asset.fileName.endsWith('.wasm'))!;
    const wasmResponse = await fetch(`${base}/libav/${wasm.fileName}`, { method: 'HEAD' });
    expect(wasmResponse.headers.get('content-type')).toBe('application/wasm');

    const unknown = await fetch(`${base}/api/nothing-here`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('NXS_NOT_FOUND');
  });

  it('logs API requests answered by a mounted router (channels, registry) at info, under their full path', async () => {
    const base = server.server.url;
    const paths = [
      '/api/channels',
      '/api/channels/main/stream/status',
      '/api/channels/main/playlist',
      '/api/registry/stats',
    ];
    for (const path of paths) expect((await fetch(`${base}${path}`)).status).toBe(200);
    await eventually(() =>
      paths.every((path) =>
        server.logs.lines.some(
          (line) => line.msg === 'request' && line.path === path && line.level === 'info',
        ),
      ),
    );
  });
});

describe('example server guards and lifecycle', () => {
  it('aborts the resolution when the client closes the stream, leaving no yt-dlp behind', async () => {
    const server = await startTestServer();
    try {
      const before = childProcessIds();
      const controller = new AbortController();
      const response = await fetch(resolveUrl(server, { input: fixtureSpotifyTrackLink }), {
        signal: controller.signal,
      });
      await readUntil(response, (message) => message.event === 'metadata');
      controller.abort();
      await eventually(() =>
        server.logs.lines.some((line) => line.msg === 'resolve: finished' && line.code === 'NXS_ABORTED'),
      );
      expect(
        server.logs.lines.some((line) => line.msg === 'resolve: the client left, aborting the resolution'),
      ).toBe(true);
      await eventually(() => childProcessIds().filter((pid) => !before.includes(pid)).length === 0);
    } finally {
      await server.close();
    }
  });

  it('requires the API key on expensive and mutating routes, rate-limits per IP, limits bodies, and never logs the key', async () => {
    const key = 'a-test-key-that-must-not-be-logged';
    const server = await startTestServer({
      NEXSTREAM_FIXTURES: '0',
      NEXSTREAM_API_KEY: key,
      NEXSTREAM_RATE_RESOLVE: '2/60s',
    });
    try {
      const base = server.server.url;
      const refused = await fetch(`${base}/api/resolve?input=`);
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('NXS_UNAUTHORIZED');

      // An empty input is refused inside the stream: the resolution's own error event, then done.
      const byHeader = await readUntil(
        await fetch(`${base}/api/resolve?input=`, { headers: { Authorization: `Bearer ${key}` } }),
      );
      expect(byHeader.map((message) => message.event)).toEqual(['error', 'done']);
      expect(JSON.parse(byHeader[0]!.data).error.code).toBe('NXS_INVALID_INPUT');
      await readUntil(await fetch(`${base}/api/resolve?input=&key=${key}`));
      const limited = await fetch(`${base}/api/resolve?input=&key=${key}`);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(((await limited.json()) as { error: { code: string } }).error.code).toBe('NXS_RATE_LIMITED');

      const huge = await fetch(`${base}/api/seed`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ input: 'x'.repeat(100_000) }),
      });
      expect(huge.status).toBe(413);
      expect(((await huge.json()) as { error: { code: string } }).error.code).toBe('NXS_TOO_LARGE');

      expect((await fetch(`${base}/api/channels/main/playlist`)).status).toBe(200);
      const start = await fetch(`${base}/api/channels/main/stream/start`, { method: 'POST' });
      expect(start.status).toBe(401);

      expect(JSON.stringify(server.logs.lines)).not.toContain(key);
    } finally {
      await server.close();
    }
  });

  it('shuts down gracefully with an open event stream: the stream ends and every process stops', async () => {
    const before = childProcessIds();
    const server = await startTestServer();
    const response = await fetch(resolveUrl(server, { input: fixtureSpotifyTrackLink }));
    const reading = readUntil(response).catch(() => []);
    await eventually(() => server.logs.lines.some((line) => line.msg === 'resolve: started'));
    await server.close();
    // The stream was ended by the shutdown (reading finished).
    await reading;
    expect(server.logs.lines.some((line) => line.msg === 'stopped')).toBe(true);
    await eventually(() => childProcessIds().filter((pid) => !before.includes(pid)).length === 0);
  });
});
