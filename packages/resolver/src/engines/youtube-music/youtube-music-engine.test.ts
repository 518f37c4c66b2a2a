import { type ReplayReply, type ReplayRequest, readFixture } from '@nexstream/testkit';
import { describe, expect, it, vi } from 'vitest';
import {
  eventually,
  openSocketCount,
  rejectionOf,
  useReplayServer,
} from '../../../test/http-engine-harness.js';
import type { FetchFunction } from '../shared/http-client.js';
import { createYoutubeMusicEngine, type YoutubeMusicSettings } from './youtube-music-engine.js';

const fixture = (name: string) =>
  readFixture(new URL(`../../__fixtures__/youtube-music/${name}`, import.meta.url));

/** The `params` youtubei.js sends for YouTube Music's songs and videos filters (SearchFilter protobuf). */
const songsFilter = 'EgWKAQIIAQ%3D%3D';
const videosFilter = 'EgWKAQIQAQ%3D%3D';
const searchPath = '/youtubei/v1/search';

/** A fixture body walked by key in a test that edits it. */
// biome-ignore lint/suspicious/noExplicitAny: tests reach into recorded InnerTube bodies by path
type ReplayJson = any;

function searchBody(request: ReplayRequest): { query?: string; params?: string; context?: unknown } {
  return JSON.parse(request.body) as { query?: string; params?: string };
}

/** Answers the songs search and the videos search with their own bodies. */
function bySearchType(songs: ReplayReply, videos: ReplayReply) {
  return (request: ReplayRequest): ReplayReply => {
    const { params } = searchBody(request);
    if (params === songsFilter) return songs;
    if (params === videosFilter) return videos;
    return { status: 400, json: { error: { message: `unexpected search params ${params}` } } };
  };
}

describe('youtube music engine (youtubei.js, replayed InnerTube bodies)', () => {
  const context = useReplayServer();
  const engine = (settings: YoutubeMusicSettings = {}) =>
    context.track(createYoutubeMusicEngine({ baseURL: context.server.url, ...settings }));

  it('maps a song search: credits with channel ids, album with id, duration, explicit badge, plays and rank', async () => {
    context.server.on(
      'POST',
      searchPath,
      bySearchType(
        { json: await fixture('search-songs.json') },
        { json: await fixture('search-empty.json') },
      ),
    );
    const results = await engine().doSearchVideos({ query: 'mocromaniac' });
    expect(results.map((result) => result.id)).toEqual(['HhQGHxWZCd0', 'D5VXlD_IJNo', 'sOnDCapSOLI']);
    expect(results[0]).toEqual({
      engine: 'youtube-music',
      mediaId: 'youtube:HhQGHxWZCd0',
      id: 'HhQGHxWZCd0',
      url: 'https://music.youtube.com/watch?v=HhQGHxWZCd0',
      title: 'Boom Boom Boom',
      channel: 'MocroManiac',
      channelId: 'UCbavYW_bduz7PMrVuv0rJLA',
      credits: [{ name: 'MocroManiac', channelId: 'UCbavYW_bduz7PMrVuv0rJLA' }],
      album: { title: 'Boom Boom Boom', id: 'MPREb_xO8k7KwxIXy' },
      durationMs: 171_000,
      plays: 3_600_000,
      explicit: true,
      resultType: 'art-track',
      rank: 1,
      topResult: false,
      thumbnailUrl: expect.stringMatching(/w120-h120/),
      artTrack: { title: 'Boom Boom Boom', artists: ['MocroManiac'], album: 'Boom Boom Boom' },
    });
    expect(results[2]).toMatchObject({
      title: 'Moordzaak',
      album: { title: 'MANIAC', id: 'MPREb_uosNa5uvsao' },
      durationMs: 158_000,
      plays: 105_000,
      rank: 3,
    });
    expect(results[2]?.viewCount).toBeUndefined();
  });

  it('sends one songs and one videos search to baseURL as WEB_REMIX, with the query and the filter params', async () => {
    context.server.on(
      'POST',
      searchPath,
      bySearchType(
        { json: await fixture('search-empty.json') },
        { json: await fixture('search-empty.json') },
      ),
    );
    await engine().doSearchVideos({ query: '  Daft Punk Harder Better Faster Stronger ' });
    const searches = context.server.requests.map(searchBody);
    expect(searches.map((body) => body.params).sort()).toEqual([songsFilter, videosFilter].sort());
    expect(searches.every((body) => body.query === 'Daft Punk Harder Better Faster Stronger')).toBe(true);
    const client = (searches[0]?.context as { client?: Record<string, unknown> } | undefined)?.client;
    expect(client).toMatchObject({ clientName: 'WEB_REMIX', hl: 'en', gl: 'US' });
    expect(context.server.requests[0]?.query.get('prettyPrint')).toBe('false');
    expect(context.server.requests[0]?.headers.origin).toBe(context.server.url);
  });

  it('tells an official video from a user upload by InnerTube video type, with views and the uploader', async () => {
    context.server.on(
      'POST',
      searchPath,
      bySearchType(
        { json: await fixture('search-empty.json') },
        { json: await fixture('search-videos.json') },
      ),
    );
    const results = await engine().doSearchVideos({ query: 'the beatles' });
    expect(results).toHaveLength(2);
    expect(results[0]).toMatchObject({
      id: 'l9ZhYl11TpM',
      title: 'The Beatles Greatest Hits Full Album - Best Beatles Songs Collection',
      resultType: 'user-upload',
      channel: 'Music Collection',
      channelId: 'UCDe1gocRPv3jnnkeagBNA4g',
      viewCount: 1_400_000,
      durationMs: 3_595_000,
      rank: 1,
    });
    expect(results[0]?.artTrack).toBeUndefined();
    expect(results[0]?.explicit).toBeUndefined();
    expect(results[1]).toMatchObject({
      id: 'Opxhh9Oh3rg',
      title: 'Now And Then',
      resultType: 'official-video',
      credits: [{ name: 'The Beatles', channelId: 'UC2XdaAVUannpujzv32jcouQ' }],
      viewCount: 39_000_000,
      durationMs: 276_000,
      explicit: false,
      rank: 2,
      topResult: false,
    });
    expect(results[1]?.plays).toBeUndefined();
  });

  it('marks the top-result card as topResult and ranks it first, ahead of the songs shelf', async () => {
    context.server.on(
      'POST',
      searchPath,
      bySearchType(
        { json: await fixture('search-top-result.json') },
        { json: await fixture('search-empty.json') },
      ),
    );
    const [card, song, ...rest] = await engine().doSearchVideos({ query: 'beaten' });
    expect(rest).toEqual([]);
    expect(card).toMatchObject({
      id: 'sOd154X302Y',
      title: "Mother's Cake - Off The Beaten Track (Full Album)",
      resultType: 'official-video',
      credits: [{ name: "Mother's Cake", channelId: 'UC3JS-RRY9Ay0wTHHR_4KIoQ' }],
      viewCount: 387_000,
      durationMs: 2_469_000,
      rank: 1,
      topResult: true,
    });
    expect(song).toMatchObject({
      id: 'ldZfRRud9UI',
      title: 'For the Beaten',
      resultType: 'art-track',
      credits: [{ name: 'Filter', channelId: 'UCWa5o7Bd3xQPs7GTlEVYfhg' }],
      album: { title: 'For the Beaten', id: 'MPREb_rRvqIQZV597' },
      durationMs: 212_000,
      plays: 180_000,
      explicit: false,
      rank: 2,
      topResult: false,
    });
  });

  it('searches the quoted ISRC with the songs filter and marks every result foundByIsrc', async () => {
    context.server.on('POST', searchPath, { json: await fixture('search-songs.json') });
    const results = await engine().doSearchByIsrc({ isrc: 'nl-a1f-23-00001', limit: 2 });
    expect(context.server.requests).toHaveLength(1);
    expect(searchBody(context.server.requests[0]!)).toMatchObject({
      query: '"NLA1F2300001"',
      params: songsFilter,
    });
    expect(results).toHaveLength(2);
    expect(results.every((result) => result.foundByIsrc === 'NLA1F2300001')).toBe(true);
  });

  it('returns [] for a search without results', async () => {
    context.server.on('POST', searchPath, { json: await fixture('search-empty.json') });
    expect(await engine().doSearchVideos({ query: 'asdasdasdlkajshdlaskjhdlaksjfafdsfsdf' })).toEqual([]);
    expect(await engine().doSearchByIsrc({ isrc: 'USAAA0000001' })).toEqual([]);
  });

  it('sends requests only to baseURL and creates its session without a request of its own', async () => {
    const requested: string[] = [];
    const recording: FetchFunction = (input, init) => {
      requested.push(input);
      return fetch(input, init);
    };
    context.server.on(
      'POST',
      searchPath,
      bySearchType(
        { json: await fixture('search-songs.json') },
        { json: await fixture('search-videos.json') },
      ),
    );
    const music = engine({ fetch: recording });
    await music.doSearchVideos({ query: 'mocromaniac' });
    await music.doSearchByIsrc({ isrc: 'NLA1F2300001' });
    expect(requested).toHaveLength(3);
    expect(requested.every((url) => url.startsWith(`${context.server.url}${searchPath}?`))).toBe(true);
    expect(context.server.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      `POST ${searchPath}`,
      `POST ${searchPath}`,
      `POST ${searchPath}`,
    ]);
    // One visitor for the engine's lifetime, made locally.
    const visitors = new Set(context.server.requests.map((request) => request.headers['x-goog-visitor-id']));
    expect(visitors.size).toBe(1);
  });

  it('gives a retryable NXS_RATE_LIMITED with retryAfterMs on a 429', async () => {
    context.server.on('POST', searchPath, {
      status: 429,
      headers: { 'retry-after': '120' },
      json: { error: { code: 429, message: 'Too Many Requests', status: 'RESOURCE_EXHAUSTED' } },
    });
    const error = await rejectionOf(engine().doSearchVideos({ query: 'mocromaniac' }));
    expect(error.code).toBe('NXS_RATE_LIMITED');
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBe(120_000);
    expect(error.message).toMatch(/429 Too Many Requests, retry after 120 s/);
  });

  it('reports a consent page served instead of JSON as NXS_UPSTREAM naming the consent', async () => {
    context.server.on('POST', searchPath, {
      headers: { 'content-type': 'text/html; charset=utf-8' },
      body: '<!DOCTYPE html><html lang="en"><head><title>Before you continue to YouTube</title></head><body><form action="https://consent.youtube.com/save" method="POST"></form></body></html>',
    });
    const error = await rejectionOf(engine().doSearchByIsrc({ isrc: 'GBDUW0000059' }));
    expect(error.code).toBe('NXS_UPSTREAM');
    expect(error.message).toMatch(/consent page instead of JSON/);
    expect(error.retryable).toBe(false);
  });

  it('does not follow a redirect to consent.youtube.com and says why it failed', async () => {
    const requested: string[] = [];
    const recording: FetchFunction = (input, init) => {
      requested.push(input);
      return fetch(input, init);
    };
    context.server.on('POST', searchPath, {
      status: 302,
      headers: {
        location: 'https://consent.youtube.com/m?continue=https%3A%2F%2Fmusic.youtube.com%2F&gl=DE',
      },
    });
    const error = await rejectionOf(engine({ fetch: recording }).doSearchByIsrc({ isrc: 'GBDUW0000059' }));
    expect(error.code).toBe('NXS_UPSTREAM');
    expect(error.message).toMatch(/redirected to Google's consent page/);
    expect(requested.every((url) => url.startsWith(context.server.url))).toBe(true);
  });

  it('reports a body whose shape drifted as NXS_UPSTREAM "shape changed", not a TypeError', async () => {
    const songs = (await fixture('search-songs.json')) as { contents: unknown };
    const drifted = { ...songs, contentsV2: songs.contents, contents: undefined };
    context.server.on('POST', searchPath, { json: drifted });
    const error = await rejectionOf(engine().doSearchVideos({ query: 'mocromaniac' }));
    expect(error.code).toBe('NXS_UPSTREAM');
    expect(error.message).toMatch(/shape changed: update youtubei\.js/);
    expect(error.message).toMatch(/youtubei\.js \d+\.\d+\.\d+/);
  });

  it('skips an item whose renderer drifted and still maps the rest', async () => {
    const songs = (await fixture('search-songs.json')) as ReplayJson;
    const shelf =
      songs.contents.tabbedSearchResultsRenderer.tabs[0].tabRenderer.content.sectionListRenderer.contents[1]
        .musicShelfRenderer;
    shelf.contents[0].musicResponsiveListItemRenderer.flexColumns = [];
    context.server.on('POST', searchPath, { json: songs });
    // youtubei.js may report the renderer it could not parse on console.warn; it leaves the item out.
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const results = await engine()
      .doSearchByIsrc({ isrc: 'NLA1F2300001' })
      .finally(() => warn.mockRestore());
    expect(results.map((result) => [result.id, result.rank])).toEqual([
      ['D5VXlD_IJNo', 1],
      ['sOnDCapSOLI', 2],
    ]);
  });

  it('gives a retryable NXS_UPSTREAM on a 5xx and on malformed JSON', async () => {
    context.server.on(
      'POST',
      searchPath,
      { status: 503, json: { error: { message: 'unavailable' } } },
      { times: 1 },
    );
    const unavailable = await rejectionOf(engine().doSearchByIsrc({ isrc: 'GBDUW0000059' }));
    expect(unavailable).toMatchObject({ code: 'NXS_UPSTREAM', retryable: true });
    expect(unavailable.message).toMatch(/503 Service Unavailable/);
    context.server.on('POST', searchPath, { json: await fixture('search-songs.json'), malformed: true });
    const malformed = await rejectionOf(engine().doSearchByIsrc({ isrc: 'GBDUW0000059' }));
    expect(malformed).toMatchObject({ code: 'NXS_UPSTREAM', retryable: true });
    expect(malformed.message).toMatch(/invalid JSON/);
  });

  it('gives NXS_TIMEOUT when InnerTube stalls past timeoutMs', async () => {
    context.server.on('POST', searchPath, { stall: true });
    const error = await rejectionOf(engine({ timeoutMs: 300 }).doSearchByIsrc({ isrc: 'GBDUW0000059' }));
    expect(error.code).toBe('NXS_TIMEOUT');
    expect(error.retryable).toBe(true);
  });

  it('gives NXS_ABORTED when the signal aborts, and the request is cancelled on the wire', async () => {
    context.server.on('POST', searchPath, { stall: true });
    const socketsBefore = openSocketCount();
    const controller = new AbortController();
    const pending = rejectionOf(engine().doSearchVideos({ query: 'mocromaniac', signal: controller.signal }));
    await eventually(() => context.server.requests.length === 2);
    expect(openSocketCount()).toBeGreaterThan(socketsBefore);
    controller.abort();
    const error = await pending;
    expect(error.code).toBe('NXS_ABORTED');
    // Both stalled sockets are closed by the client: the replay server sees the requests go away.
    await eventually(() => openSocketCount() <= socketsBefore);
  });

  it('fails both searches with the first real error, not with the abort it caused', async () => {
    context.server.on(
      'POST',
      searchPath,
      bySearchType({ status: 429, headers: { 'retry-after': '3' }, json: {} }, { stall: true }),
    );
    const error = await rejectionOf(engine().doSearchVideos({ query: 'mocromaniac' }));
    expect(error.code).toBe('NXS_RATE_LIMITED');
    expect(error.retryAfterMs).toBe(3_000);
  });

  it('refuses to extract (yt-dlp stays the extractor) and an empty query or a malformed ISRC', async () => {
    const music = engine();
    expect(music).toMatchObject({ kind: 'video', id: 'youtube-music', tier: 0 });
    expect(music.capabilities).toEqual(['search', 'isrc-search']);
    const extract = await rejectionOf(music.doExtract({ id: 'HhQGHxWZCd0' }));
    expect(extract.code).toBe('NXS_INVALID_INPUT');
    expect(extract.message).toMatch(/YouTube engine/);
    expect((await rejectionOf(music.doSearchVideos({ query: '  ' }))).code).toBe('NXS_INVALID_INPUT');
    expect((await rejectionOf(music.doSearchByIsrc({ isrc: 'nope' }))).code).toBe('NXS_INVALID_INPUT');
    expect(context.server.requests).toEqual([]);
  });

  it('gives NXS_ABORTED for calls after close()', async () => {
    const music = engine();
    await music.close();
    const error = await rejectionOf(music.doSearchByIsrc({ isrc: 'GBDUW0000059' }));
    expect(error.code).toBe('NXS_ABORTED');
    expect(context.server.requests).toEqual([]);
  });
});
