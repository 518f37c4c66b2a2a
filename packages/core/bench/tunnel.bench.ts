/**
 * Tunnel figures. A 200 MB file on the testkit media origin:
 * - throttled to 1 MB/s per connection: our tunnel (parallel ranges) against a sequential fetcher of 8 MB
 *   range chunks (the way cobalt and most downloaders fetch), on the same prefix of the file in the same run;
 * - unthrottled over loopback: the whole file through the tunnel (median of 3), RSS growth while it runs,
 *   and a small sweep of parallelism and chunk size.
 * Prints one JSON object as its last line.
 * Run: npx turbo run build --filter=@nexstream/core --filter=@nexstream/testkit && npm run bench:tunnel -w @nexstream/core
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTunnel, defaultTunnelChunkBytes, defaultTunnelParallel } from '@nexstream/core/node';
import { startMediaOrigin } from '@nexstream/testkit';
import { Agent, request } from 'undici';

const MiB = 1024 * 1024;
const fileBytes = 200 * 1000 * 1000;
const throttleBytesPerSecond = 1_000_000;
const prefixBytes = 48 * MiB;
const sequentialChunkBytes = 8 * 1000 * 1000;

function median(values: number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function round(value: number, digits = 2): number {
  return Number(value.toFixed(digits));
}

const client = new Agent({ keepAliveTimeout: 1000 });

async function drain(url: string, range?: string): Promise<number> {
  const response = await request(url, { dispatcher: client, headers: range ? { range } : {} });
  if (response.statusCode !== 200 && response.statusCode !== 206) {
    throw new Error(`${url} answered ${response.statusCode}: ${await response.body.text()}`);
  }
  let received = 0;
  for await (const piece of response.body as AsyncIterable<Uint8Array>) received += piece.byteLength;
  return received;
}

/** cobalt's way: sequential 8 MB Range requests, one at a time. */
async function sequentialFetch(url: string, totalBytes: number): Promise<number> {
  let received = 0;
  for (let start = 0; start < totalBytes; start += sequentialChunkBytes) {
    const end = Math.min(totalBytes, start + sequentialChunkBytes) - 1;
    received += await drain(url, `bytes=${start}-${end}`);
  }
  return received;
}

const scratch = await mkdtemp(join(tmpdir(), 'nxs-tunnel-bench-'));
const origin = await startMediaOrigin();
const servers: Array<{ close(): Promise<void> }> = [];

async function startTunnel(url: string, parallel: number, chunkBytes: number): Promise<string> {
  const tunnel = createTunnel({
    secret: randomBytes(32),
    allowedHosts: ['127.0.0.1:*'],
    allowLoopback: true,
    parallel,
    chunkBytes,
    lookupMedia: async () => ({ url, sizeBytes: fileBytes, contentType: 'video/mp4' }),
  });
  const server = createServer((req, res) => void tunnel.handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push({
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await tunnel.close();
    },
  });
  const token = tunnel.mintToken({ mediaId: 'bench', formatId: 'big' });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/tunnel/${token}`;
}

try {
  const path = join(scratch, 'big.bin');
  const handle = await open(path, 'w');
  const block = randomBytes(4 * 1000 * 1000);
  for (let index = 0; index < fileBytes / block.byteLength; index += 1) await handle.write(block);
  await handle.close();
  const originUrl = origin.add('big.mp4', path);

  const parallel = defaultTunnelParallel;
  const chunkBytes = defaultTunnelChunkBytes;
  const tunnelUrl = await startTunnel(originUrl, parallel, chunkBytes);

  // Throttled: the same prefix through both fetchers.
  origin.throttle(throttleBytesPerSecond);
  const tunnelSeconds: number[] = [];
  for (let run = 0; run < 3; run += 1) {
    const started = performance.now();
    const got = await drain(tunnelUrl, `bytes=0-${prefixBytes - 1}`);
    if (got !== prefixBytes) throw new Error(`tunnel delivered ${got} of ${prefixBytes} bytes`);
    tunnelSeconds.push((performance.now() - started) / 1000);
    console.log(`throttled tunnel run ${run + 1}: ${tunnelSeconds.at(-1)?.toFixed(2)} s`);
  }
  const sequentialStarted = performance.now();
  const sequentialGot = await sequentialFetch(originUrl, prefixBytes);
  if (sequentialGot !== prefixBytes) throw new Error(`sequential got ${sequentialGot} of ${prefixBytes}`);
  const sequentialSeconds = (performance.now() - sequentialStarted) / 1000;
  console.log(`throttled sequential 8 MB chunks: ${sequentialSeconds.toFixed(2)} s`);
  const speedup = sequentialSeconds / median(tunnelSeconds);

  // Unthrottled loopback: the whole file, RSS sampled while it runs.
  origin.throttle(undefined);
  globalThis.gc?.();
  const rssBefore = process.memoryUsage.rss();
  let rssPeak = rssBefore;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
  }, 20);
  const loopbackRates: number[] = [];
  for (let run = 0; run < 3; run += 1) {
    const started = performance.now();
    const got = await drain(tunnelUrl);
    if (got !== fileBytes) throw new Error(`tunnel delivered ${got} of ${fileBytes} bytes`);
    loopbackRates.push(fileBytes / 1e6 / ((performance.now() - started) / 1000));
    console.log(`loopback run ${run + 1}: ${loopbackRates.at(-1)?.toFixed(0)} MB/s`);
  }
  clearInterval(sampler);
  const directStarted = performance.now();
  await drain(originUrl);
  const directRate = fileBytes / 1e6 / ((performance.now() - directStarted) / 1000);

  const sweep: Array<{ parallel: number; chunk_mib: number; loopback_mb_s: number }> = [];
  for (const [sweepParallel, sweepChunkMiB] of [
    [2, 8],
    [4, 8],
    [8, 8],
    [6, 4],
    [6, 16],
  ] as const) {
    const url = await startTunnel(originUrl, sweepParallel, sweepChunkMiB * MiB);
    const started = performance.now();
    await drain(url);
    sweep.push({
      parallel: sweepParallel,
      chunk_mib: sweepChunkMiB,
      loopback_mb_s: round(fileBytes / 1e6 / ((performance.now() - started) / 1000), 0),
    });
  }

  console.log(
    JSON.stringify({
      file_mb: fileBytes / 1e6,
      throttle_bytes_per_second: throttleBytesPerSecond,
      throttled_prefix_mb: round(prefixBytes / 1e6, 1),
      note: `throttled comparison on the first ${round(prefixBytes / MiB, 0)} MiB of the 200 MB file for both fetchers, to keep the run short`,
      parallel,
      chunk_mib: chunkBytes / MiB,
      tunnel_throttled_s_median: round(median(tunnelSeconds)),
      sequential_throttled_s: round(sequentialSeconds),
      speedup_vs_sequential: round(speedup),
      speedup_target: round(0.9 * parallel, 2),
      loopback_mb_s: round(median(loopbackRates), 0),
      origin_direct_loopback_mb_s: round(directRate, 0),
      rss_growth_mb: round((rssPeak - rssBefore) / 1e6, 1),
      rss_bound_mb: round((parallel * chunkBytes) / 1e6, 1),
      sweep,
    }),
  );
} finally {
  for (const server of servers) await server.close();
  await client.close();
  await origin.close();
  await rm(scratch, { recursive: true, force: true });
}
