// CDN benchmark: a live channel behind nginx as a caching proxy (proxy_cache, proxy_cache_lock, origin
// Cache-Control honoured), with 100, 250 and 500 simulated viewers polling through it like hls.js (the media
// playlist every half target duration, each new segment once), on loopback with bounded concurrency. It
// counts the requests that reach the broadcaster (the origin) per second. Runs the package's TypeScript
// sources (`npm run bench:cdn`). Not part of `npm test`. The last line printed is one JSON object.
//
// Environment: CDN_BENCH_SECONDS (per level, default 20), CDN_BENCH_LEVELS (default "100,250,500"),
// CDN_BENCH_CONCURRENCY (requests in flight at once across all viewers, default 128), NGINX (default: PATH).
import { type ChildProcess, spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBroadcaster, createHttpHandler } from '@nexstream/hls-broadcaster';
import { freePort, runHlsViewers, sampleMedia } from '@nexstream/testkit';

const seconds = Number(process.env.CDN_BENCH_SECONDS ?? 20);
const levels = (process.env.CDN_BENCH_LEVELS ?? '100,250,500').split(',').map(Number);
const concurrency = Number(process.env.CDN_BENCH_CONCURRENCY ?? 128);
const segmentDurationS = 2;
const log = (message: string) => process.stderr.write(`${message}\n`);
const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** At most `limit` of the functions run at once; the others wait their turn. */
function nginxConfig(directory: string, port: number, originPort: number): string {
  return `
daemon off;
master_process off;
pid ${directory}/nginx.pid;
error_log ${directory}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${directory}/client-body;
  proxy_temp_path ${directory}/proxy-temp;
  fastcgi_temp_path ${directory}/fastcgi;
  uwsgi_temp_path ${directory}/uwsgi;
  scgi_temp_path ${directory}/scgi;
  proxy_cache_path ${directory}/cache levels=1:2 keys_zone=hls:10m max_size=256m inactive=10m use_temp_path=off;
  upstream origin {
    server 127.0.0.1:${originPort};
    keepalive 32;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache hls;
      # One request per expired object reaches the origin; the others wait for its answer.
      proxy_cache_lock on;
      proxy_cache_lock_timeout 5s;
      # Used only when the origin sends no Cache-Control/Expires: the origin's headers win.
      proxy_cache_valid 200 1s;
      # An expired playlist is revalidated with If-None-Match / If-Modified-Since (304 from the origin).
      proxy_cache_revalidate on;
      # The lock collapses requests for a new object; for an expired one, the requests that come while one
      # of them refreshes it get the copy being refreshed (at most one refresh old), as a CDN does.
      proxy_cache_use_stale updating;
      add_header X-Cache-Status $upstream_cache_status always;
    }
  }
}
`;
}

const work = await mkdtemp(join(tmpdir(), 'nxs-cdn-bench-'));
let nginx: ChildProcess | undefined;
let origin: Server | undefined;
const broadcaster = createBroadcaster({
  dataDir: join(work, 'data'),
  profile: { width: 160, height: 90, fps: 15, videoBitrateKbps: 150, audioBitrateKbps: 48, segmentDurationS },
});
// nginx goes with this process, however it ends.
const killNginx = () => {
  if (nginx && nginx.exitCode === null && nginx.signalCode === null) nginx.kill('SIGKILL');
};
process.on('exit', killNginx);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killNginx();
    process.exit(130);
  });
}

try {
  const channel = await broadcaster.create('main');
  await channel.ingest(
    createReadStream(await sampleMedia('h264-aac-mp4', { durationS: 8, width: 320, height: 180 })),
  );
  const handler = createHttpHandler({ channel, basePath: '/tv' });
  const originHits: string[] = [];
  origin = createServer((request, response) => {
    originHits.push(request.url ?? '');
    void handler(request, response);
  });
  await new Promise<void>((resolve) => origin?.listen(0, '127.0.0.1', resolve));
  const originPort = (origin.address() as AddressInfo).port;
  await channel.start();
  // Three segments in the window before anyone watches.
  const livePath = join(channel.hlsDirectory, channel.playlistName);
  for (let tries = 0; tries < 600; tries += 1) {
    const text = await readFile(livePath, 'utf8').catch(() => '');
    if (text.split('\n').filter((line) => line.endsWith('.ts')).length >= 3) break;
    await delay(100);
  }

  const nginxDirectory = join(work, 'nginx');
  await mkdir(nginxDirectory, { recursive: true });
  const port = await freePort();
  await writeFile(join(nginxDirectory, 'nginx.conf'), nginxConfig(nginxDirectory, port, originPort));
  const nginxErrors: string[] = [];
  nginx = spawn(
    process.env.NGINX ?? 'nginx',
    ['-p', nginxDirectory, '-c', join(nginxDirectory, 'nginx.conf'), '-e', join(nginxDirectory, 'error.log')],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  nginx.stderr?.on('data', (chunk: Buffer) => nginxErrors.push(chunk.toString()));
  const proxy = `http://127.0.0.1:${port}/tv`;
  for (let tries = 0; ; tries += 1) {
    if (nginx.exitCode !== null) throw new Error(`nginx exited: ${nginxErrors.join('')}`);
    const ready = await fetch(`${proxy}/hls/index.m3u8`).then(
      async (response) => {
        await response.arrayBuffer();
        return response.ok;
      },
      () => false,
    );
    if (ready) break;
    if (tries > 100) throw new Error(`nginx did not answer on ${port}: ${nginxErrors.join('')}`);
    await delay(100);
  }
  log(
    `nginx ${port} → origin ${originPort}; ${seconds} s per level, ${concurrency} requests in flight at most`,
  );

  const results: Array<{
    viewers: number;
    originPerS: number;
    viewerPerS: number;
    hitRatio: number;
    errors: number;
    skipped: number;
  }> = [];
  for (const viewers of levels) {
    const from = originHits.length;
    const stats = await runHlsViewers({
      playlistUrl: `${proxy}/hls/index.m3u8`,
      viewers,
      durationMs: seconds * 1000,
      segmentDurationS,
      concurrency,
      cacheStatusHeader: 'x-cache-status',
    });
    const elapsedS = stats.elapsedMs / 1000;
    const reached = originHits.slice(from);
    const originRequests = reached.length;
    const originPlaylists = reached.filter((url) => url.endsWith('.m3u8')).length;
    const hits = Object.entries(stats.statuses)
      .filter(([key]) => key.endsWith(' HIT'))
      .reduce((sum, [, count]) => sum + count, 0);
    const result = {
      viewers,
      originPerS: originRequests / elapsedS,
      viewerPerS: stats.requests / elapsedS,
      hitRatio: stats.requests === 0 ? 0 : hits / stats.requests,
      errors: stats.errors,
      skipped: stats.skippedSegments,
    };
    results.push(result);
    log(
      `${viewers} viewers: ${round(result.viewerPerS)} requests/s through nginx (${stats.segments} segments), ` +
        `${round(result.originPerS)} requests/s at the origin (${originPlaylists} playlists, ${originRequests - originPlaylists} segments), hit ratio ${round(result.hitRatio, 3)}, ${stats.errors} errors, ${stats.skippedSegments} segments skipped (viewer behind the window)`,
    );
  }
  await channel.stop();

  const perHundred = Object.fromEntries(
    results.map((result) => [String(result.viewers), round(result.originPerS / (result.viewers / 100), 3)]),
  );
  const originPerS = Object.fromEntries(
    results.map((result) => [String(result.viewers), round(result.originPerS)]),
  );
  const firstLevel = results[0] as (typeof results)[number];
  const lastLevel = results.at(-1) as (typeof results)[number];
  // Flat: the origin's load does not grow with the audience (the largest level within 1.5× the smallest),
  // so per 100 viewers it falls as the audience grows.
  const flat = lastLevel.originPerS <= firstLevel.originPerS * 1.5;
  console.log(
    JSON.stringify({
      viewers: Math.max(...levels),
      levels,
      seconds_per_level: seconds,
      origin_requests_per_s: originPerS,
      origin_requests_per_s_per_100_viewers: perHundred,
      viewer_requests_per_s: Object.fromEntries(
        results.map((result) => [String(result.viewers), round(result.viewerPerS)]),
      ),
      cache_hit_ratio: Object.fromEntries(
        results.map((result) => [String(result.viewers), round(result.hitRatio, 3)]),
      ),
      viewer_errors: results.reduce((sum, result) => sum + result.errors, 0),
      viewer_segments_skipped: results.reduce((sum, result) => sum + result.skipped, 0),
      playlist_cache_control: 'public, max-age=1',
      segment_cache_control: 'public, max-age=31536000, immutable',
      flat,
    }),
  );
} finally {
  killNginx();
  if (nginx && nginx.exitCode === null && nginx.signalCode === null) {
    await new Promise((resolve) => nginx?.once('exit', resolve));
  }
  origin?.closeAllConnections();
  await new Promise<void>((resolve) => (origin ? origin.close(() => resolve()) : resolve()));
  await broadcaster.close();
  await rm(work, { recursive: true, force: true });
}
