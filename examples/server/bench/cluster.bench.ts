// Cluster benchmark, on one machine with real components: a real sqld (the cluster's lease database and the
// shared registry), three example-server processes (run from the TypeScript sources) sharing one channels
// directory, and Debian's nginx as a round-robin load balancer in front of them. Through the balancer it
// uploads two clips and starts the channel, then a player polls the live playlist and fetches each new
// segment (as hls.js does), while playlist edits go to each instance in turn. It SIGKILLs the channel's
// owner and measures:
//   failover_s        SIGKILL → the first new segment listed in a playlist served by another instance;
//   playback_stall_s  the longest gap between two consecutive new segments the player saw;
//   edits_lost        acknowledged edits (before and after the kill) missing from the final playlist.
// With NEXSTREAM_CLUSTER_VIEWERS (e.g. 100,250,500) it then runs that many simulated viewers, level by level,
// through an nginx caching proxy in front of the balancer, and reports the origin's requests per second
// (per 100 viewers at the last level, and per level: flat as viewers grow when the playlists are cacheable).
// `npm run bench:cluster` from the repository root. Not part of `npm test`. The last line is one JSON object.
//
// Environment: NGINX (default: PATH), CLUSTER_BENCH_INSTANCES (default 3), CLUSTER_BENCH_AFTER_S (seconds
// of playback watched after the failover, default 12), NEXSTREAM_CLUSTER_VIEWERS (default 0: skipped),
// CLUSTER_BENCH_VIEWER_S (default 15).
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, openAsBlob } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sampleMedia, startSqld } from '@nexstream/testkit';

const instanceCount = Number(process.env.CLUSTER_BENCH_INSTANCES ?? 3);
const afterS = Number(process.env.CLUSTER_BENCH_AFTER_S ?? 12);
const viewerLevels = (process.env.NEXSTREAM_CLUSTER_VIEWERS ?? '')
  .split(',')
  .map(Number)
  .filter((count) => count > 0);
const viewerSeconds = Number(process.env.CLUSTER_BENCH_VIEWER_S ?? 15);
const leaseMs = 6000;
const serverEntry = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const register = fileURLToPath(import.meta.resolve('@nexstream/testkit/register-ts'));
const log = (message: string) => process.stderr.write(`${message}\n`);
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;
const seconds = (ms: number) => round(ms / 1000);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await delay(100);
  }
}

interface Instance {
  index: number;
  url: string;
  process: ChildProcess;
  alive: boolean;
}

/** Every child runs in its own process group, so ffmpeg children go with it at the end. */
const children = new Set<ChildProcess>();
function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL') {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

interface Playlist {
  items: Array<{ id: string }>;
  revision: number;
}

async function main() {
  const work = await mkdtemp(join(tmpdir(), 'nexstream-cluster-bench-'));
  const sqld = await startSqld();
  const cleanups: Array<() => Promise<unknown> | unknown> = [
    () => sqld.stop(),
    () => rm(work, { recursive: true, force: true }),
  ];
  try {
    const channelsDir = join(work, 'channels');
    await mkdir(channelsDir, { recursive: true });
    const tunnelSecret = 'cluster-bench-shared-tunnel-secret-0123456789';
    const instances: Instance[] = [];
    for (let index = 0; index < instanceCount; index += 1) {
      const port = await freePort();
      const data = join(work, `instance-${index}`);
      await mkdir(data, { recursive: true });
      const url = `http://127.0.0.1:${port}`;
      const output = createWriteStream(join(work, `instance-${index}.log`));
      const child = spawn(
        process.execPath,
        ['--experimental-transform-types', '--no-warnings', '--import', register, serverEntry],
        {
          cwd: data,
          detached: true,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: {
            PATH: process.env.PATH,
            HOME: process.env.HOME,
            NEXSTREAM_PORT: String(port),
            NEXSTREAM_HOST: '127.0.0.1',
            NEXSTREAM_DATA_DIR: data,
            NEXSTREAM_CHANNELS_DIR: channelsDir,
            NEXSTREAM_REGISTRY_URL: sqld.url,
            NEXSTREAM_CLUSTER_URL: sqld.url,
            NEXSTREAM_INSTANCE_URL: url,
            NEXSTREAM_CLUSTER_LEASE_MS: String(leaseMs),
            NEXSTREAM_TUNNEL_SECRET: tunnelSecret,
            NEXSTREAM_CHANNELS: 'main',
            NEXSTREAM_LOG_LEVEL: 'info',
            NEXSTREAM_SHUTDOWN_MS: '1000',
            NEXSTREAM_RATE_TUNNEL: '100000/1s',
          },
        },
      );
      child.stdout?.pipe(output);
      child.stderr?.pipe(output);
      children.add(child);
      const instance: Instance = { index, url, process: child, alive: true };
      child.on('exit', () => {
        instance.alive = false;
      });
      instances.push(instance);
      // One at a time: the first creates the registry's tables on sqld.
      await until(
        `instance ${index} healthy`,
        async () => ((await fetch(`${url}/api/health`)).ok ? true : undefined),
        60_000,
      );
    }
    log(`cluster: ${instanceCount} instances up, sqld at ${sqld.url}`);

    // nginx: round-robin balancer (and, for the viewers, a caching proxy in front of it).
    const nginx = process.env.NGINX ?? 'nginx';
    const balancerPort = await freePort();
    const cachePort = await freePort();
    const nginxDir = join(work, 'nginx');
    await mkdir(join(nginxDir, 'cache'), { recursive: true });
    const upstreams = instances.map(
      (instance) => `    server ${new URL(instance.url).host} max_fails=1 fail_timeout=5s;`,
    );
    await writeFile(
      join(nginxDir, 'nginx.conf'),
      `master_process off;
pid ${join(nginxDir, 'nginx.pid')};
error_log ${join(nginxDir, 'error.log')} warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${join(nginxDir, 'body')};
  proxy_temp_path ${join(nginxDir, 'proxy')};
  fastcgi_temp_path ${join(nginxDir, 'fastcgi')};
  uwsgi_temp_path ${join(nginxDir, 'uwsgi')};
  scgi_temp_path ${join(nginxDir, 'scgi')};
  proxy_cache_path ${join(nginxDir, 'cache')} levels=1:2 keys_zone=hls:10m max_size=1g inactive=1m use_temp_path=off;
  upstream nexstream {
${upstreams.join('\n')}
    keepalive 32;
  }
  server {
    listen 127.0.0.1:${balancerPort};
    client_max_body_size 0;
    location / {
      proxy_pass http://nexstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 1h;
      proxy_connect_timeout 2s;
      proxy_next_upstream error timeout;
    }
  }
  server {
    listen 127.0.0.1:${cachePort};
    location / {
      proxy_pass http://127.0.0.1:${balancerPort};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_cache hls;
      proxy_cache_lock on;
      proxy_cache_lock_timeout 5s;
      proxy_cache_use_stale updating;
      proxy_cache_valid 200 1s;
      add_header X-Cache $upstream_cache_status;
    }
  }
}
`,
    );
    const nginxProcess = spawn(
      nginx,
      ['-p', nginxDir, '-c', join(nginxDir, 'nginx.conf'), '-g', 'daemon off;'],
      {
        detached: true,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    children.add(nginxProcess);
    let nginxErrors = '';
    nginxProcess.stderr?.on('data', (chunk: Buffer) => {
      nginxErrors += chunk.toString();
    });
    const balancer = `http://127.0.0.1:${balancerPort}`;
    await until(
      'nginx listening',
      async () => ((await fetch(`${balancer}/api/health`)).ok ? true : undefined),
      10_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}: ${nginxErrors}`);
    });
    const channel = `${balancer}/api/channels/main`;

    // Two short clips, uploaded through the balancer (whichever instance gets them forwards to the owner).
    for (const [index, color] of ['a', 'b'].entries()) {
      const clip = await sampleMedia('h264-aac-mp4', { durationS: 6 + index * 2, width: 640, height: 360 });
      const form = new FormData();
      form.append('file', await openAsBlob(clip), `clip-${color}.mp4`);
      const upload = await fetch(`${channel}/upload`, { method: 'POST', body: form });
      if (upload.status !== 201) throw new Error(`upload ${color}: ${upload.status} ${await upload.text()}`);
    }
    const start = await fetch(`${channel}/stream/start`, { method: 'POST' });
    if (!start.ok) throw new Error(`start: ${start.status} ${await start.text()}`);

    const ownerOf = async (): Promise<Instance | undefined> => {
      const answer = (await (await fetch(`${balancer}/api/cluster/leases`)).json()) as {
        leases: Array<{ channelId: string; ownerUrl: string; expiresAt: number }>;
      };
      const lease = answer.leases.find((entry) => entry.channelId === 'main');
      return instances.find((instance) => instance.url === lease?.ownerUrl);
    };
    const owner = await until('an owner', ownerOf, 10_000);
    log(`cluster: instance ${owner.index} owns the channel`);

    // The player: the media playlist every second (half a target duration), each new segment fetched once.
    const seen = new Map<string, { at: number; servedBy: string }>();
    const newSegments: Array<{ at: number; servedBy: string }> = [];
    let playerErrors = 0;
    let playing = true;
    const player = (async () => {
      while (playing) {
        const polled = performance.now();
        try {
          let response = await fetch(`${channel}/hls/index.m3u8`, { cache: 'no-store' });
          let text = response.ok ? await response.text() : '';
          const variant = /#EXT-X-STREAM-INF[^\n]*\n([^\n#][^\n]*)/.exec(text)?.[1]?.trim();
          if (variant) {
            response = await fetch(`${channel}/hls/${variant}`, { cache: 'no-store' });
            text = response.ok ? await response.text() : '';
          }
          if (!response.ok) playerErrors += 1;
          const servedBy = response.headers.get('x-nexstream-served-by') ?? '';
          // A segment is its name and its program date-time: a new run may reuse names, never dates.
          let date = '';
          for (const line of text.split('\n')) {
            if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) date = line.slice(25).trim();
            else if (line && !line.startsWith('#')) {
              const key = `${line.trim()}@${date}`;
              if (!seen.has(key)) {
                const segment = await fetch(`${channel}/hls/${line.trim()}`);
                await segment.arrayBuffer();
                if (!segment.ok) {
                  playerErrors += 1;
                  continue;
                }
                const entry = { at: performance.now(), servedBy };
                seen.set(key, entry);
                newSegments.push(entry);
              }
            }
          }
        } catch {
          playerErrors += 1;
        }
        await delay(Math.max(0, 1000 - (performance.now() - polled)));
      }
    })();
    await until('three segments played', async () => (newSegments.length >= 3 ? true : undefined), 30_000);

    // Edits through each instance in turn, with If-Match: a reorder that swaps the two clips.
    const acknowledged: Playlist[] = [];
    let etag = '';
    const current = async (base: string) => {
      const response = await fetch(`${base}/api/channels/main/playlist`);
      if (!response.ok) return undefined;
      etag = response.headers.get('etag') ?? '';
      return (await response.json()) as Playlist;
    };
    const edit = async (base: string): Promise<boolean> => {
      const before = await current(base);
      if (!before) return false;
      const order = before.items.map((item) => item.id).reverse();
      const response = await fetch(`${base}/api/channels/main/playlist/order`, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json', 'If-Match': etag },
        body: JSON.stringify({ order }),
      });
      if (!response.ok) return false;
      acknowledged.push((await response.json()) as Playlist);
      return true;
    };
    for (const instance of instances) await edit(instance.url);
    await edit(balancer);
    const beforeKill = acknowledged.length;

    // SIGKILL the owner (the Node process only, as a crash would; its ffmpeg children see their pipes close).
    const killedAt = performance.now();
    owner.process.kill('SIGKILL');
    log(`cluster: SIGKILL instance ${owner.index}`);
    const ownerId = newSegments.at(-1)?.servedBy ?? '';
    const afterKill = await until(
      'a new segment from another instance',
      async () => newSegments.find((entry) => entry.at > killedAt && entry.servedBy !== ownerId),
      30_000,
    );
    const failoverS = seconds(afterKill.at - killedAt);
    log(`cluster: failover in ${failoverS} s`);

    // Edits after the failover, through every survivor and the balancer.
    const survivors = instances.filter((instance) => instance.alive);
    for (const instance of survivors) {
      await until(
        'an edit after the failover',
        async () => ((await edit(instance.url)) ? true : undefined),
        10_000,
      );
    }
    await until(
      'an edit through the balancer',
      async () => ((await edit(balancer)) ? true : undefined),
      10_000,
    );
    await delay(afterS * 1000);
    playing = false;
    await player;

    const final = (await current(balancer)) as Playlist;
    const last = acknowledged.at(-1) as Playlist;
    const firstRevision = (acknowledged[0]?.revision ?? 1) - 1;
    // Every acknowledged edit added one revision; the last one's order must be the playlist's.
    const missingRevisions = Math.max(0, firstRevision + acknowledged.length - final.revision);
    const orderKept =
      JSON.stringify(final.items.map((item) => item.id)) ===
      JSON.stringify(last.items.map((item) => item.id));
    const editsLost = missingRevisions + (orderKept || missingRevisions > 0 ? 0 : 1);

    let stall = 0;
    for (let index = 1; index < newSegments.length; index += 1) {
      stall = Math.max(stall, (newSegments[index]?.at ?? 0) - (newSegments[index - 1]?.at ?? 0));
    }

    let viewers: Record<string, unknown> = {
      viewers: null,
      viewers_note:
        'set NEXSTREAM_CLUSTER_VIEWERS=100,250,500 to run simulated viewers through an nginx cache',
    };
    if (viewerLevels.length > 0) {
      const byLevel: Record<string, number> = {};
      for (const count of viewerLevels) {
        viewers = await simulateViewers(`http://127.0.0.1:${cachePort}/api/channels/main/hls`, count);
        byLevel[count] = viewers.origin_requests_per_s as number;
        log(`cluster: ${count} viewers, ${JSON.stringify(viewers)}`);
      }
      viewers = { ...viewers, origin_requests_per_s_by_viewers: byLevel };
    }

    // What the leases did, from the instances' logs (takeovers, self-fencing, handovers).
    let leaseEvents = 0;
    for (const instance of instances) {
      const lines = (await readFile(join(work, `instance-${instance.index}.log`), 'utf8')).split('\n');
      for (const line of lines.filter((entry) => entry.includes('"channel lease'))) {
        leaseEvents += 1;
        log(`instance ${instance.index}: ${line}`);
      }
    }

    const result = {
      instances: instanceCount,
      lease_events: leaseEvents,
      failover_s: failoverS,
      playback_stall_s: seconds(stall),
      edits_lost: editsLost,
      edits_acknowledged: acknowledged.length,
      edits_before_kill: beforeKill,
      segments_seen: newSegments.length,
      player_errors: playerErrors,
      lease_ms: leaseMs,
      ...viewers,
    };
    console.log(JSON.stringify(result));
  } finally {
    for (const child of children) killGroup(child);
    for (const cleanup of cleanups) await Promise.resolve(cleanup()).catch(() => {});
  }
}

/**
 * `viewerCount` viewers polling the live playlist every second and fetching each new segment once, through
 * the caching proxy, with at most 128 requests in flight. A request reached the origin unless nginx's cache
 * status (`X-Cache`) says HIT, STALE or UPDATING.
 */
async function simulateViewers(base: string, viewerCount: number): Promise<Record<string, unknown>> {
  let originRequests = 0;
  let requests = 0;
  let failed = 0;
  const statuses: Record<string, number> = {};
  let inFlight = 0;
  const waiting: Array<() => void> = [];
  const limited = async <T>(run: () => Promise<T>): Promise<T> => {
    if (inFlight >= 128) await new Promise<void>((resolve) => waiting.push(resolve));
    inFlight += 1;
    try {
      return await run();
    } finally {
      inFlight -= 1;
      waiting.shift()?.();
    }
  };
  const get = (url: string) =>
    limited(async () => {
      const response = await fetch(url);
      const body = await response.text();
      requests += 1;
      const cache = response.headers.get('x-cache') ?? 'MISS';
      statuses[`${response.status} ${cache}`] = (statuses[`${response.status} ${cache}`] ?? 0) + 1;
      // HIT, STALE and UPDATING were answered from the cache; the others asked the balancer.
      if (!['HIT', 'STALE', 'UPDATING'].includes(cache)) originRequests += 1;
      return body;
    });
  const end = performance.now() + viewerSeconds * 1000;
  const viewer = async (index: number) => {
    await delay((index % 20) * 50);
    const seenNames = new Set<string>();
    while (performance.now() < end) {
      const polled = performance.now();
      const text = await get(`${base}/index.m3u8`).catch(() => {
        failed += 1;
        return '';
      });
      for (const line of text.split('\n')) {
        if (line && !line.startsWith('#') && !seenNames.has(line)) {
          seenNames.add(line);
          if (seenNames.size > 3)
            await get(`${base}/${line.trim()}`).catch(() => {
              failed += 1;
              return '';
            });
        }
      }
      await delay(Math.max(0, 1000 - (performance.now() - polled)));
    }
  };
  await Promise.all(Array.from({ length: viewerCount }, (_, index) => viewer(index)));
  return {
    viewers: viewerCount,
    viewer_requests_per_s: round(requests / viewerSeconds),
    viewer_requests_failed: failed,
    viewer_cache_statuses: statuses,
    origin_requests_per_s: round(originRequests / viewerSeconds),
    origin_requests_per_s_per_100_viewers: round((originRequests / viewerSeconds) * (100 / viewerCount)),
  };
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    for (const child of children) killGroup(child);
    process.exit(1);
  });
}
process.on('exit', () => {
  for (const child of children) killGroup(child);
});

await main().catch((error: unknown) => {
  log(`cluster bench failed: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
});
