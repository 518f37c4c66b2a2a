import {
  childProcessIds,
  type MediaOrigin,
  sampleDash,
  sampleMedia,
  startMediaOrigin,
} from '@nexstream/testkit';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventually, rejectionOf, useReplayServer } from '../../../test/http-engine-harness.js';
import { createYoutubeEngine, defaultYoutubeExtractors } from './youtube-engine.js';
import { ytDlpError } from './youtube-errors.js';

// The real Debian yt-dlp against the testkit media origin: its generic extractor reads direct files and DASH
// manifests, so the process handling, the JSON mapping, separate video/audio formats and expiry run for real.
// The engine lets yt-dlp use the YouTube extractors only by default; these tests add `generic` explicitly.
describe('youtube engine (real yt-dlp, testkit media origin)', () => {
  const context = useReplayServer();
  let origin: MediaOrigin;
  let muxedPath: string;
  let dashDirectory: string;

  beforeAll(async () => {
    [muxedPath, dashDirectory] = await Promise.all([
      sampleMedia('h264-aac-mp4', { durationS: 4 }),
      sampleDash({ durationS: 4 }),
    ]);
  }, 120_000);
  beforeEach(async () => {
    origin = await startMediaOrigin();
  });
  afterEach(async () => {
    await origin.close();
  });

  const testWorld = [...defaultYoutubeExtractors, 'generic', 'html5'];
  const engine = (settings = {}) =>
    context.track(createYoutubeEngine({ extractors: testWorld, ...settings }));

  it('lets yt-dlp use the YouTube extractors only by default: another site is never fetched', async () => {
    origin.add('song.mp4', muxedPath);
    const url = origin.signedUrl('song.mp4', { expiresInMs: 3_600_000 });
    context.server.on('GET', '/page', {
      headers: { 'content-type': 'text/html; charset=utf-8' },
      body: `<html><head><title>Artist - Song</title></head><body><video src="${url}"></video></body></html>`,
    });
    const youtube = context.track(createYoutubeEngine());
    for (const target of [`${context.server.url}/page`, url, 'http://169.254.169.254/latest/meta-data/']) {
      const error = await rejectionOf(youtube.doExtract({ url: target }));
      expect(error.code, target).toBe('NXS_INVALID_INPUT');
    }
    const search = context.track(createYoutubeEngine({ searchTarget: () => `${context.server.url}/page` }));
    expect((await rejectionOf(search.doSearchVideos({ query: 'song' }))).code).toBe('NXS_INVALID_INPUT');
    expect(context.server.requests).toHaveLength(0);
    expect(origin.requests).toHaveLength(0);
  });

  it('extracts a direct file: one muxed format, its expiry from the signed URL, the pair pointing at it', async () => {
    origin.add('song.mp4', muxedPath);
    const url = origin.signedUrl('song.mp4', { expiresInMs: 3_600_000 });
    const expire = Number(new URL(url).searchParams.get('expire'));
    const { media, candidate } = await engine().doExtract({ url });
    expect(media.platform).toBe('generic');
    expect(media.formats).toHaveLength(1);
    expect(media.formats[0]).toMatchObject({
      container: 'mp4',
      url,
      expiresAt: expire * 1000,
      protocol: 'http',
    });
    expect(media.formats[0]?.headers?.['User-Agent']).toBeTruthy();
    expect(media.expiresAt).toBe(expire * 1000);
    expect(media.preferred?.videoFormatId).toBe(media.formats[0]?.id);
    expect(candidate.artTrack).toBeUndefined();
  });

  it('extracts a DASH manifest into separate video and audio formats and picks the bv*+ba pair', async () => {
    const base = origin.addDirectory('dash', dashDirectory);
    const { media } = await engine().doExtract({ url: `${base}manifest.mpd` });
    const video = media.formats.find((format) => format.videoCodec && !format.audioCodec);
    const audio = media.formats.find((format) => format.audioCodec && !format.videoCodec);
    expect(video).toMatchObject({
      videoCodec: expect.stringMatching(/^avc1/),
      width: 640,
      height: 360,
      protocol: 'http_dash_segments',
    });
    expect(audio).toMatchObject({
      audioCodec: expect.stringMatching(/^mp4a/),
      protocol: 'http_dash_segments',
    });
    expect(media.preferred).toEqual({ videoFormatId: video?.id, audioFormatId: audio?.id });
    // No size in a generic DASH manifest: estimated from bitrate × the fragments' duration.
    expect(video?.sizeBytesEstimate).toBeGreaterThan(0);
    expect(media.durationMs).toBeGreaterThanOrEqual(3_500);
  });

  it('extracts a video by id from a loopback watchPage stand-in as that YouTube video, and refuses a stand-in off loopback', async () => {
    origin.add('song.mp4', muxedPath);
    const url = origin.signedUrl('song.mp4', { expiresInMs: 3_600_000 });
    context.server.on('GET', '/watch', {
      headers: { 'content-type': 'text/html; charset=utf-8' },
      body: `<html><head><title>Song</title></head><body><video src="${url}"></video></body></html>`,
    });
    const standIn = engine({ watchPage: (id: string) => `${context.server.url}/watch?v=${id}` });
    const { media, candidate } = await standIn.doExtract({ id: 'abcdefghijk' });
    expect(media).toMatchObject({
      id: 'youtube:abcdefghijk',
      platform: 'youtube',
      pageUrl: 'https://www.youtube.com/watch?v=abcdefghijk',
    });
    expect(candidate).toMatchObject({ mediaId: 'youtube:abcdefghijk', id: 'abcdefghijk' });
    expect(media.formats[0]?.url).toBe(url);
    expect(context.server.requests.map((request) => `${request.path}?${request.query}`)).toEqual([
      '/watch?v=abcdefghijk',
    ]);
    // A URL target is not an id: read and identified as before (generic), whatever watchPage says.
    expect((await standIn.doExtract({ url: `${context.server.url}/watch?v=x` })).media.platform).toBe(
      'generic',
    );

    for (const remote of ['http://203.0.113.7/watch', 'https://example.com/watch', 'file:///etc/passwd']) {
      const error = await rejectionOf(engine({ watchPage: () => remote }).doExtract({ id: 'abcdefghijk' }));
      expect(error.code, remote).toBe('NXS_INVALID_INPUT');
      expect(error.message).toMatch(/loopback/);
    }
    const badId = await rejectionOf(standIn.doExtract({ id: '../../etc' }));
    expect(badId.code).toBe('NXS_INVALID_INPUT');
    expect(context.server.requests).toHaveLength(2);
  });

  it('searches through yt-dlp and maps a page of videos to candidates', async () => {
    const first = origin.add('one.mp4', muxedPath);
    const second = origin.add('two.mp4', muxedPath);
    context.server.on('GET', '/results', {
      headers: { 'content-type': 'text/html; charset=utf-8' },
      body: `<html><head><title>Results</title></head><body><video src="${first}"></video><video src="${second}"></video></body></html>`,
    });
    const youtube = engine({
      searchTarget: (query: string) => `${context.server.url}/results?q=${encodeURIComponent(query)}`,
    });
    const candidates = await youtube.doSearchVideos({ query: 'daft punk' });
    expect(context.server.requests[0]?.query.get('q')).toBe('daft punk');
    expect(candidates).toHaveLength(2);
    expect(candidates[0]).toMatchObject({ engine: 'youtube', mediaId: expect.stringMatching(/^generic:/) });
  });

  it('searches by ISRC (quoted) and ties every result to that ISRC', async () => {
    const file = origin.add('isrc.mp4', muxedPath);
    context.server.on('GET', '/results', {
      headers: { 'content-type': 'text/html; charset=utf-8' },
      body: `<html><head><title>Results</title></head><body><video src="${file}"></video></body></html>`,
    });
    const youtube = engine({
      searchTarget: (query: string) => `${context.server.url}/results?q=${encodeURIComponent(query)}`,
    });
    const candidates = await youtube.doSearchByIsrc({ isrc: 'gb-duw-00-00059' });
    expect(context.server.requests[0]?.query.get('q')).toBe('"GBDUW0000059"');
    expect(candidates.length).toBeGreaterThan(0);
    expect(candidates.every((candidate) => candidate.foundByIsrc === 'GBDUW0000059')).toBe(true);
  });

  it('gives NXS_NOT_FOUND with the yt-dlp error line when the video does not exist', async () => {
    const error = await rejectionOf(engine().doExtract({ url: `${origin.url}/media/missing.mp4` }));
    expect(error.code).toBe('NXS_NOT_FOUND');
    expect(error.message).toMatch(/HTTP Error 404/);
  });

  it('gives NXS_PROCESS_FAILED with the stderr tail when yt-dlp fails otherwise', async () => {
    context.server.on('GET', '/broken', { status: 500, body: 'boom' });
    const error = await rejectionOf(engine().doExtract({ url: `${context.server.url}/broken` }));
    expect(error.code).toBe('NXS_PROCESS_FAILED');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/ERROR:.*HTTP Error 500/);
    expect((error.details as { stderrTail: string }).stderrTail).toMatch(/HTTP Error 500/);
  });

  it('forwards yt-dlp stderr lines as log events', async () => {
    const logs: Array<{ source: string; level: string }> = [];
    await rejectionOf(
      engine().doExtract({ url: `${origin.url}/media/missing.mp4`, onLog: (event) => logs.push(event) }),
    );
    expect(logs.some((event) => event.source === 'yt-dlp' && event.level === 'error')).toBe(true);
  });

  it('kills the process when the signal aborts, leaving no child behind', async () => {
    context.server.on('GET', '/slow', { stall: true });
    const before = childProcessIds();
    const controller = new AbortController();
    const pending = rejectionOf(
      engine().doExtract({ url: `${context.server.url}/slow`, signal: controller.signal }),
    );
    await eventually(() => context.server.requests.length > 0, 20_000);
    expect(childProcessIds().length).toBeGreaterThan(before.length);
    controller.abort();
    const error = await pending;
    expect(error.code).toBe('NXS_ABORTED');
    await eventually(() => childProcessIds().length === before.length);
  });

  it('kills a stuck process at its deadline with NXS_TIMEOUT', async () => {
    context.server.on('GET', '/slow', { stall: true });
    const error = await rejectionOf(
      engine({ extractTimeoutMs: 2_000 }).doExtract({ url: `${context.server.url}/slow` }),
    );
    expect(error.code).toBe('NXS_TIMEOUT');
  });

  it('kills running processes on close()', async () => {
    context.server.on('GET', '/slow', { stall: true });
    const youtube = createYoutubeEngine({ extractors: testWorld });
    const pending = rejectionOf(youtube.doExtract({ url: `${context.server.url}/slow` }));
    await eventually(() => context.server.requests.length > 0, 20_000);
    await youtube.close();
    expect((await pending).code).toBe('NXS_ABORTED');
  });

  it('reports a refused connection and a name that does not resolve as NXS_UNREACHABLE', async () => {
    for (const url of ['http://127.0.0.1:9/video', 'http://nexstream-test.invalid/video']) {
      const error = await rejectionOf(engine().doExtract({ url }));
      expect(error.code, url).toBe('NXS_UNREACHABLE');
      expect(error.retryable).toBe(true);
      expect(error.message).toMatch(/cannot reach/);
    }
  });

  it('reports a missing binary as NXS_DEPENDENCY_MISSING', async () => {
    const error = await rejectionOf(
      engine({ binaryPath: '/nonexistent/yt-dlp' }).doSearchVideos({ query: 'x' }),
    );
    expect(error.code).toBe('NXS_DEPENDENCY_MISSING');
    expect(error.message).toMatch(/NEXSTREAM_YTDLP/);
  });

  it('refuses an invalid ISRC and an empty query without running yt-dlp', async () => {
    expect((await rejectionOf(engine().doSearchByIsrc({ isrc: 'nope' }))).code).toBe('NXS_INVALID_INPUT');
    expect((await rejectionOf(engine().doSearchVideos({ query: '  ' }))).code).toBe('NXS_INVALID_INPUT');
  });
});

describe('yt-dlp error mapping', () => {
  it('treats "Video unavailable" as NXS_NOT_FOUND', () => {
    const error = ytDlpError(
      '[youtube] abc: Downloading webpage\nERROR: [youtube] abc: Video unavailable\n',
      1,
      'abc',
    );
    expect(error.code).toBe('NXS_NOT_FOUND');
  });

  it('adds a hint for YouTube refusals (403, bot check)', () => {
    const error = ytDlpError("ERROR: [youtube] abc: Sign in to confirm you're not a bot\n", 1, 'abc');
    expect(error.code).toBe('NXS_PROCESS_FAILED');
    expect(error.message).toMatch(/yt-dlp-ejs/);
  });
});
