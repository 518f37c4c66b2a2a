// One search through the YouTube Music engine (youtubei.js, in process) against one search through yt-dlp
// (a Python process per search), both answered on loopback with the same three songs: InnerTube's recorded
// songs answer (src/__fixtures__/youtube-music/search-songs.json) for the former, a page listing the same
// three videos for the latter (yt-dlp's generic and html5 extractors, as in the test world). Interleaved
// runs, medians. Run alone it prints as its LAST line one JSON object; bench/resolve.bench.ts merges it.
//   npx turbo run build --filter=@nexstream/resolver... && node bench/search.bench.ts
import { readFileSync } from 'node:fs';
import {
  createYoutubeEngine,
  createYoutubeMusicEngine,
  defaultYoutubeExtractors,
} from '@nexstream/resolver/engines';
import { startReplayServer } from '@nexstream/testkit';

/** The figures of one run of {@link runSearchBench}. */
export interface SearchBenchFigures {
  ytmusic_search_ms: number;
  ytdlp_search_ms: number;
  ytmusic_speedup: number;
  search_runs: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};
const round = (value: number) => Math.round(value * 10) / 10;

export async function runSearchBench(runs = 15): Promise<SearchBenchFigures> {
  const songs = JSON.parse(
    readFileSync(new URL('../src/__fixtures__/youtube-music/search-songs.json', import.meta.url), 'utf8'),
  ) as unknown;
  const empty = JSON.parse(
    readFileSync(new URL('../src/__fixtures__/youtube-music/search-empty.json', import.meta.url), 'utf8'),
  ) as unknown;
  const replay = await startReplayServer();
  // The songs filter is answered with the recording, the videos filter with the empty answer.
  let innertubeCalls = 0;
  replay.on('POST', '/youtubei/v1/search', () => ({ json: innertubeCalls++ % 2 === 0 ? songs : empty }));
  const ids = ['HhQGHxWZCd0', 'D5VXlD_IJNo', 'sOnDCapSOLI'];
  replay.on('GET', '/results', {
    headers: { 'content-type': 'text/html; charset=utf-8' },
    body: `<html><head><title>mocromaniac</title></head><body>${ids
      .map((id) => `<video src="${replay.url}/media/${id}.mp4"></video>`)
      .join('')}</body></html>`,
  });
  const ytmusic = createYoutubeMusicEngine({ baseURL: replay.url });
  const ytdlp = createYoutubeEngine({
    extractors: [...defaultYoutubeExtractors, 'generic', 'html5'],
    searchTarget: () => `${replay.url}/results`,
  });
  try {
    // Warm-up: youtubei.js is imported on first use (~0.5 s), paid once per process.
    const warm = performance.now();
    await ytmusic.doSearchVideos({ query: 'mocromaniac', limit: 10 });
    console.log(
      `youtube-music: first search with the youtubei.js import ${round(performance.now() - warm)} ms`,
    );
    const music: number[] = [];
    const dlp: number[] = [];
    for (let run = 0; run < runs; run += 1) {
      let started = performance.now();
      const fromMusic = await ytmusic.doSearchVideos({ query: 'mocromaniac', limit: 10 });
      music.push(performance.now() - started);
      started = performance.now();
      const fromDlp = await ytdlp.doSearchVideos({ query: 'mocromaniac', limit: 10 });
      dlp.push(performance.now() - started);
      if (fromMusic.length < 3 || fromDlp.length < 3) throw new Error('a search came back short');
    }
    const figures = {
      ytmusic_search_ms: round(median(music)),
      ytdlp_search_ms: round(median(dlp)),
      ytmusic_speedup: round(median(dlp) / median(music)),
      search_runs: runs,
    };
    console.log(
      `search, median of ${runs}: youtube-music ${figures.ytmusic_search_ms} ms, yt-dlp ${figures.ytdlp_search_ms} ms (${figures.ytmusic_speedup}×)`,
    );
    return figures;
  } finally {
    await Promise.all([ytmusic.close(), ytdlp.close()]);
    await replay.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await runSearchBench()));
