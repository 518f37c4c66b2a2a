import { readSseEvents, type SseMessage } from '@nexstream/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureSpotifyTrackLink } from '../src/fixtures.js';
import { fixtureMatch, startTestServer } from './harness.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;

// The fixture track (Deezer's track-isrc.json, Spotify's embed-track.html) stored as a verified mapping, the way
// the resolver's verification step builds one; a second mapping whose links already expired and failed to refresh.
const isrc = 'GBDUW0000059';
const videoId = 'gAjR4_CbPpQ';
const staleIsrc = 'GBDUW0000053';
const staleVideoId = 'FGBhQbmPwH8';

async function readAll(response: Response): Promise<SseMessage[]> {
  const messages: SseMessage[] = [];
  for await (const message of readSseEvents(response)) messages.push(message);
  return messages;
}

describe('registry look-ups by link and the seed report (fixtures mode, real libSQL registry)', () => {
  let server: TestServer;
  let base: string;
  beforeAll(async () => {
    server = await startTestServer();
    base = server.server.url;
    const { registry } = server.server.services;
    const hour = 60 * 60 * 1000;
    await registry.put(
      fixtureMatch({
        isrc,
        videoId,
        title: 'Harder, Better, Faster, Stronger',
        deezer: '3135556',
        spotify: '5W3cjX2J3tjhG8zb6u0qHn',
        expiresAt: Date.now() + 6 * hour,
      }),
    );
    await registry.put(
      fixtureMatch({
        isrc: staleIsrc,
        videoId: staleVideoId,
        title: 'One More Time',
        deezer: '3135553',
        expiresAt: Date.now() - hour,
      }),
    );
    await registry.recordRefresh(`youtube:${staleVideoId}`, {
      ok: false,
      reason: 'HTTP 403 from the video site',
    });
  }, 240_000);
  afterAll(async () => {
    await server?.close();
  });

  it('finds a mapping by a Spotify, Deezer or YouTube track link, or an ISRC as people type it, with no origin URL', async () => {
    const inputs = [
      fixtureSpotifyTrackLink,
      'https://www.deezer.com/en/track/3135556',
      `https://youtu.be/${videoId}`,
      'gb-duw-00-00059',
    ];
    for (const q of inputs) {
      const response = await fetch(`${base}/api/registry/lookup?${new URLSearchParams({ q })}`);
      expect(response.status, q).toBe(200);
      const body = (await response.json()) as { track: { isrc: string }; media: { id: string } };
      expect(body.track.isrc, q).toBe(isrc);
      expect(body.media.id).toBe(`youtube:${videoId}`);
      expect(JSON.stringify(body)).not.toContain('googlevideo.com');
    }
  });

  it('answers 404 for an unknown track link and a sentence for an album link or free text', async () => {
    const unknown = await fetch(
      `${base}/api/registry/lookup?q=${encodeURIComponent('https://www.deezer.com/track/1')}`,
    );
    expect(unknown.status).toBe(404);
    const album = await fetch(
      `${base}/api/registry/lookup?q=${encodeURIComponent('https://www.deezer.com/album/302127')}`,
    );
    expect(album.status).toBe(400);
    expect(((await album.json()) as { error: { message: string } }).error.message).toContain(
      'deezer album link',
    );
    const text = await fetch(`${base}/api/registry/lookup?q=${encodeURIComponent('daft punk')}`);
    expect(text.status).toBe(400);
  });

  it('lists the links that need a refresh, with their track and failed refreshes', async () => {
    const due = (await (await fetch(`${base}/api/registry/due`)).json()) as {
      links: Array<{ mediaId: string; refreshFailures: number; track?: { title: string } }>;
    };
    expect(due.links).toEqual([
      expect.objectContaining({
        mediaId: `youtube:${staleVideoId}`,
        refreshFailures: 1,
        track: expect.objectContaining({ title: 'One More Time' }),
      }),
    ]);
    const stats = (await (await fetch(`${base}/api/registry/stats`)).json()) as {
      tracks: number;
      links: { live: number; expired: number; dropped: number };
    };
    expect(stats.tracks).toBe(2);
    expect(stats.links).toEqual({ live: 1, expired: 1, dropped: 0 });
    expect((await fetch(`${base}/api/registry/due?withinMs=-1`)).status).toBe(400);
  });

  it('ends a seed with a report of what was stored, skipped and not stored, just before done', async () => {
    const response = await fetch(`${base}/api/seed`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ input: 'https://www.deezer.com/album/302127' }),
    });
    const messages = await readAll(response);
    const names = messages.map((message) => message.event);
    expect(names.slice(-2)).toEqual(['seed-report', 'done']);
    const report = JSON.parse(messages.at(-2)!.data).report as {
      title: string;
      total: number;
      skipped: number;
      written: number;
      unverified: unknown[];
      failed: unknown[];
    };
    const items = messages
      .filter((message) => message.event === 'progress')
      .map((message) => JSON.parse(message.data).item)
      .filter(Boolean);
    expect(report.title).toBe('Discovery');
    // "One More Time" is already stored (by its Deezer id): the seed skips it and says so.
    expect(report.skipped).toBe(1);
    expect(items).toContainEqual(
      expect.objectContaining({ label: 'Daft Punk - One More Time', status: 'skipped' }),
    );
    expect(report.skipped + report.written + report.unverified.length + report.failed.length).toBe(
      report.total,
    );
  });
});
