import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleMedia } from '@nexstream/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Broadcaster, createBroadcaster } from '../src/broadcaster.js';
import type { Channel } from '../src/channel.js';
import { createHttpHandler } from '../src/http-handler.js';
import { parseMediaPlaylist } from './support/live-playlist.js';
import { nextEvent, waitFor } from './support/wait.js';

const profile = { width: 160, height: 90, fps: 15, videoBitrateKbps: 150, audioBitrateKbps: 48 };

describe('CDN-ready HLS (real ffmpeg, no proxy)', () => {
  let dataDir: string;
  let broadcaster: Broadcaster;
  let channel: Channel;
  let server: Server;
  let base: string;
  /** Every segment name the live playlist ever listed, with the run that listed it. */
  const seen = new Map<string, string>();

  const playlist = async () => {
    const response = await fetch(`${base}/tv/hls/index.m3u8`);
    expect(response.status).toBe(200);
    return { response, parsed: parseMediaPlaylist(await response.text()) };
  };
  /** Waits until the live playlist lists `count` segments; each must be new unless this run listed it. */
  const collect = async (run: string, count: number) => {
    const listed = new Set<string>();
    await waitFor(async () => {
      const { parsed } = await playlist().catch(() => ({ parsed: { segments: [] as { uri: string }[] } }));
      for (const segment of parsed.segments) listed.add(segment.uri);
      return listed.size >= count;
    }, `${count} segments in ${run}`);
    for (const uri of listed) {
      const earlier = seen.get(uri);
      expect(
        earlier === undefined || earlier === run ? '' : `${uri} listed in ${run}, already in ${earlier}`,
      ).toBe('');
      seen.set(uri, run);
    }
    return [...listed];
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nxs-cdn-'));
    broadcaster = createBroadcaster({
      dataDir,
      profile,
      profiles: { window: { segmentDurationS: 1, listSize: 3 } },
    });
    channel = await broadcaster.create('cdn');
    await channel.ingest(
      createReadStream(await sampleMedia('h264-aac-mp4', { durationS: 4, width: 320, height: 180 })),
    );
    const handler = createHttpHandler({ channel, basePath: '/tv' });
    server = createServer((request, response) => void handler(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await broadcaster?.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await rm(dataDir, { recursive: true, force: true });
  });

  it('serves a cacheable media playlist with ETag/Last-Modified and 304, immutable segments, and never reuses a segment name across a stop, a start and an encoder crash', async () => {
    await channel.start();
    const firstRun = await collect('run 1', 2);

    // The media playlist: cacheable for half a target duration, validated by its content.
    const { response } = await playlist();
    expect(response.headers.get('cache-control')).toBe('public, max-age=1');
    expect(response.headers.get('age')).toBeNull(); // the proxy's to add, never the origin's
    const etag = response.headers.get('etag') as string;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const lastModified = response.headers.get('last-modified') as string;
    expect(Date.parse(lastModified)).toBeGreaterThan(0);
    const revalidated = await fetch(`${base}/tv/hls/index.m3u8`, { headers: { 'If-None-Match': etag } });
    // Either the same version (304, no body) or a newer one already (200 with another ETag).
    if (revalidated.status === 304) {
      expect(await revalidated.text()).toBe('');
      expect(revalidated.headers.get('etag')).toBe(etag);
      expect(revalidated.headers.get('cache-control')).toBe('public, max-age=1');
    } else {
      expect(revalidated.status).toBe(200);
      expect(revalidated.headers.get('etag')).not.toBe(etag);
    }
    const stale = await fetch(`${base}/tv/hls/index.m3u8`, { headers: { 'If-None-Match': '"other"' } });
    expect(stale.status).toBe(200);
    await stale.arrayBuffer();

    // Segments: immutable under a name that names the encoder run.
    const segment = await fetch(`${base}/tv/hls/${firstRun[0]}`);
    expect(segment.status).toBe(200);
    expect(segment.headers.get('content-type')).toBe('video/mp2t');
    expect(segment.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await segment.arrayBuffer()).byteLength).toBeGreaterThan(0);
    const segmentTag = segment.headers.get('etag') as string;
    const again = await fetch(`${base}/tv/hls/${firstRun[0]}`, { headers: { 'If-None-Match': segmentTag } });
    expect(again.status).toBe(304);
    expect(firstRun.every((uri) => /^seg-[a-z0-9]+-\d+\.ts$/.test(uri))).toBe(true);
    // A missing file is never cacheable.
    const missing = await fetch(`${base}/tv/hls/seg-nope-1.ts`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('cache-control')).toBe('no-store');
    await missing.arrayBuffer();

    // A stop and a start (ffmpeg numbers from 0 again): other names.
    await channel.stop();
    await channel.start();
    await collect('run 2', 2);

    // An encoder crash (the restart appends and ffmpeg continues the numbers): other names again.
    const restarted = nextEvent(channel, 'encoder-restarted');
    process.kill(channel.status().encoder.pid as number, 'SIGKILL');
    await restarted;
    const before = new Set(seen.keys());
    await waitFor(async () => {
      const { parsed } = await playlist();
      return parsed.segments.some((entry) => entry.discontinuity);
    }, 'the first segment after the crash');
    const { parsed } = await playlist();
    const afterCrash = parsed.segments.slice(parsed.segments.findIndex((entry) => entry.discontinuity));
    expect(afterCrash.length).toBeGreaterThan(0);
    for (const entry of afterCrash) expect(before.has(entry.uri), entry.uri).toBe(false);
    const prefix = (uri: string) => uri.replace(/\d+\.ts$/, '');
    expect(prefix(afterCrash[0]?.uri as string)).not.toBe(prefix([...before].at(-1) as string));
    await channel.stop();
  }, 120_000);

  it('keeps a segment that left the playlist available for its duration plus the playlist duration (RFC 8216 6.2.2)', async () => {
    // A short window so the wait is short: 3 segments of 1 s.
    const windowed = await broadcaster.create('window');
    await windowed.ingest(
      createReadStream(await sampleMedia('h264-aac-mp4', { durationS: 4, width: 320, height: 180 })),
    );
    const handler = createHttpHandler({ channel: windowed, basePath: '/w' });
    const windowServer = createServer((request, response) => void handler(request, response));
    await new Promise<void>((resolve) => windowServer.listen(0, '127.0.0.1', resolve));
    const windowBase = `http://127.0.0.1:${(windowServer.address() as AddressInfo).port}`;
    const read = async () => {
      const response = await fetch(`${windowBase}/w/hls/index.m3u8`);
      const text = await response.text();
      return response.status === 200 ? parseMediaPlaylist(text) : undefined;
    };
    try {
      await windowed.start();
      let first: { sequence: number; uri: string } | undefined;
      await waitFor(async () => {
        first = (await read().catch(() => undefined))?.segments[0];
        return first !== undefined;
      }, 'the first segment');
      const { uri, sequence } = first as { sequence: number; uri: string };
      // Wait until it left the playlist and a whole window more was written after it left (3 segments):
      // ffmpeg's default threshold would have deleted it by then.
      await waitFor(async () => {
        const playlist = await read().catch(() => undefined);
        return (playlist?.mediaSequence ?? 0) >= sequence + 1 + 3;
      }, 'the first segment to have been out of the playlist for a window');
      const late = await fetch(`${windowBase}/w/hls/${uri}`);
      expect(late.status, `${uri} after leaving the playlist`).toBe(200);
      expect((await late.arrayBuffer()).byteLength).toBeGreaterThan(0);
    } finally {
      await windowed.stop();
      windowServer.closeAllConnections();
      await new Promise<void>((resolve) => windowServer.close(() => resolve()));
    }
  }, 120_000);
});
