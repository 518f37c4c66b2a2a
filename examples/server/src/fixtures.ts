import { mkdir, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type DefaultEnginesOptions, defaultYoutubeExtractors, type RaceTimings } from '@nexstream/resolver';

/** The offline world of fixtures mode: stand-ins for the metadata services and for YouTube's CDN. */
export interface FixtureWorld {
  /** The replay server (metadata services, the search page, the DASH manifest). */
  readonly replayUrl: string;
  /** The media origin (the video and audio files). */
  readonly originUrl: string;
  /** Engine settings pointing every engine at the replay server. */
  readonly engines: DefaultEnginesOptions;
  /** Short race timings so the demo settles in seconds. */
  readonly timings: Partial<RaceTimings>;
  /** Hosts the tunnel may fetch from: the media origin's `127.0.0.1:<port>` and nothing else. */
  readonly mediaHosts: string[];
  /** The Spotify link the fixtures answer for (shown in the README and used by the tests). */
  readonly spotifyTrackLink: string;
  close(): Promise<void>;
}

/** The Spotify track of the resolver's `embed-track.html` fixture (Daft Punk, "Harder, Better, Faster, Stronger"). */
export const fixtureSpotifyTrackLink = 'https://open.spotify.com/track/5W3cjX2J3tjhG8zb6u0qHn';

/** Cover-art hosts in the fixtures, rewritten to the replay server so covers load offline. */
const coverHosts =
  /https:\/\/(?:i\.scdn\.co|image-cdn-[a-z]+\.spotifycdn\.com|e-cdns-images\.dzcdn\.net|cdn-images\.dzcdn\.net|api\.deezer\.com|is\d-ssl\.mzstatic\.com|coverartarchive\.org)\//g;

/**
 * Starts the testkit's replay server and media origin with bodies of the real shapes (the resolver's
 * `src/__fixtures__`), so resolve → download works without the internet:
 * Spotify's embed page, Deezer, MusicBrainz and iTunes answer for the fixture track; "YouTube" search is a
 * results page yt-dlp's generic extractor reads, whose video is a DASH manifest with separate H.264 video
 * and AAC audio files on the media origin (the split YouTube serves).
 *
 * Needs the dev dependency `@nexstream/testkit` (a workspace checkout) and ffmpeg (to make the sample media).
 */
export async function startFixtureWorld(options: {
  dataDir: string;
  searchLatencyMs?: number;
}): Promise<FixtureWorld> {
  const testkit = await import('@nexstream/testkit');
  const require = createRequire(import.meta.url);
  const fixtureDir = join(dirname(require.resolve('@nexstream/resolver/package.json')), 'src/__fixtures__');
  const [replay, origin] = await Promise.all([testkit.startReplayServer(), testkit.startMediaOrigin()]);
  try {
    const covers = `${replay.url}/covers/`;
    const text = async (path: string) =>
      (await readFile(join(fixtureDir, path), 'utf8')).replace(coverHosts, covers);
    const json = async (path: string) => JSON.parse(await text(path)) as unknown;

    const [videoPath, audioPath, coverPath] = await Promise.all([
      testkit.sampleMedia('h264-video-mp4', { durationS: 6, width: 640, height: 360 }),
      testkit.sampleMedia('aac-audio-m4a', { durationS: 6 }),
      coverImage(options.dataDir),
    ]);
    const [videoSize, audioSize, cover] = await Promise.all([
      stat(videoPath).then((info) => info.size),
      stat(audioPath).then((info) => info.size),
      readFile(coverPath),
    ]);
    const videoUrl = origin.add('hbfs-video.mp4', videoPath);
    const audioUrl = origin.add('hbfs-audio.m4a', audioPath);
    // `yt:contentLength` is how YouTube's manifests give sizes; yt-dlp reads it into `filesize`.
    const manifest = `<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" xmlns:yt="http://youtube.com/yt/2012/10/10" type="static" mediaPresentationDuration="PT6S" minBufferTime="PT1S" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011">
 <Period>
  <AdaptationSet mimeType="video/mp4" contentType="video">
   <Representation id="134" codecs="avc1.64001e" width="640" height="360" frameRate="30" bandwidth="${Math.round((videoSize * 8) / 6)}">
    <BaseURL yt:contentLength="${videoSize}">${videoUrl}</BaseURL>
   </Representation>
  </AdaptationSet>
  <AdaptationSet mimeType="audio/mp4" contentType="audio">
   <Representation id="140" codecs="mp4a.40.2" audioSamplingRate="48000" bandwidth="${Math.round((audioSize * 8) / 6)}">
    <BaseURL yt:contentLength="${audioSize}">${audioUrl}</BaseURL>
   </Representation>
  </AdaptationSet>
 </Period>
</MPD>
`;
    const manifestUrl = `${replay.url}/cdn/harder-better-faster-stronger.mpd`;
    const resultsPage = `<html><head><title>Daft Punk - Harder, Better, Faster, Stronger (Official Audio)</title></head><body><video src="${manifestUrl}"></video></body></html>`;
    // The stand-in for YouTube's watch pages of the demo art track and official video: the same DASH manifest,
    // named the way each video is (JSON-LD: yt-dlp's generic extractor takes its name, where a bare <video>
    // gets "… (1)").
    const watchPage = (name: string, author: string, duration: string) =>
      `<html><head><title>${name}</title><script type="application/ld+json">${JSON.stringify({
        '@context': 'https://schema.org',
        '@type': 'VideoObject',
        name,
        author: { '@type': 'Person', name: author },
        duration,
        contentUrl: manifestUrl,
      })}</script></head><body></body></html>`;
    const html = { 'content-type': 'text/html; charset=utf-8' };
    const searchLatencyMs = options.searchLatencyMs ?? 1500;

    const [
      embedTrack,
      oembed,
      deezerTrack,
      deezerSearch,
      deezerAlbum,
      mbIsrc,
      mbSearch,
      itunesSearch,
      itunesTrack,
      musicSearch,
      musicVideos,
    ] = await Promise.all([
      text('spotify/embed-track.html'),
      json('spotify/oembed.json'),
      json('deezer/track-isrc.json'),
      json('deezer/search-advanced.json'),
      json('deezer/album.json'),
      json('musicbrainz/isrc.json'),
      json('musicbrainz/recording-search.json'),
      json('itunes/search.json'),
      json('itunes/lookup-track.json'),
      json('youtube-music/search-songs.json'),
      json('youtube-music/search-videos.json'),
    ]);
    replay
      .on('GET', /^\/spotify\/embed\/track\//, { headers: html, body: embedTrack })
      .on('GET', '/spotify/oembed', { json: oembed })
      .on('GET', /^\/deezer\/track\//, { json: deezerTrack })
      .on('GET', '/deezer/search', { json: deezerSearch })
      .on('GET', /^\/deezer\/album\//, { json: deezerAlbum })
      .on('GET', /^\/musicbrainz\/ws\/2\/isrc\//, { json: mbIsrc })
      .on('GET', '/musicbrainz/ws/2/recording', { json: mbSearch })
      .on('GET', '/itunes/search', { json: itunesSearch })
      .on('GET', '/itunes/lookup', { json: itunesTrack })
      .on('GET', /^\/covers\//, { headers: { 'content-type': 'image/jpeg' }, body: new Uint8Array(cover) })
      .on('GET', '/cdn/harder-better-faster-stronger.mpd', {
        headers: { 'content-type': 'application/dash+xml' },
        body: manifest,
      })
      .on('POST', '/youtube-music/youtubei/v1/search', { json: demoMusicSearch(musicSearch, musicVideos) })
      .on('GET', '/youtube/watch', (request) => ({
        headers: html,
        body:
          request.query.get('v') === fixtureOfficialVideoId
            ? watchPage('Harder, Better, Faster, Stronger (Official Video)', 'Daft Punk', 'PT3M48S')
            : watchPage('Harder, Better, Faster, Stronger', 'Daft Punk - Topic', 'PT3M44S'),
      }))
      // The search answers late on purpose, so the metadata card shows before the match settles.
      .on('GET', '/youtube/results', { headers: html, body: resultsPage, latencyMs: searchLatencyMs });

    const noKeys: Record<string, string | undefined> = {
      NEXSTREAM_YTDLP: process.env.NEXSTREAM_YTDLP,
      NEXSTREAM_FFMPEG: process.env.NEXSTREAM_FFMPEG,
      NEXSTREAM_FFPROBE: process.env.NEXSTREAM_FFPROBE,
      PATH: process.env.PATH,
    };
    return {
      replayUrl: replay.url,
      originUrl: origin.url,
      engines: {
        env: noKeys,
        spotify: { baseURL: `${replay.url}/spotify`, env: noKeys },
        deezer: { baseURL: `${replay.url}/deezer` },
        itunes: { baseURL: `${replay.url}/itunes` },
        musicbrainz: { baseURL: `${replay.url}/musicbrainz`, rateLimit: false },
        soundcharts: false,
        odesli: false,
        // YouTube Music answers every search (text or ISRC) with the demo art track: a recorded songs search
        // with its first item renamed (see `demoMusicSearch`).
        youtubeMusic: { baseURL: `${replay.url}/youtube-music` },
        groq: false,
        gemini: false,
        youtube: {
          env: noKeys,
          // The fixture search page and its DASH manifest are read by yt-dlp's generic and html5 extractors;
          // YouTube links still go to the YouTube extractor (and fail offline). Overrides are YouTube ids only,
          // so no client text reaches these extractors.
          extractors: [...defaultYoutubeExtractors, 'generic', 'html5'],
          searchTarget: (query: string) => `${replay.url}/youtube/results?q=${encodeURIComponent(query)}`,
          // Extraction by video id (the race's winner, the link refresher) reads this stand-in watch page,
          // and what it gives is that YouTube video: the demo reaches `verified` and the registry.
          watchPage: (id: string) => `${replay.url}/youtube/watch?v=${id}`,
        },
      },
      timings: { tier1DelayMs: 300, tier2DelayMs: 600, graceMs: 1500 },
      // Exactly the media origin (host and port): no other local service is reachable through the tunnel.
      mediaHosts: [new URL(origin.url).host],
      spotifyTrackLink: fixtureSpotifyTrackLink,
      async close() {
        await Promise.allSettled([replay.close(), origin.close()]);
      },
    };
  } catch (error) {
    await Promise.allSettled([replay.close(), origin.close()]);
    throw error;
  }
}

/** The video id of the demo art track in the fixture YouTube Music search (made up: no such video exists). */
export const fixtureYoutubeVideoId = 'hbfsDemo001';

/** The demo track's official video in the same search (made up too): another video a user can pick. */
export const fixtureOfficialVideoId = 'hbfsDemoOMV';

/**
 * The YouTube Music answer of the offline world: the resolver's recorded searches (NewPipeExtractor's
 * `musicSongs` mock and youtui's videos search, see their fixtures README) cut to two results and renamed to
 * the demo track — its art track (title, artist, album, length, video id; explicit badge dropped) and its
 * official video (a made-up id, 4 s longer, as music videos are). The structure is as recorded. Text and
 * ISRC searches get the same page, as a quoted-ISRC search on YouTube Music finds the art track.
 */
function demoMusicSearch(recorded: unknown, recordedVideos: unknown): unknown {
  const body = structuredClone(recorded) as {
    contents: {
      tabbedSearchResultsRenderer: {
        tabs: Array<{ tabRenderer: { content: { sectionListRenderer: { contents: unknown[] } } } }>;
      };
    };
  };
  const sections = body.contents.tabbedSearchResultsRenderer.tabs[0]!.tabRenderer.content.sectionListRenderer;
  const shelf = sections.contents.find(
    (
      section,
    ): section is { musicShelfRenderer: { contents: Array<{ musicResponsiveListItemRenderer: unknown }> } } =>
      typeof section === 'object' && section !== null && 'musicShelfRenderer' in section,
  )!;
  const item = shelf.musicShelfRenderer.contents[0]!.musicResponsiveListItemRenderer as Record<
    string,
    unknown
  >;
  delete item.badges;
  // The album run (linked to an `MPRE…` album page) names the album, Discovery.
  for (const run of albumRuns(item)) run.text = 'Discovery';
  const video = officialVideoItem(recordedVideos);
  shelf.musicShelfRenderer.contents = [
    { musicResponsiveListItemRenderer: item },
    ...(video ? [{ musicResponsiveListItemRenderer: video }] : []),
  ];
  sections.contents = [shelf];
  const renames: ReadonlyArray<readonly [string, string]> = [
    ['HhQGHxWZCd0', fixtureYoutubeVideoId],
    ['Boom Boom Boom - MocroManiac', 'Harder, Better, Faster, Stronger - Daft Punk'],
    ['Boom Boom Boom', 'Harder, Better, Faster, Stronger'],
    ['MocroManiac', 'Daft Punk'],
    ['UCbavYW_bduz7PMrVuv0rJLA', 'UC_kRDKYrUlrbtrSiyu5Tflg'],
    ['MPREb_xO8k7KwxIXy', 'MPREb_demoDiscovery'],
    ['2 minutes, 51 seconds', '3 minutes, 44 seconds'],
    ['2:51', '3:44'],
    // The official video, from the videos search.
    ['Opxhh9Oh3rg', fixtureOfficialVideoId],
    ['Now And Then - The Beatles', 'Harder, Better, Faster, Stronger (Official Video) - Daft Punk'],
    ['Now And Then', 'Harder, Better, Faster, Stronger (Official Video)'],
    ['The Beatles', 'Daft Punk'],
    ['UC2XdaAVUannpujzv32jcouQ', 'UC_kRDKYrUlrbtrSiyu5Tflg'],
    ['4 minutes, 36 seconds', '3 minutes, 48 seconds'],
    ['4:36', '3:48'],
  ];
  let json = JSON.stringify(body);
  for (const [from, to] of renames) json = json.replaceAll(from, to);
  return JSON.parse(json) as unknown;
}

/** The official video (`MUSIC_VIDEO_TYPE_OMV`) item of a recorded videos search. */
function officialVideoItem(recorded: unknown): Record<string, unknown> | undefined {
  const body = structuredClone(recorded) as {
    contents: {
      tabbedSearchResultsRenderer: {
        tabs: Array<{ tabRenderer: { content: { sectionListRenderer: { contents: unknown[] } } } }>;
      };
    };
  };
  const sections = body.contents.tabbedSearchResultsRenderer.tabs[0]!.tabRenderer.content.sectionListRenderer;
  for (const section of sections.contents as Array<{
    musicShelfRenderer?: { contents: Array<{ musicResponsiveListItemRenderer?: Record<string, unknown> }> };
  }>) {
    for (const entry of section.musicShelfRenderer?.contents ?? []) {
      const item = entry.musicResponsiveListItemRenderer;
      if (item && JSON.stringify(item).includes('MUSIC_VIDEO_TYPE_OMV')) return item;
    }
  }
  return undefined;
}

/** The runs of a list item that link to an album page. */
function albumRuns(item: Record<string, unknown>): Array<{ text: string }> {
  const columns = (item.flexColumns ?? []) as Array<{
    musicResponsiveListItemFlexColumnRenderer?: {
      text?: { runs?: Array<{ text: string; navigationEndpoint?: unknown }> };
    };
  }>;
  return columns
    .flatMap((column) => column.musicResponsiveListItemFlexColumnRenderer?.text?.runs ?? [])
    .filter((run) => JSON.stringify(run.navigationEndpoint ?? {}).includes('MUSIC_PAGE_TYPE_ALBUM'));
}

/** A 300 × 300 JPEG cover made once with ffmpeg (a frame of its test pattern). */
async function coverImage(dataDir: string): Promise<string> {
  const path = join(dataDir, 'fixtures', 'cover.jpg');
  if (
    await stat(path).then(
      () => true,
      () => false,
    )
  )
    return path;
  await mkdir(dirname(path), { recursive: true });
  const { locateProgram } = await import('@nexstream/core/node');
  const { execFile } = await import('node:child_process');
  const ffmpeg = await locateProgram('ffmpeg');
  await new Promise<void>((resolve, reject) =>
    execFile(
      ffmpeg.path,
      ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=300x300', '-frames:v', '1', path],
      (error) => (error ? reject(error) : resolve()),
    ),
  );
  return path;
}
