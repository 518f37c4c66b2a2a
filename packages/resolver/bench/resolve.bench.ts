// The resolver's own overhead: engines replayed on loopback with realistic latencies (Deezer 150 ms, iTunes
// 300 ms, MusicBrainz 400 ms, LLM 800 ms), the video search answered by an engine object of ours after
// 1500 ms, so the figures measure the race and not yt-dlp; then bench/search.bench.ts (YouTube Music vs
// yt-dlp on the same replayed answer). Prints progress, then as its LAST line one JSON object.
// The engines run with their services' published rate limits and the pools those size (serviceRateLimits,
// poolConnections), as in production. To compare with other settings:
//   BENCH_CONNECTIONS=8   every engine's pool at 8 connections (the size before decision 0107)
//   BENCH_COALESCE=0      identical GETs in flight are not shared
//   BENCH_RATE_LIMITS=0   the engines' limiters off (what this bench did before decision 0107)
//   npx turbo run build --filter=@nexstream/resolver... && npm run bench -w @nexstream/resolver
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createRegistry } from '@nexstream/registry';
import { createResolver } from '@nexstream/resolver';
import {
  createDeezerEngine,
  createGroqEngine,
  createItunesEngine,
  createMusicBrainzEngine,
  type ExtractedMedia,
  type VideoCandidate,
  type VideoEngine,
} from '@nexstream/resolver/engines';
import { type ReplayServer, startReplayServer } from '@nexstream/testkit';
import type { SearchBenchFigures } from './search.bench.js';

const latency = { deezer: 150, itunes: 300, musicbrainz: 400, videoSearch: 1500, llm: 800 };
const sequentialRuns = 15;
const concurrentResolves = 100;
/** Distinct links resolved at once: as many as Deezer's published limit lets start in one window. */
const distinctResolves = 50;
const deezerWindowMs = 5_000;
const registryHits = 500;
const link = 'https://www.deezer.com/track/3135556';
const isrc = 'GBDUW0000059';

const fixture = (path: string) =>
  JSON.parse(readFileSync(new URL(`../src/__fixtures__/${path}`, import.meta.url), 'utf8')) as unknown;

const artTrack: VideoCandidate = {
  engine: 'youtube',
  mediaId: 'youtube:GDpmVUEjagg',
  id: 'GDpmVUEjagg',
  url: 'https://www.youtube.com/watch?v=GDpmVUEjagg',
  title: 'Harder, Better, Faster, Stronger',
  channel: 'Daft Punk - Topic',
  durationMs: 224_000,
  viewCount: 48_000_000,
  artTrack: { title: 'Harder, Better, Faster, Stronger', artists: ['Daft Punk'], album: 'Discovery' },
};

function after<T>(ms: number, signal: AbortSignal | undefined, value: () => T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason ?? new Error('aborted'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(value());
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A video engine of ours that answers like yt-dlp would, after `latency.videoSearch` ms. */
function benchVideoEngine(): VideoEngine {
  return {
    kind: 'video',
    id: 'youtube',
    tier: 0,
    capabilities: ['search', 'isrc-search', 'extract'],
    doSearchByIsrc: ({ isrc: wanted, signal }) =>
      after(latency.videoSearch, signal, () => [{ ...artTrack, foundByIsrc: wanted }]),
    doSearchVideos: ({ signal }) => after(latency.videoSearch, signal, () => [{ ...artTrack }]),
    doExtract: ({ signal }) =>
      after(
        0,
        signal,
        (): ExtractedMedia => ({
          candidate: { ...artTrack },
          media: {
            id: artTrack.mediaId,
            platform: 'youtube',
            pageUrl: artTrack.url,
            title: artTrack.title,
            durationMs: 224_000,
            formats: [
              {
                id: '251',
                container: 'webm',
                audioCodec: 'opus',
                url: `https://rr1.googlevideo.example/videoplayback?itag=251&expire=${Math.floor(Date.now() / 1000) + 21_540}`,
                expiresAt: (Math.floor(Date.now() / 1000) + 21_540) * 1000,
              },
            ],
            expiresAt: (Math.floor(Date.now() / 1000) + 21_540) * 1000,
          },
        }),
      ),
    close: async () => {},
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const round = (value: number) => Math.round(value * 100) / 100;

async function main() {
  const servers: ReplayServer[] = [];
  const server = async () => {
    const started = await startReplayServer();
    servers.push(started);
    return started;
  };
  const deezerServer = await server();
  const itunesServer = await server();
  const musicbrainzServer = await server();
  const groqServer = await server();
  const deezerTrack = fixture('deezer/track-isrc.json');
  deezerServer.on('GET', /^\/track\/\d+$/, { json: deezerTrack, latencyMs: latency.deezer });
  deezerServer.on('GET', '/track/3135556', { json: deezerTrack, latencyMs: latency.deezer });
  deezerServer.on('GET', `/track/isrc:${isrc}`, { json: deezerTrack, latencyMs: latency.deezer });
  deezerServer.on('GET', '/search', {
    json: fixture('deezer/search-advanced.json'),
    latencyMs: latency.deezer,
  });
  itunesServer.on('GET', '/search', { json: fixture('itunes/search.json'), latencyMs: latency.itunes });
  musicbrainzServer.on('GET', /^\/ws\/2\/isrc\//, {
    json: fixture('musicbrainz/isrc.json'),
    latencyMs: latency.musicbrainz,
  });
  musicbrainzServer.on('GET', /^\/ws\/2\/recording/, {
    json: fixture('musicbrainz/recording-search.json'),
    latencyMs: latency.musicbrainz,
  });
  groqServer.on('POST', '/chat/completions', {
    json: fixture('groq/completion.json'),
    latencyMs: latency.llm,
  });

  const common = {
    env: {},
    ...(process.env.BENCH_RATE_LIMITS === '0' ? { rateLimit: false as const } : {}),
    ...(process.env.BENCH_CONNECTIONS ? { connections: Number(process.env.BENCH_CONNECTIONS) } : {}),
    ...(process.env.BENCH_COALESCE === '0' ? { coalesce: false } : {}),
  };
  const engines = [
    createDeezerEngine({ ...common, baseURL: deezerServer.url }),
    createItunesEngine({ ...common, baseURL: itunesServer.url }),
    createMusicBrainzEngine({ ...common, baseURL: musicbrainzServer.url }),
    createGroqEngine({ ...common, baseURL: groqServer.url, apiKey: 'bench' }),
    benchVideoEngine(),
  ];

  // Reference: one bare request to the replayed Deezer (what the replay server and undici cost themselves).
  const referenceRuns: number[] = [];
  for (let run = 0; run < 10; run += 1) {
    const started = performance.now();
    await (await fetch(`${deezerServer.url}/track/3135556`)).json();
    referenceRuns.push(performance.now() - started);
  }

  // 1. One resolution at a time: first metadata and settle times. No registry, so nothing is a hit.
  const resolver = createResolver({ engines });
  const firstMetadata: number[] = [];
  const settles: number[] = [];
  for (let run = 0; run < sequentialRuns; run += 1) {
    const started = performance.now();
    const session = resolver.resolve(link);
    let metadataAt: number | undefined;
    let settledAt: number | undefined;
    for await (const event of session) {
      if (event.type === 'metadata' && metadataAt === undefined) metadataAt = performance.now() - started;
      if (event.type === 'settled') settledAt = performance.now() - started;
    }
    const resolution = await session.result;
    if (resolution.grade !== 'verified')
      throw new Error(`expected a verified match, got ${resolution.grade}`);
    firstMetadata.push(metadataAt!);
    settles.push(settledAt!);
  }
  const criticalPathMs = latency.deezer + latency.videoSearch;
  console.log(
    `sequential (${sequentialRuns} runs): first metadata p50 ${round(median(firstMetadata))} ms (Deezer replayed at ${latency.deezer} ms), settled p50 ${round(median(settles))} ms (critical path Deezer ${latency.deezer} + ISRC video search ${latency.videoSearch} = ${criticalPathMs} ms)`,
  );

  // 2. The LLM path: no ISRC hit, no plain hit, the LLM query finds it (tier 2 at 6 s).
  const llmVideo = benchVideoEngine();
  llmVideo.doSearchByIsrc = ({ signal }) => after(latency.videoSearch, signal, () => []);
  llmVideo.doSearchVideos = ({ query, signal }) =>
    after(latency.videoSearch, signal, () => (query.includes('official audio') ? [{ ...artTrack }] : []));
  const llmResolver = createResolver({ engines: [...engines.slice(0, 4), llmVideo] });
  const llmSettles: number[] = [];
  for (let run = 0; run < 3; run += 1) {
    const started = performance.now();
    const session = llmResolver.resolve(link);
    let settledAt = 0;
    for await (const event of session) if (event.type === 'settled') settledAt = performance.now() - started;
    await session.result;
    llmSettles.push(settledAt);
  }
  const llmCriticalPathMs = latency.deezer + 6000 + latency.llm + latency.videoSearch;
  console.log(
    `LLM path (3 runs): settled p50 ${round(median(llmSettles))} ms (critical path ${latency.deezer} + tier 2 at 6000 + LLM ${latency.llm} + search ${latency.videoSearch} = ${llmCriticalPathMs} ms)`,
  );

  // 3. Registry hits.
  const registry = await createRegistry({ url: ':memory:' });
  const stored = createResolver({ engines, registry });
  const first = await stored.resolve(link).result;
  if (!first.written) throw new Error('the verified match was not stored');
  const hits: number[] = [];
  for (let run = 0; run < registryHits; run += 1) {
    const started = performance.now();
    const resolution = await stored.resolve(link).result;
    hits.push(performance.now() - started);
    if (resolution.via !== 'registry') throw new Error('expected a registry hit');
  }
  console.log(
    `registry hits (${registryHits}): p50 ${round(median(hits))} ms, p99 ${round(percentile(hits, 99))} ms`,
  );
  await registry.close();

  // 4. Event-loop lag during 100 concurrent resolutions.
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const started = performance.now();
  const settleTime = async (target: string) => {
    const begin = performance.now();
    let settledAt = 0;
    const session = resolver.resolve(target);
    for await (const event of session) if (event.type === 'settled') settledAt = performance.now() - begin;
    const resolution = await session.result;
    if (resolution.grade !== 'verified')
      throw new Error(`expected a verified match, got ${resolution.grade}`);
    return settledAt;
  };
  const concurrent = await Promise.all(Array.from({ length: concurrentResolves }, () => settleTime(link)));
  histogram.disable();
  const loopLagP99Ms = histogram.percentile(99) / 1e6;
  const singleP50 = median(settles);
  const concurrentP50 = median(concurrent);
  console.log(
    `${concurrentResolves} concurrent resolutions of one link in ${Math.round(performance.now() - started)} ms: settled p50 ${round(concurrentP50)} ms (one alone: ${round(singleP50)} ms, ×${round(concurrentP50 / singleP50)}), p99 ${round(percentile(concurrent, 99))} ms; event-loop delay p99 ${round(loopLagP99Ms)} ms, max ${round(histogram.max / 1e6)} ms`,
  );

  // 5. Distinct links at once, as many as Deezer lets start in one window (its limit is per IP: the 51st
  // distinct link within 5 s waits for the window, whatever the pool). The window is let clear first.
  await new Promise((resolve) => setTimeout(resolve, deezerWindowMs));
  const distinctStarted = performance.now();
  const distinct = await Promise.all(
    Array.from({ length: distinctResolves }, (_, index) =>
      settleTime(`https://www.deezer.com/track/${4_000_000 + index}`),
    ),
  );
  const distinctP50 = median(distinct);
  console.log(
    `${distinctResolves} concurrent resolutions of distinct links in ${Math.round(performance.now() - distinctStarted)} ms: settled p50 ${round(distinctP50)} ms (×${round(distinctP50 / singleP50)} one alone), p99 ${round(percentile(distinct, 99))} ms`,
  );

  await Promise.all(engines.map((engine) => engine.close()));
  await Promise.all(servers.map((replay) => replay.close()));

  console.log(
    `note: the video engine is an object of ours answering after 1500 ms (spawning yt-dlp 100× would measure yt-dlp, not the race); engine rate limiters ${process.env.BENCH_RATE_LIMITS === '0' ? 'off' : "at the services' published limits"}.`,
  );
  // Loaded by URL: Node runs the .ts file itself (type stripping), which a static `.ts` import would not type-check.
  const { runSearchBench } = (await import(new URL('./search.bench.ts', import.meta.url).href)) as {
    runSearchBench: () => Promise<SearchBenchFigures>;
  };
  const search = await runSearchBench();
  console.log(
    JSON.stringify({
      ...search,
      first_metadata_overhead_ms: round(median(firstMetadata) - latency.deezer),
      settle_overhead_ms: round(median(settles) - criticalPathMs),
      registry_hit_p50_ms: round(median(hits)),
      loop_lag_p99_ms: round(loopLagP99Ms),
      llm_path_settle_overhead_ms: round(median(llmSettles) - llmCriticalPathMs),
      concurrent_settle_overhead_p50_ms: round(concurrentP50 - singleP50),
      concurrent_settle_p50_ms: round(concurrentP50),
      single_settle_p50_ms: round(singleP50),
      concurrent_vs_single: round(concurrentP50 / singleP50),
      concurrent_distinct_settle_overhead_p50_ms: round(distinctP50 - singleP50),
      concurrent_distinct: distinctResolves,
      reference_replay_fetch_p50_ms: round(median(referenceRuns)),
      reference_deezer_latency_ms: latency.deezer,
      runs: sequentialRuns,
      concurrent: concurrentResolves,
      load_average_1m: round(loadavg()[0] ?? 0),
    }),
  );
}

await main();
