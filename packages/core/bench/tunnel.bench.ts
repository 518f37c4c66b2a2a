/**
 * Tunnel figures. A 200 MB file on the testkit media origin:
 * - throttled to 1 MB/s per connection: our tunnel (parallel ranges) against a sequential fetcher of 8 MB
 *   range chunks (the way cobalt and most downloaders fetch), on the same prefix of the file in the same run;
 * - unthrottled over loopback, in rounds so that noise from other work on the machine hits every path alike:
 *   the whole file through the tunnel in a process of its own, through nginx as a plain reverse proxy (also
 *   its own process, started here with a generated config), straight from the origin, and through the tunnel
 *   inside this process (sharing one thread with the origin and the client, as before); medians of 5;
 *   the tunnel process's RSS growth while it runs, and a small sweep of parallelism and chunk size.
 * Prints one JSON object as its last line. Without nginx on PATH (or `NGINX`), `nginx_proxy_mb_s` is null.
 * `--loopback-only` skips the throttled comparison (about 80 s) while working on the loopback path.
 * Run: npx turbo run build --filter=@nexstream/core --filter=@nexstream/testkit && npm run bench -w @nexstream/core
 */
import { type ChildProcess, fork, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTunnel, defaultTunnelChunkBytes, defaultTunnelParallel } from '@nexstream/core/node';
import { freePort, startMediaOrigin } from '@nexstream/testkit';
import { Agent, request } from 'undici';

const MiB = 1024 * 1024;
const fileBytes = 200 * 1000 * 1000;
const throttleBytesPerSecond = 1_000_000;
const prefixBytes = 48 * MiB;
const sequentialChunkBytes = 8 * 1000 * 1000;
const loopbackRounds = 5;

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

/** MB/s of one whole-file download from `url`; fails unless every byte arrives. */
async function wholeFileRate(url: string, what: string): Promise<number> {
  const started = performance.now();
  const got = await drain(url);
  if (got !== fileBytes) throw new Error(`${what} delivered ${got} of ${fileBytes} bytes`);
  return fileBytes / 1e6 / ((performance.now() - started) / 1000);
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

/**
 * The children this bench started; killed on every way out (normal end, a throw, Ctrl-C). nginx runs in a
 * process group of its own, killed as a group: a master killed alone leaves its worker running.
 */
const children = new Set<ChildProcess>();
const groups = new Set<ChildProcess>();

function forceKill(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  try {
    if (groups.has(child)) process.kill(-child.pid, 'SIGKILL');
    else child.kill('SIGKILL');
  } catch {
    // already gone
  }
}

function killChildren(): void {
  for (const child of children) forceKill(child);
}
process.once('exit', killChildren);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killChildren();
    try {
      rmSync(scratch, { recursive: true, force: true });
    } catch {
      // interrupted before the scratch directory existed
    }
    process.exit(130);
  });
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const late = await Promise.race([exited.then(() => false), sleep(3000).then(() => true)]);
    if (late) {
      forceKill(child);
      await exited;
    }
  }
  children.delete(child);
}

/** The tunnel in a child process (`tunnel-process.ts`), one tunnel server per `start`. */
async function startTunnelProcess(): Promise<{
  start(originUrl: string, parallel: number, chunkBytes: number): Promise<string>;
  rss(reset: boolean): Promise<{ baseline: number; peak: number; cpuMs: number }>;
  stop(): Promise<void>;
}> {
  const child = fork(new URL('./tunnel-process.ts', import.meta.url), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  let nextId = 0;
  const waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  child.on('message', (message: { id: number; type: string; message?: string }) => {
    const waiter = waiting.get(message.id);
    waiting.delete(message.id);
    if (message.type === 'error') waiter?.reject(new Error(`tunnel process: ${message.message}`));
    else waiter?.resolve(message);
  });
  child.once('exit', (code, signal) => {
    for (const waiter of waiting.values())
      waiter.reject(new Error(`tunnel process exited (${code ?? signal})`));
    waiting.clear();
  });
  const ask = <T>(message: Record<string, unknown>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      child.send({ ...message, id });
    });
  return {
    async start(originUrl, parallel, chunkBytes) {
      const answer = await ask<{ url: string }>({
        type: 'start',
        originUrl,
        sizeBytes: fileBytes,
        parallel,
        chunkBytes,
      });
      return answer.url;
    },
    rss: (reset) => ask({ type: reset ? 'rss-reset' : 'rss' }),
    stop: () => stopChild(child),
  };
}

/**
 * nginx as a plain reverse proxy in front of the origin, with a generated config in `directory`: one worker
 * (the tunnel is one thread too), no access log, keep-alive upstream connections over HTTP/1.1, and proxy
 * buffering on at its default 8 buffers of one page, but never spilling to a temp file (the tunnel never
 * touches the disk either). `{ missing }` when there is no nginx to run.
 */
async function startNginx(
  originBase: string,
  directory: string,
): Promise<
  | { url: string; binary: string; stop(): Promise<void>; cpuMs(): Promise<number | undefined> }
  | { missing: string }
> {
  const binary = process.env.NGINX ?? 'nginx';
  const probe = spawnSync(binary, ['-v'], { encoding: 'utf8' });
  if (probe.error) return { missing: `${binary} could not be run (${probe.error.message})` };
  await mkdir(directory, { recursive: true });
  // Workers run as `nobody` when this bench runs as root; they only need to reach the temp paths.
  await chmod(directory, 0o755);
  const port = await freePort();
  const upstream = new URL(originBase).host;
  const config = `worker_processes 1;
error_log ${directory}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${directory}/client-body;
  proxy_temp_path ${directory}/proxy;
  fastcgi_temp_path ${directory}/fastcgi;
  uwsgi_temp_path ${directory}/uwsgi;
  scgi_temp_path ${directory}/scgi;
  upstream media_origin {
    server ${upstream};
    keepalive 8;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://media_origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering on;
      proxy_max_temp_file_size 0;
    }
  }
}
`;
  await writeFile(join(directory, 'nginx.conf'), config);
  const child = spawn(
    binary,
    ['-p', directory, '-c', join(directory, 'nginx.conf'), '-g', `daemon off; pid ${directory}/nginx.pid;`],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  children.add(child);
  groups.add(child);
  let stderr = '';
  child.stderr?.on('data', (data: Buffer) => {
    stderr += data.toString();
  });
  const stop = async (): Promise<void> => {
    // SIGQUIT would wait for open connections; SIGTERM is nginx's fast shutdown, workers included.
    await stopChild(child, 'SIGTERM');
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = await readFile(join(directory, 'error.log'), 'utf8').catch(() => '');
      throw new Error(`nginx exited at start (${child.exitCode ?? child.signalCode}): ${stderr}${log}`);
    }
    const listening = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (listening) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`nginx did not listen on 127.0.0.1:${port} within 10 s: ${stderr}`);
    }
    await sleep(50);
  }
  return { url: `http://127.0.0.1:${port}`, binary, stop, cpuMs: () => workerCpuMs(child.pid) };
}

/** CPU time of nginx's workers so far in milliseconds (from /proc), or `undefined` where /proc cannot tell. */
async function workerCpuMs(masterPid: number | undefined): Promise<number | undefined> {
  try {
    const children = await readFile(`/proc/${masterPid}/task/${masterPid}/children`, 'utf8');
    let ticks = 0;
    for (const pid of children.trim().split(/\s+/).filter(Boolean)) {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
    }
    return (ticks * 1000) / clockTicksPerSecond;
  } catch {
    return undefined;
  }
}

const clockTicksPerSecond = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

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
  const throttled = !process.argv.includes('--loopback-only');
  origin.throttle(throttleBytesPerSecond);
  const tunnelSeconds: number[] = [];
  for (let run = 0; run < (throttled ? 3 : 0); run += 1) {
    const started = performance.now();
    const got = await drain(tunnelUrl, `bytes=0-${prefixBytes - 1}`);
    if (got !== prefixBytes) throw new Error(`tunnel delivered ${got} of ${prefixBytes} bytes`);
    tunnelSeconds.push((performance.now() - started) / 1000);
    console.log(`throttled tunnel run ${run + 1}: ${tunnelSeconds.at(-1)?.toFixed(2)} s`);
  }
  const sequentialStarted = performance.now();
  const sequentialGot = throttled ? await sequentialFetch(originUrl, prefixBytes) : prefixBytes;
  if (sequentialGot !== prefixBytes) throw new Error(`sequential got ${sequentialGot} of ${prefixBytes}`);
  const sequentialSeconds = (performance.now() - sequentialStarted) / 1000;
  if (throttled) console.log(`throttled sequential 8 MB chunks: ${sequentialSeconds.toFixed(2)} s`);
  const speedup = sequentialSeconds / median(tunnelSeconds);

  // Unthrottled loopback: every path once per round, so noise from the shared machine hits them alike.
  origin.throttle(undefined);
  const tunnelProcess = await startTunnelProcess();
  servers.push({ close: () => tunnelProcess.stop() });
  const processTunnelUrl = await tunnelProcess.start(originUrl, parallel, chunkBytes);
  const nginx = await startNginx(origin.url, join(scratch, 'nginx'));
  if ('missing' in nginx) {
    console.log(
      `nginx_proxy_mb_s: null — ${nginx.missing}; install nginx (apt-get install nginx-light) or set NGINX`,
    );
  } else {
    servers.push({ close: () => nginx.stop() });
    console.log(
      `nginx: ${nginx.binary} at ${nginx.url}, worker_processes 1, proxy_buffering on (defaults), no temp files`,
    );
  }
  const nginxFileUrl = 'missing' in nginx ? undefined : `${nginx.url}${new URL(originUrl).pathname}`;
  const rates = {
    tunnel: [] as number[],
    nginx: [] as number[],
    direct: [] as number[],
    inProcess: [] as number[],
  };
  // One warm-up through each proxy (connection pools, JIT), not counted.
  await wholeFileRate(processTunnelUrl, 'the tunnel process');
  if (nginxFileUrl) await wholeFileRate(nginxFileUrl, 'nginx');
  const tunnelBefore = await tunnelProcess.rss(true);
  const nginxCpuBefore = 'missing' in nginx ? undefined : await nginx.cpuMs();
  for (let run = 0; run < loopbackRounds; run += 1) {
    rates.tunnel.push(await wholeFileRate(processTunnelUrl, 'the tunnel process'));
    if (nginxFileUrl) rates.nginx.push(await wholeFileRate(nginxFileUrl, 'nginx'));
    rates.direct.push(await wholeFileRate(originUrl, 'the origin'));
    rates.inProcess.push(await wholeFileRate(tunnelUrl, 'the in-process tunnel'));
    console.log(
      `loopback round ${run + 1}: tunnel ${rates.tunnel.at(-1)?.toFixed(0)} MB/s, nginx ${
        nginxFileUrl ? `${rates.nginx.at(-1)?.toFixed(0)} MB/s` : 'n/a'
      }, direct ${rates.direct.at(-1)?.toFixed(0)} MB/s, tunnel in the bench process ${rates.inProcess.at(-1)?.toFixed(0)} MB/s`,
    );
  }
  const rss = await tunnelProcess.rss(false);
  const nginxCpuAfter = 'missing' in nginx ? undefined : await nginx.cpuMs();
  const gigabytes = (loopbackRounds * fileBytes) / 1e9;
  const tunnelCpuSPerGb = (rss.cpuMs - tunnelBefore.cpuMs) / 1000 / gigabytes;
  const nginxCpuSPerGb =
    nginxCpuBefore === undefined || nginxCpuAfter === undefined
      ? undefined
      : (nginxCpuAfter - nginxCpuBefore) / 1000 / gigabytes;
  const tunnelRate = median(rates.tunnel);
  const nginxRate = nginxFileUrl ? median(rates.nginx) : undefined;

  const sweep: Array<{ parallel: number; chunk_mib: number; loopback_mb_s: number }> = [];
  for (const [sweepParallel, sweepChunkMiB] of [
    [2, 8],
    [4, 8],
    [8, 8],
    [6, 4],
    [6, 16],
  ] as const) {
    const url = await tunnelProcess.start(originUrl, sweepParallel, sweepChunkMiB * MiB);
    sweep.push({
      parallel: sweepParallel,
      chunk_mib: sweepChunkMiB,
      loopback_mb_s: round(await wholeFileRate(url, 'the tunnel process'), 0),
    });
  }

  console.log(
    JSON.stringify({
      file_mb: fileBytes / 1e6,
      throttle_bytes_per_second: throttleBytesPerSecond,
      throttled_prefix_mb: round(prefixBytes / 1e6, 1),
      note:
        `throttled comparison on the first ${round(prefixBytes / MiB, 0)} MiB of the 200 MB file for both fetchers, to keep the run short; ` +
        `loopback figures are medians of ${loopbackRounds} interleaved rounds; loopback_mb_s is the tunnel in its own process, like nginx ` +
        '(worker_processes 1, proxy_buffering on with default buffers, no temp files); loopback_in_process_mb_s is the tunnel ' +
        'sharing the bench thread with the origin and the client (the figure quoted before issue 18); *_cpu_s_per_gb is ' +
        'CPU time (user + system) of the tunnel process and of the nginx worker per GB proxied, steadier than MB/s on a busy machine',
      parallel,
      chunk_mib: chunkBytes / MiB,
      tunnel_throttled_s_median: round(median(tunnelSeconds)),
      sequential_throttled_s: round(sequentialSeconds),
      speedup_vs_sequential: round(speedup),
      speedup_target: round(0.9 * parallel, 2),
      loopback_mb_s: round(tunnelRate, 0),
      origin_direct_loopback_mb_s: round(median(rates.direct), 0),
      loopback_in_process_mb_s: round(median(rates.inProcess), 0),
      nginx_proxy_mb_s: nginxRate === undefined ? null : round(nginxRate, 0),
      tunnel_vs_nginx: nginxRate === undefined ? null : round(tunnelRate / nginxRate),
      tunnel_vs_nginx_target: 0.5,
      tunnel_vs_direct: round(tunnelRate / median(rates.direct)),
      tunnel_cpu_s_per_gb: round(tunnelCpuSPerGb),
      nginx_cpu_s_per_gb: nginxCpuSPerGb === undefined ? null : round(nginxCpuSPerGb),
      rss_growth_mb: round((rss.peak - rss.baseline) / 1e6, 1),
      rss_bound_mb: round((parallel * chunkBytes) / 1e6, 1),
      sweep,
    }),
  );
} finally {
  for (const server of servers) await server.close().catch(() => undefined);
  killChildren();
  await client.close();
  await origin.close();
  await rm(scratch, { recursive: true, force: true });
}
