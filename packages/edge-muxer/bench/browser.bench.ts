// Benchmark: in-browser stream copy (libav.js in our Worker) vs native `ffmpeg -c copy` vs a
// straightforward mediabunny remux in the same page, on 180 s of 1080p H.264 + AAC and a ~1 GB pair.
// Every output goes to a null sink. Both muxers are measured with URL inputs (Range requests to a
// loopback server; the headline ratios) and with Blob inputs (no network), interleaved. Prints, as its
// LAST line, one JSON object with the figures (medians; native measured in the same run). The direct
// writer also runs with tags and a 600 px cover fetched by URL (ratio_tagged_vs_untagged). BENCH_RUNS
// (default 5) sets the runs, BENCH_SKIP_LARGE=1 skips the ~1 GB pair. Run: npx turbo run build --filter=@nexstream/edge-muxer... &&
// npm run bench:browser -w @nexstream/edge-muxer
import { execFile, spawn } from 'node:child_process';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { locateProgram } from '@nexstream/core/node';
import { libavAssets } from '@nexstream/edge-muxer';
import { childProcessIds, launchChromium, sampleCacheDirectory } from '@nexstream/testkit';

const runs = Number(process.env.BENCH_RUNS ?? 5);
const skipLarge = process.env.BENCH_SKIP_LARGE === '1';
const ffmpeg = (await locateProgram('ffmpeg')).path;
const cache = join(sampleCacheDirectory(), 'edge-muxer-bench');
await mkdir(cache, { recursive: true });

function run(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      ffmpeg,
      ['-v', 'error', '-y', ...args],
      { maxBuffer: 64 * 1024 * 1024 },
      (error, _stdout, stderr) =>
        error ? reject(new Error(`ffmpeg ${args.join(' ')}: ${stderr}`)) : resolve(),
    );
  });
}

/** Makes `name` with `args` (output path appended) unless the cache has it; atomic via a temp name. */
async function cached(name: string, args: (output: string) => string[]): Promise<string> {
  const path = join(cache, name);
  if (existsSync(path)) return path;
  const temporary = join(cache, `.tmp-${process.pid}-${name}`);
  await run(args(temporary));
  await rename(temporary, path);
  return path;
}

console.error('preparing inputs (cached in', cache, ')…');
// A 10 s 1080p30 H.264 clip (ultrafast, 2 s GOP), looped with -c copy: cheap on a shared 2-core box.
const clip = await cached('clip-1080p-10s-6m.mp4', (output) => [
  ...['-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30:duration=10'],
  ...['-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '6M', '-maxrate', '6M', '-bufsize', '6M'],
  ...['-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-pix_fmt', 'yuv420p', '-an', output],
]);
const bigClip = await cached('clip-1080p-10s-40m.mp4', (output) => [
  ...['-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30:duration=10', '-vf', 'noise=alls=40:allf=t'],
  ...['-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '40M', '-maxrate', '40M', '-bufsize', '40M'],
  ...['-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-pix_fmt', 'yuv420p', '-an', output],
]);
const video180 = await cached('h264-1080p-180s.mp4', (output) => [
  ...['-stream_loop', '17', '-i', clip, '-c', 'copy', '-t', '180', output],
]);
const audio180 = await cached('aac-180s.m4a', (output) => [
  ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=180', '-ac', '2'],
  ...['-c:a', 'aac', '-b:a', '128k', output],
]);
const largeDurationS = 200;
const videoLarge = skipLarge
  ? video180
  : await cached('h264-1080p-large.mp4', (output) => [
      ...['-stream_loop', '-1', '-i', bigClip, '-c', 'copy', '-t', String(largeDurationS), output],
    ]);
const audioLarge = skipLarge
  ? audio180
  : await cached('aac-large.m4a', (output) => [
      ...['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${largeDurationS}`, '-ac', '2'],
      ...['-c:a', 'aac', '-b:a', '128k', output],
    ]);
// A 600 × 600 JPEG cover (about what a music service's "medium" cover weighs), for the tagged runs.
const cover = await cached('cover-600.jpg', (output) => [
  ...['-f', 'lavfi', '-i', 'testsrc2=size=600x600', '-frames:v', '1', '-q:v', '3', output],
]);
const sizeOf = async (path: string) => (await stat(path)).size;
const pair180Bytes = (await sizeOf(video180)) + (await sizeOf(audio180));
const pairLargeBytes = (await sizeOf(videoLarge)) + (await sizeOf(audioLarge));
console.error(
  `180 s pair: ${(pair180Bytes / 1e6).toFixed(1)} MB; large pair: ${(pairLargeBytes / 1e6).toFixed(1)} MB`,
);

/** Native ffmpeg, same mapping and muxer options, output discarded. Wall time in ms. */
function native(video: string, audio: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(
      ffmpeg,
      [
        ...['-v', 'error', '-i', video, '-i', audio, '-map', '0:v:0', '-map', '1:a:0', '-c', 'copy'],
        ...['-movflags', 'frag_keyframe+empty_moov+default_base_moof', '-f', 'mp4', '-y', '/dev/null'],
      ],
      { stdio: 'ignore' },
    );
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(performance.now() - started) : reject(new Error(`ffmpeg ${code}`)),
    );
  });
}

// The page: the built package (dist/) with an import map for its dependencies, libav.js, mediabunny.
const packageDist = dirname(fileURLToPath(import.meta.resolve('@nexstream/edge-muxer')));
const coreDist = dirname(fileURLToPath(import.meta.resolve('@nexstream/core')));
const workspaceModules = join(packageDist, '../../../node_modules');
const staticDirectories: Record<string, string> = {
  '/pkg/edge-muxer/': packageDist,
  '/pkg/core/': coreDist,
  '/pkg/eventsource-parser/': join(workspaceModules, 'eventsource-parser/dist'),
  '/pkg/mediabunny/': join(workspaceModules, 'mediabunny/dist/bundles'),
};
const libavFiles = new Map(
  libavAssets.map((asset) => [
    asset.fileName,
    {
      path: join(dirname(fileURLToPath(import.meta.resolve(asset.packageName))), asset.fileName),
      type: asset.contentType,
    },
  ]),
);
const page = `<!doctype html><meta charset="utf-8"><body>
<script type="importmap">{"imports":{"@nexstream/core":"/pkg/core/index.js","eventsource-parser":"/pkg/eventsource-parser/index.js"}}</script>
<script type="module">
import * as edgeMuxer from '/pkg/edge-muxer/index.js';
import * as mediabunny from '/pkg/mediabunny/mediabunny.mjs';
// Blob inputs (files the user picked): fetched once, outside every measurement, shared by both muxers.
const blobs = new Map();
window.prepareBlobs = async (urls) => {
  for (const url of urls) if (!blobs.has(url)) blobs.set(url, await (await fetch(url)).blob());
};
const input = (url, fromBlob) => (fromBlob ? blobs.get(url) : url);
// Tags and a cover fetched by URL, as the web app passes them: what tagging costs a job.
const metadata = { title: 'Halo', artist: ['Beyoncé'], album: 'I Am… Sasha Fierce', year: '2008', cover: { url: '/media/cover' } };
window.runOurs = async (videoUrl, audioUrl, fromBlob, engine, tagged) => {
  let heap = 0;
  let timings;
  const started = performance.now();
  const stream = edgeMuxer.mux({ video: input(videoUrl, fromBlob), audio: input(audioUrl, fromBlob), container: 'mp4', writer: engine,
    ...(tagged ? { metadata } : {}), onWarning: (warning) => { throw new Error(warning.message); },
    workerUrl: '/pkg/edge-muxer/browser/worker.js', libavBaseUrl: '/libav/',
    onProgress: (p) => { heap = Math.max(heap, p.wasmHeapBytes ?? 0); if (p.timingsMs) timings = p.timingsMs; if (p.writer) usedEngine = p.writer; } });
  let usedEngine;
  let bytes = 0;
  let firstByteMs;
  const reader = stream.getReader();
  for (;;) { const { done, value } = await reader.read(); if (done) break; firstByteMs ??= performance.now() - started; bytes += value.byteLength; }
  return { ms: performance.now() - started, bytes, heap, firstByteMs, timings, engine: usedEngine };
};
// A straightforward mediabunny remux of the same inputs: EncodedPacketSink -> Encoded*PacketSource,
// fragmented MP4 to a null StreamTarget. UrlSource for URL inputs, BlobSource for Blob inputs.
window.runMediabunny = async (videoUrl, audioUrl, fromBlob) => {
  const started = performance.now();
  const sourceOf = (url) => (fromBlob ? new mediabunny.BlobSource(blobs.get(url)) : new mediabunny.UrlSource(url));
  const video = new mediabunny.Input({ source: sourceOf(videoUrl), formats: mediabunny.ALL_FORMATS });
  const audio = new mediabunny.Input({ source: sourceOf(audioUrl), formats: mediabunny.ALL_FORMATS });
  const videoTrack = await video.getPrimaryVideoTrack();
  const audioTrack = await audio.getPrimaryAudioTrack();
  let bytes = 0;
  const output = new mediabunny.Output({
    format: new mediabunny.Mp4OutputFormat({ fastStart: 'fragmented' }),
    target: new mediabunny.StreamTarget(new WritableStream({ write(chunk) { bytes += chunk.data.byteLength; } })),
  });
  const videoSource = new mediabunny.EncodedVideoPacketSource(await videoTrack.getCodec());
  const audioSource = new mediabunny.EncodedAudioPacketSource(await audioTrack.getCodec());
  output.addVideoTrack(videoSource);
  output.addAudioTrack(audioSource);
  await output.start();
  const copy = async (track, source) => {
    const decoderConfig = await track.getDecoderConfig();
    let first = true;
    for await (const packet of new mediabunny.EncodedPacketSink(track).packets()) {
      await source.add(packet, first ? { decoderConfig } : undefined);
      first = false;
    }
    source.close();
  };
  await Promise.all([copy(videoTrack, videoSource), copy(audioTrack, audioSource)]);
  await output.finalize();
  return { ms: performance.now() - started, bytes };
};
window.runFetch = async (urls) => {
  const started = performance.now();
  let bytes = 0;
  await Promise.all(urls.map(async (url) => {
    const reader = (await fetch(url, { cache: 'no-store' })).body.getReader();
    for (;;) { const { done, value } = await reader.read(); if (done) break; bytes += value.byteLength; }
  }));
  return { ms: performance.now() - started, bytes };
};
window.benchReady = true;
</script></body>`;

const mediaFiles = new Map<string, { path: string; size: number }>();
for (const [name, path] of Object.entries({
  'video-180': video180,
  'audio-180': audio180,
  'video-large': videoLarge,
  'audio-large': audioLarge,
  cover,
})) {
  mediaFiles.set(`/media/${name}`, { path, size: await sizeOf(path) });
}
const sockets = new Set<Socket>();
const server = createServer((request, response) => {
  const path = (request.url ?? '/').split('?')[0] ?? '/';
  if (path === '/') {
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end(page);
    return;
  }
  const send = (file: string, type: string) => {
    if (!existsSync(file)) {
      response.writeHead(404);
      response.end();
      return;
    }
    // Versioned file names: cacheable, so Chromium keeps the compiled wasm as production would.
    response.writeHead(200, { 'content-type': type, 'cache-control': 'public, max-age=31536000, immutable' });
    createReadStream(file).pipe(response);
  };
  if (path.startsWith('/libav/')) {
    const file = libavFiles.get(path.slice(7));
    if (file) return send(file.path, file.type);
  }
  for (const [prefix, directory] of Object.entries(staticDirectories)) {
    if (path.startsWith(prefix) && !path.includes('..')) {
      return send(
        join(directory, path.slice(prefix.length)),
        path.endsWith('.js') || path.endsWith('.mjs') ? 'text/javascript' : 'application/octet-stream',
      );
    }
  }
  const media = mediaFiles.get(path);
  if (media !== undefined) {
    // Range requests served straight from disk (one process hop less than proxying the testkit origin).
    const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    const end = range?.[2] ? Math.min(Number(range[2]), media.size - 1) : media.size - 1;
    if (start >= media.size) {
      response.writeHead(416, { 'content-range': `bytes */${media.size}` });
      response.end();
      return;
    }
    response.writeHead(range ? 206 : 200, {
      'content-type': 'application/octet-stream',
      'accept-ranges': 'bytes',
      'content-length': String(end - start + 1),
      ...(range ? { 'content-range': `bytes ${start}-${end}/${media.size}` } : {}),
    });
    const body = createReadStream(media.path, { start, end, highWaterMark: 1 << 20 });
    response.on('close', () => body.destroy());
    body.pipe(response);
    return;
  }
  response.writeHead(404);
  response.end();
});
server.on('connection', (socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const siteUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

// A foreground tab that is never throttled (background timers, renderer backgrounding), so every
// figure measures the work, not the scheduler.
const browser = await launchChromium({
  args: [
    '--disable-background-timer-throttling',
    '--disable-renderer-backgrounding',
    '--disable-backgrounding-occluded-windows',
  ],
});
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const mbPerSecond = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);
const round = (value: number, digits = 1) => Number(value.toFixed(digits));
/** Resident memory (MB) of every process this script started (Chromium's), summed, from /proc. */
function browserRssMb(): number {
  let pages = 0;
  for (const pid of childProcessIds()) {
    try {
      pages += Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
    } catch {
      // Exited meanwhile.
    }
  }
  return (pages * 4096) / 1e6;
}

/** Runs `job` while sampling the browser's memory; resolves with its result and the growth (MB) over the start. */
async function withRssGrowth<T>(job: () => Promise<T>): Promise<[T, number]> {
  const before = browserRssMb();
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, browserRssMb());
  }, 20);
  try {
    const result = await job();
    peak = Math.max(peak, browserRssMb());
    return [result, peak - before];
  } finally {
    clearInterval(timer);
  }
}

try {
  const tab = await browser.newPage();
  tab.on('pageerror', (error) => console.error('page error:', error.message));
  await tab.goto(siteUrl);
  await tab.waitForFunction(() => (window as unknown as { benchReady?: boolean }).benchReady === true);
  type Ours = {
    ms: number;
    bytes: number;
    heap: number;
    firstByteMs: number;
    engine?: string;
    timings?: Record<string, number>;
  };
  type Engine = 'auto' | 'libav';
  type Page = {
    runOurs: (v: string, a: string, b: boolean, e: Engine, t: boolean) => Promise<Ours>;
    runMediabunny: (v: string, a: string, b: boolean) => Promise<{ ms: number; bytes: number }>;
    runFetch: (urls: string[]) => Promise<{ ms: number; bytes: number }>;
    prepareBlobs: (urls: string[]) => Promise<void>;
  };
  const ours = (video: string, audio: string, fromBlob: boolean, engine: Engine = 'auto', tagged = false) =>
    tab.evaluate(
      ([v, a, b, e, t]) =>
        (window as unknown as Page).runOurs(
          v as string,
          a as string,
          b as boolean,
          e as Engine,
          t as boolean,
        ),
      [video, audio, fromBlob, engine, tagged] as const,
    );
  const bunny = (video: string, audio: string, fromBlob: boolean) =>
    tab.evaluate(
      ([v, a, b]) => (window as unknown as Page).runMediabunny(v as string, a as string, b as boolean),
      [video, audio, fromBlob] as const,
    );
  const [video, audio] = ['/media/video-180', '/media/audio-180'];
  await tab.evaluate((urls) => (window as unknown as Page).prepareBlobs(urls), [video, audio]);
  // Warm-up, every muxer and input mode: JIT, and Chromium's code cache for the libav.js wasm (its
  // compile is then cached for every measured job, as in production with immutable file names);
  // mediabunny's module is loaded once with the page, so nobody pays a compile in the figures.
  for (const fromBlob of [false, true]) {
    await ours(video, audio, fromBlob);
    await ours(video, audio, fromBlob, 'auto', true);
    await ours(video, audio, fromBlob, 'libav');
    await bunny(video, audio, fromBlob);
  }
  const fetched = await tab.evaluate((urls) => (window as unknown as Page).runFetch(urls), [video, audio]);
  console.error(`fetch only (page, both inputs): ${mbPerSecond(fetched.bytes, fetched.ms).toFixed(0)} MB/s`);
  const oursUrl: Ours[] = [];
  const oursFile: Ours[] = [];
  const taggedFile: Ours[] = [];
  const libavFile: Ours[] = [];
  const nativeMs: number[] = [];
  const bunnyUrlMs: number[] = [];
  const bunnyFileMs: number[] = [];
  const rssGrowth: number[] = [];
  for (let index = 0; index < runs; index++) {
    // Interleaved so that background load on the shared machine hits all of them alike.
    const [urlRun, growth] = await withRssGrowth(() => ours(video, audio, false));
    oursUrl.push(urlRun);
    rssGrowth.push(growth);
    nativeMs.push(await native(video180, audio180));
    bunnyUrlMs.push((await bunny(video, audio, false)).ms);
    oursFile.push(await ours(video, audio, true));
    taggedFile.push(await ours(video, audio, true, 'auto', true));
    bunnyFileMs.push((await bunny(video, audio, true)).ms);
    libavFile.push(await ours(video, audio, true, 'libav'));
    console.error(
      `run ${index + 1}: files: ours ${oursFile.at(-1)!.ms.toFixed(0)} ms (${oursFile.at(-1)!.engine}), tagged ${taggedFile.at(-1)!.ms.toFixed(0)} ms, libav.js ${libavFile.at(-1)!.ms.toFixed(0)} ms, mediabunny ${bunnyFileMs.at(-1)!.toFixed(0)} ms | URLs: ours ${oursUrl.at(-1)!.ms.toFixed(0)} ms, mediabunny ${bunnyUrlMs.at(-1)!.toFixed(0)} ms | native ${nativeMs.at(-1)!.toFixed(0)} ms`,
    );
  }
  if (
    [...oursFile, ...taggedFile].some((run) => run.engine !== 'mp4') ||
    libavFile.some((run) => run.engine !== 'libav')
  ) {
    throw new Error('a run did not use the writer it was meant to measure');
  }
  /** Medians of where the Worker's time went (diagnostics the Worker reports with its last progress). */
  const phases = (list: Ours[]) => {
    const of = (key: string) => median(list.map((run) => run.timings?.[key] ?? 0));
    return {
      first_byte_ms: round(median(list.map((run) => run.firstByteMs)), 0),
      muxing_at_ms: round(of('muxingAtMs'), 0),
      mux_phase_ms: round(of('finishingAtMs') - of('muxingAtMs'), 0),
      output_wait_ms: round(of('outputMs'), 0),
    };
  };
  console.error('direct writer, file inputs, per phase (medians):', JSON.stringify(phases(oursFile)));
  console.error('direct writer, URL inputs, per phase (medians):', JSON.stringify(phases(oursUrl)));
  console.error('libav.js, file inputs, per phase (medians):', JSON.stringify(phases(libavFile)));
  let large: Record<string, number> = {};
  if (!skipLarge) {
    const [video, audio] = ['/media/video-large', '/media/audio-large'];
    const [largeUrl, largeGrowth] = await withRssGrowth(() => ours(video, audio, false));
    const largeNativeMs = await native(videoLarge, audioLarge);
    const largeLibav = await ours(video, audio, false, 'libav');
    await tab.evaluate((urls) => (window as unknown as Page).prepareBlobs(urls), [video, audio]);
    const largeFile = await ours(video, audio, true);
    const largeNativeAgainMs = await native(videoLarge, audioLarge);
    const nativeLargeMs = (largeNativeMs + largeNativeAgainMs) / 2;
    console.error(
      `large: ours ${largeFile.ms.toFixed(0)} ms (files), ${largeUrl.ms.toFixed(0)} ms (URLs, browser memory +${largeGrowth.toFixed(0)} MB); libav.js ${largeLibav.ms.toFixed(0)} ms (URLs, wasm heap ${(largeLibav.heap / 2 ** 20).toFixed(0)} MiB); native ${largeNativeMs.toFixed(0)} / ${largeNativeAgainMs.toFixed(0)} ms`,
    );
    large = {
      input_large_mb: round(pairLargeBytes / 1e6),
      ratio_vs_native_large: round(nativeLargeMs / largeFile.ms, 2),
      ratio_vs_native_large_url: round(nativeLargeMs / largeUrl.ms, 2),
      ours_large_mb_per_s: round(mbPerSecond(pairLargeBytes, largeFile.ms)),
      browser_rss_growth_large_mb: round(largeGrowth),
      wasm_heap_peak_mb: round(largeLibav.heap / 2 ** 20),
    };
  }
  const oursFileMs = median(oursFile.map((run) => run.ms));
  const oursUrlMs = median(oursUrl.map((run) => run.ms));
  const libavFileMs = median(libavFile.map((run) => run.ms));
  const taggedFileMs = median(taggedFile.map((run) => run.ms));
  const fetchOnlyMs = fetched.ms;
  const figures = {
    input_180s_mb: round(pair180Bytes / 1e6),
    output_180s_mb: round((oursFile.at(-1)?.bytes ?? 0) / 1e6),
    inputs: 'files (Blob): native ffmpeg reads the same files from disk; URL figures below',
    ours_mb_per_s: round(mbPerSecond(pair180Bytes, oursFileMs)),
    native_mb_per_s: round(mbPerSecond(pair180Bytes, median(nativeMs))),
    mediabunny_mb_per_s: round(mbPerSecond(pair180Bytes, median(bunnyFileMs))),
    ratio_vs_native: round(median(nativeMs) / oursFileMs, 2),
    ratio_vs_mediabunny: round(median(bunnyFileMs) / oursFileMs, 2),
    tagged_mb_per_s: round(mbPerSecond(pair180Bytes, taggedFileMs)),
    ratio_tagged_vs_untagged: round(oursFileMs / taggedFileMs, 2),
    tagged_first_byte_ms: round(median(taggedFile.map((run) => run.firstByteMs)), 0),
    ours_url_mb_per_s: round(mbPerSecond(pair180Bytes, oursUrlMs)),
    fetch_only_mb_per_s: round(mbPerSecond(fetched.bytes, fetchOnlyMs)),
    ratio_vs_native_url: round(median(nativeMs) / oursUrlMs, 2),
    ratio_vs_mediabunny_url: round(median(bunnyUrlMs) / oursUrlMs, 2),
    ratio_url_vs_fetch_only: round(fetchOnlyMs / oursUrlMs, 2),
    libav_mb_per_s: round(mbPerSecond(pair180Bytes, libavFileMs)),
    libav_ratio_vs_native: round(median(nativeMs) / libavFileMs, 2),
    libav_ratio_vs_mediabunny: round(median(bunnyFileMs) / libavFileMs, 2),
    ours_first_byte_ms: round(median(oursFile.map((run) => run.firstByteMs)), 0),
    browser_rss_growth_180s_mb: round(median(rssGrowth)),
    ...large,
    runs,
  };
  console.log(JSON.stringify(figures));
} finally {
  await browser.close();
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    for (const socket of sockets) socket.destroy();
  });
}
