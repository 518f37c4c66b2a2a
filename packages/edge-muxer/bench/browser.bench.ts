// Benchmark: in-browser stream copy (libav.js in our Worker) vs native `ffmpeg -c copy` vs a
// straightforward mediabunny remux in the same page, on 180 s of 1080p H.264 + AAC and a ~1 GB pair.
// Every output goes to a null sink. Prints, as its LAST line, one JSON object with the figures
// (medians; native measured in the same run). Run: npx turbo run build --filter=@nexstream/edge-muxer... &&
// npm run bench:browser -w @nexstream/edge-muxer
import { execFile, spawn } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, rename, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { locateProgram } from '@nexstream/core/node';
import { libavAssets } from '@nexstream/edge-muxer';
import { launchChromium, sampleCacheDirectory } from '@nexstream/testkit';

const runs = Number(process.env.BENCH_RUNS ?? 3);
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
window.runOurs = async (video, audio) => {
  let heap = 0;
  const started = performance.now();
  const stream = edgeMuxer.mux({ video, audio, container: 'mp4', workerUrl: '/pkg/edge-muxer/browser/worker.js',
    libavBaseUrl: '/libav/', onProgress: (p) => { heap = Math.max(heap, p.wasmHeapBytes ?? 0); } });
  let bytes = 0;
  const reader = stream.getReader();
  for (;;) { const { done, value } = await reader.read(); if (done) break; bytes += value.byteLength; }
  return { ms: performance.now() - started, bytes, heap };
};
window.runMediabunny = async (videoUrl, audioUrl, fromMemory) => {
  const blobs = fromMemory ? await Promise.all([videoUrl, audioUrl].map(async (url) => (await fetch(url)).blob())) : undefined;
  const started = performance.now();
  const sourceOf = (index, url) => (blobs ? new mediabunny.BlobSource(blobs[index]) : new mediabunny.UrlSource(url));
  const video = new mediabunny.Input({ source: sourceOf(0, videoUrl), formats: mediabunny.ALL_FORMATS });
  const audio = new mediabunny.Input({ source: sourceOf(1, audioUrl), formats: mediabunny.ALL_FORMATS });
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
window.runOursFromMemory = async (videoUrl, audioUrl) => {
  // Blob inputs: the same mux without the network (what a page does with files the user picked).
  const [video, audio] = await Promise.all([videoUrl, audioUrl].map(async (url) => (await fetch(url)).blob()));
  const started = performance.now();
  const stream = edgeMuxer.mux({ video, audio, container: 'mp4', workerUrl: '/pkg/edge-muxer/browser/worker.js', libavBaseUrl: '/libav/' });
  let bytes = 0;
  const reader = stream.getReader();
  for (;;) { const { done, value } = await reader.read(); if (done) break; bytes += value.byteLength; }
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

const browser = await launchChromium();
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const mbPerSecond = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);
try {
  const tab = await browser.newPage();
  tab.on('pageerror', (error) => console.error('page error:', error.message));
  await tab.goto(siteUrl);
  await tab.waitForFunction(() => (window as unknown as { benchReady?: boolean }).benchReady === true);
  type Ours = { ms: number; bytes: number; heap: number };
  const ours = (video: string, audio: string) =>
    tab.evaluate(
      ([v, a]) => (window as unknown as { runOurs: (v: string, a: string) => Promise<Ours> }).runOurs(v!, a!),
      [video, audio],
    );
  const bunny = (video: string, audio: string) =>
    tab.evaluate(
      ([v, a]) =>
        (
          window as unknown as {
            runMediabunny: (v: string, a: string, m: boolean) => Promise<{ ms: number; bytes: number }>;
          }
        ).runMediabunny(v!, a!, false),
      [video, audio],
    );

  await ours('/media/video-180', '/media/audio-180'); // warm-up: wasm compile, caches
  // The ceilings of this setup: how fast the page can only fetch the inputs, and our mux from memory.
  const fetched = await tab.evaluate(() =>
    (window as unknown as { runFetch: (urls: string[]) => Promise<{ ms: number; bytes: number }> }).runFetch([
      '/media/video-180',
      '/media/audio-180',
    ]),
  );
  const fromMemory = await tab.evaluate(() =>
    (
      window as unknown as {
        runOursFromMemory: (v: string, a: string) => Promise<{ ms: number; bytes: number }>;
      }
    ).runOursFromMemory('/media/video-180', '/media/audio-180'),
  );
  const bunnyFromMemory = await tab.evaluate(() =>
    (
      window as unknown as {
        runMediabunny: (v: string, a: string, m: boolean) => Promise<{ ms: number; bytes: number }>;
      }
    ).runMediabunny('/media/video-180', '/media/audio-180', true),
  );
  console.error(
    `fetch only: ${mbPerSecond(fetched.bytes, fetched.ms).toFixed(0)} MB/s; from memory: ours ${mbPerSecond(pair180Bytes, fromMemory.ms).toFixed(0)} MB/s, mediabunny ${mbPerSecond(pair180Bytes, bunnyFromMemory.ms).toFixed(0)} MB/s (${(bunnyFromMemory.bytes / 1e6).toFixed(1)} MB out)`,
  );
  const oursMs: number[] = [];
  const nativeMs: number[] = [];
  const bunnyMs: number[] = [];
  let oursBytes = 0;
  for (let index = 0; index < runs; index++) {
    // Interleaved so that background load on the shared machine hits all three alike.
    const result = await ours('/media/video-180', '/media/audio-180');
    oursMs.push(result.ms);
    oursBytes = result.bytes;
    nativeMs.push(await native(video180, audio180));
    bunnyMs.push((await bunny('/media/video-180', '/media/audio-180')).ms);
    console.error(
      `run ${index + 1}: ours ${result.ms.toFixed(0)} ms, native ${nativeMs.at(-1)!.toFixed(0)} ms, mediabunny ${bunnyMs.at(-1)!.toFixed(0)} ms`,
    );
  }
  let largeOurs: Ours | undefined;
  let largeNativeMs: number | undefined;
  if (!skipLarge) {
    largeOurs = await ours('/media/video-large', '/media/audio-large');
    largeNativeMs = await native(videoLarge, audioLarge);
    console.error(
      `large: ours ${largeOurs.ms.toFixed(0)} ms (heap ${(largeOurs.heap / 2 ** 20).toFixed(0)} MiB), native ${largeNativeMs.toFixed(0)} ms`,
    );
  }
  const figures = {
    input_180s_mb: Number((pair180Bytes / 1e6).toFixed(1)),
    output_180s_mb: Number((oursBytes / 1e6).toFixed(1)),
    ours_mb_per_s: Number(mbPerSecond(pair180Bytes, median(oursMs)).toFixed(1)),
    native_mb_per_s: Number(mbPerSecond(pair180Bytes, median(nativeMs)).toFixed(1)),
    mediabunny_mb_per_s: Number(mbPerSecond(pair180Bytes, median(bunnyMs)).toFixed(1)),
    ratio_vs_native: Number((median(nativeMs) / median(oursMs)).toFixed(2)),
    ratio_vs_mediabunny: Number((median(bunnyMs) / median(oursMs)).toFixed(2)),
    ...(largeOurs === undefined || largeNativeMs === undefined
      ? {}
      : {
          input_large_mb: Number((pairLargeBytes / 1e6).toFixed(1)),
          ratio_vs_native_large: Number((largeNativeMs / largeOurs.ms).toFixed(2)),
          ours_large_mb_per_s: Number(mbPerSecond(pairLargeBytes, largeOurs.ms).toFixed(1)),
          wasm_heap_peak_mb: Number((largeOurs.heap / 2 ** 20).toFixed(1)),
        }),
    fetch_only_mb_per_s: Number(mbPerSecond(fetched.bytes, fetched.ms).toFixed(1)),
    ours_from_memory_mb_per_s: Number(mbPerSecond(pair180Bytes, fromMemory.ms).toFixed(1)),
    mediabunny_from_memory_mb_per_s: Number(mbPerSecond(pair180Bytes, bunnyFromMemory.ms).toFixed(1)),
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
