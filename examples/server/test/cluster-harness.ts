// A cluster on one machine with real components, for the cluster browser test and the cluster bench: a real
// sqld (the lease database and the shared registry), example-server processes run from the TypeScript
// sources on one shared channels directory, and Debian's nginx as a round-robin load balancer (plus a caching
// proxy in front of it, for the bench's viewers). Also the shared parts of what both do with it: playlist
// edits with If-Match and the count of lost ones, and a page that plays the channel with the real hls.js and
// reports its stalls and discontinuities.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, openAsBlob } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, type SqldServer, sampleMedia, startSqld } from '@nexstream/testkit';
import type { Page } from 'playwright-core';

const require = createRequire(import.meta.url);
const serverEntry = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const register = require.resolve('@nexstream/testkit/register-ts');
/** The hls.js the product's channel page plays with (the web app's dependency). */
const hlsScript = createRequire(fileURLToPath(new URL('../../web/package.json', import.meta.url))).resolve(
  'hls.js/dist/hls.min.js',
);

/** The channel page's hls.js settings (`channelPlayerConfig`), loaded at run time: the web app is not in this project. */
const channelPlayerModule = new URL('../../web/src/channel-player.ts', import.meta.url).href;

/** The channel every instance creates at start, and its API path. */
const clusterChannelId = 'main';
const channelPath = `/api/channels/${clusterChannelId}`;

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Thrown by an {@link until} check to stop waiting at once. */
class GiveUp extends Error {}

/**
 * Polls `check` every 100 ms until it returns a value (a throw counts as not yet, but a {@link GiveUp} ends
 * the wait); fails after `timeoutMs`.
 */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const value = await check().catch((error: unknown) => {
      if (error instanceof GiveUp) throw error;
      lastError = error;
      return undefined;
    });
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const cause = lastError === undefined ? '' : ` (last error: ${(lastError as Error).message})`;
      throw new Error(`${what}: not within ${timeoutMs} ms${cause}`, { cause: lastError });
    }
    await delay(100);
  }
}

/** One example-server process of the cluster. */
export interface ClusterInstance {
  index: number;
  /** `http://127.0.0.1:<port>`, also its `NEXSTREAM_INSTANCE_URL`. */
  url: string;
  process: ChildProcess;
  /** False once the process exited. */
  alive: boolean;
  /** Its stdout and stderr (JSON log lines). */
  logPath: string;
}

/** Options of {@link startCluster}. */
export interface StartClusterOptions {
  /** How many server processes. Default 3. */
  instances?: number;
  /** `NEXSTREAM_CLUSTER_LEASE_MS`. Default 6000 (the product's default). */
  leaseMs?: number;
  /** The nginx binary. Default `$NGINX`, else `nginx` from PATH. */
  nginx?: string;
  /** Progress lines (the bench writes them to stderr). Default: none. */
  log?: (message: string) => void;
}

/** A running cluster, started by {@link startCluster}. */
export interface Cluster {
  readonly instances: readonly ClusterInstance[];
  /** The round-robin load balancer: `http://127.0.0.1:<port>`. */
  readonly balancer: string;
  /** An nginx caching proxy in front of the balancer (HLS answers cached by their Cache-Control). */
  readonly cache: string;
  /** The channel's API through the balancer: `<balancer>/api/channels/main`. */
  readonly channel: string;
  /** The page that plays the channel with hls.js, served by the instances through the balancer. */
  readonly playerUrl: string;
  /** `NEXSTREAM_CLUSTER_LEASE_MS` of every instance. */
  readonly leaseMs: number;
  /**
   * Uploads two short clips (6 s and 8 s, 640x360) through the balancer, starts the channel, and resolves
   * once its live playlist lists three segments.
   */
  startChannel(): Promise<void>;
  /** The instance that holds the channel's lease now, from `GET /api/cluster/leases`. */
  owner(): Promise<ClusterInstance | undefined>;
  /**
   * SIGKILLs an instance's Node process only, as a crash would (its ffmpeg children see their pipes close),
   * and resolves once it has exited.
   */
  kill(instance: ClusterInstance): Promise<void>;
  /** The instances' `channel lease…` log lines (takeovers, self-fencing, handovers), by instance. */
  leaseEvents(): Promise<string[]>;
  /**
   * Kills every process it started (each in its own process group, so ffmpeg children go too), stops sqld
   * and removes the scratch folder. Throws when a process group is still there 10 s later. Safe to call
   * twice.
   */
  stop(): Promise<void>;
}

/** Every process group the harness started, killed at exit if a caller forgot {@link Cluster.stop}. */
const started = new Set<ChildProcess>();
let exitHookInstalled = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function groupExists(child: ChildProcess): boolean {
  if (child.pid === undefined) return false;
  try {
    process.kill(-child.pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts `command` in its own process group, remembered for the teardown. */
function spawnGroup(command: string, args: string[], options: Parameters<typeof spawn>[2]): ChildProcess {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const child of started) killGroup(child);
    });
  }
  const child = spawn(command, args, { ...options, detached: true });
  started.add(child);
  return child;
}

/**
 * Starts sqld, `instances` example-server processes one after the other (the first creates the registry's
 * tables), and nginx; resolves once the balancer answers `/api/health`. On a failure it tears down what it
 * started.
 */
export async function startCluster(options: StartClusterOptions = {}): Promise<Cluster> {
  const instanceCount = options.instances ?? 3;
  const leaseMs = options.leaseMs ?? 6000;
  const log = options.log ?? (() => {});
  const work = await mkdtemp(join(tmpdir(), 'nexstream-cluster-'));
  const children: ChildProcess[] = [];
  const instances: ClusterInstance[] = [];
  let sqld: SqldServer | undefined;
  let stopped = false;

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const child of children) killGroup(child);
    const deadline = Date.now() + 10_000;
    while (children.some(groupExists) && Date.now() < deadline) await delay(50);
    const left = children.filter(groupExists).map((child) => child.pid);
    for (const child of children) started.delete(child);
    await sqld?.stop();
    await rm(work, { recursive: true, force: true });
    if (left.length > 0) throw new Error(`cluster teardown: process groups ${left.join(', ')} still running`);
  };

  try {
    sqld = await startSqld();
    const channelsDir = join(work, 'channels');
    const webDir = join(work, 'web');
    await mkdir(channelsDir, { recursive: true });
    await mkdir(webDir, { recursive: true });
    // The channel page's own hls.js settings (examples/web), so the test plays as the product does.
    const { channelPlayerConfig } = (await import(channelPlayerModule)) as { channelPlayerConfig: unknown };
    await writeFile(join(webDir, 'cluster-player.html'), playerPage(channelPlayerConfig));
    await copyFile(hlsScript, join(webDir, 'hls.min.js'));
    for (let index = 0; index < instanceCount; index += 1) {
      const port = await freePort();
      const data = join(work, `instance-${index}`);
      await mkdir(data, { recursive: true });
      const url = `http://127.0.0.1:${port}`;
      const logPath = join(work, `instance-${index}.log`);
      const output = createWriteStream(logPath);
      const child = spawnGroup(
        process.execPath,
        ['--experimental-transform-types', '--no-warnings', '--import', register, serverEntry],
        {
          cwd: data,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: {
            PATH: process.env.PATH,
            HOME: process.env.HOME,
            NEXSTREAM_PORT: String(port),
            NEXSTREAM_HOST: '127.0.0.1',
            NEXSTREAM_DATA_DIR: data,
            NEXSTREAM_CHANNELS_DIR: channelsDir,
            NEXSTREAM_WEB_DIR: webDir,
            NEXSTREAM_REGISTRY_URL: sqld.url,
            NEXSTREAM_CLUSTER_URL: sqld.url,
            NEXSTREAM_INSTANCE_URL: url,
            NEXSTREAM_CLUSTER_LEASE_MS: String(leaseMs),
            NEXSTREAM_TUNNEL_SECRET: 'cluster-harness-shared-tunnel-secret-0123456789',
            NEXSTREAM_CHANNELS: clusterChannelId,
            NEXSTREAM_LOG_LEVEL: 'info',
            NEXSTREAM_SHUTDOWN_MS: '1000',
            NEXSTREAM_RATE_TUNNEL: '100000/1s',
          },
        },
      );
      child.stdout?.pipe(output);
      child.stderr?.pipe(output);
      children.push(child);
      const instance: ClusterInstance = { index, url, process: child, alive: true, logPath };
      child.on('exit', () => {
        instance.alive = false;
      });
      instances.push(instance);
      await until(
        `instance ${index} healthy`,
        async () => {
          if (!instance.alive) throw new GiveUp(`instance ${index} exited`);
          return (await fetch(`${url}/api/health`)).ok ? true : undefined;
        },
        60_000,
      ).catch(async (error: Error) => {
        throw new Error(`${error.message}: ${(await readFile(logPath, 'utf8')).slice(-2000)}`);
      });
    }
    log(`cluster: ${instanceCount} instances up, sqld at ${sqld.url}`);

    const balancerPort = await freePort();
    const cachePort = await freePort();
    const nginxDir = join(work, 'nginx');
    await mkdir(join(nginxDir, 'cache'), { recursive: true });
    await writeFile(join(nginxDir, 'nginx.conf'), nginxConfig(nginxDir, instances, balancerPort, cachePort));
    const nginx = spawnGroup(
      options.nginx ?? process.env.NGINX ?? 'nginx',
      ['-p', nginxDir, '-c', join(nginxDir, 'nginx.conf'), '-g', 'daemon off;'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    children.push(nginx);
    let nginxErrors = '';
    nginx.stderr?.on('data', (chunk: Buffer) => {
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
    const channel = `${balancer}${channelPath}`;

    return {
      instances,
      balancer,
      cache: `http://127.0.0.1:${cachePort}`,
      channel,
      playerUrl: `${balancer}/cluster-player.html?src=${encodeURIComponent(`${channelPath}/hls/index.m3u8`)}`,
      leaseMs,
      async startChannel() {
        for (const [index, name] of ['a', 'b'].entries()) {
          const clip = await sampleMedia('h264-aac-mp4', {
            durationS: 6 + index * 2,
            width: 640,
            height: 360,
          });
          const form = new FormData();
          form.append('file', await openAsBlob(clip), `clip-${name}.mp4`);
          const upload = await fetch(`${channel}/upload`, { method: 'POST', body: form });
          if (upload.status !== 201)
            throw new Error(`upload ${name}: ${upload.status} ${await upload.text()}`);
        }
        const start = await fetch(`${channel}/stream/start`, { method: 'POST' });
        if (!start.ok) throw new Error(`start: ${start.status} ${await start.text()}`);
        // A player asked for the playlist before it exists gets 404, which hls.js does not retry.
        await until(
          'three segments in the live playlist',
          async () => ((await mediaPlaylist(channel)).segments.length >= 3 ? true : undefined),
          30_000,
        );
      },
      async owner() {
        const answer = (await (await fetch(`${balancer}/api/cluster/leases`)).json()) as {
          leases: Array<{ channelId: string; ownerUrl: string }>;
        };
        const lease = answer.leases.find((entry) => entry.channelId === clusterChannelId);
        return instances.find((instance) => instance.url === lease?.ownerUrl);
      },
      async kill(instance) {
        const exited = new Promise((resolve) => instance.process.once('exit', resolve));
        if (instance.alive) instance.process.kill('SIGKILL');
        if (instance.alive) await exited;
      },
      async leaseEvents() {
        const events: string[] = [];
        for (const instance of instances) {
          const lines = (await readFile(instance.logPath, 'utf8')).split('\n');
          for (const line of lines.filter((entry) => entry.includes('"channel lease'))) {
            events.push(`instance ${instance.index}: ${line}`);
          }
        }
        return events;
      },
      stop,
    };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}

/** A segment of a live media playlist: its URI and its `EXT-X-PROGRAM-DATE-TIME`. */
export interface ListedSegment {
  uri: string;
  date: string;
}

/**
 * The channel's media playlist through `channel` (`…/api/channels/main`): the multivariant playlist's first
 * variant, its segments, and the instance that served it (`X-NexStream-Served-By`).
 */
export async function mediaPlaylist(
  channel: string,
): Promise<{ ok: boolean; servedBy: string; segments: ListedSegment[] }> {
  let response = await fetch(`${channel}/hls/index.m3u8`, { cache: 'no-store' });
  let text = response.ok ? await response.text() : '';
  const variant = /#EXT-X-STREAM-INF[^\n]*\n([^\n#][^\n]*)/.exec(text)?.[1]?.trim();
  if (variant) {
    response = await fetch(`${channel}/hls/${variant}`, { cache: 'no-store' });
    text = response.ok ? await response.text() : '';
  }
  const segments: ListedSegment[] = [];
  let date = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) date = line.slice(25).trim();
    else if (line.trim() && !line.startsWith('#')) segments.push({ uri: line.trim(), date });
  }
  return { ok: response.ok, servedBy: response.headers.get('x-nexstream-served-by') ?? '', segments };
}

/** nginx as one process (`master_process off`: its cache stays writable when run as root). */
function nginxConfig(
  directory: string,
  instances: readonly ClusterInstance[],
  balancerPort: number,
  cachePort: number,
): string {
  const upstreams = instances.map(
    (instance) => `    server ${new URL(instance.url).host} max_fails=1 fail_timeout=5s;`,
  );
  return `master_process off;
pid ${join(directory, 'nginx.pid')};
error_log ${join(directory, 'error.log')} warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${join(directory, 'body')};
  proxy_temp_path ${join(directory, 'proxy')};
  fastcgi_temp_path ${join(directory, 'fastcgi')};
  uwsgi_temp_path ${join(directory, 'uwsgi')};
  scgi_temp_path ${join(directory, 'scgi')};
  proxy_cache_path ${join(directory, 'cache')} levels=1:2 keys_zone=hls:10m max_size=1g inactive=1m use_temp_path=off;
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
`;
}

/** The channel's playlist as `GET /playlist` and the edit routes answer it. */
export interface ClusterPlaylist {
  items: Array<{ id: string }>;
  revision: number;
}

/**
 * Playlist edits through any instance or the balancer: each is a reorder that swaps the items, sent with the
 * `If-Match` of the playlist just read there. The acknowledged ones are kept, to check against the final
 * playlist with {@link PlaylistEditor.lost}.
 */
export interface PlaylistEditor {
  readonly acknowledged: readonly ClusterPlaylist[];
  /** The playlist as `base` serves it; undefined on an error answer. */
  current(base: string): Promise<ClusterPlaylist | undefined>;
  /** One edit through `base`; false when it was not acknowledged (503 while ownership moves, 412, 502). */
  edit(base: string): Promise<boolean>;
  /** Edits through `base` until one is acknowledged (while the lease moves), at most `timeoutMs`. */
  editUntilAcknowledged(base: string, timeoutMs?: number): Promise<void>;
  /**
   * How many acknowledged edits `final` does not hold: each acknowledged a revision of its own (a repeated
   * revision is an edit overwritten by an owner that did not see it), none above `final`'s, and when
   * `final` is the last acknowledged revision its order is that edit's.
   */
  lost(final: ClusterPlaylist): number;
}

export function createPlaylistEditor(): PlaylistEditor {
  const acknowledged: ClusterPlaylist[] = [];
  const read = async (base: string) => {
    const response = await fetch(`${base}${channelPath}/playlist`, { cache: 'no-store' });
    if (!response.ok) return undefined;
    return { etag: response.headers.get('etag') ?? '', playlist: (await response.json()) as ClusterPlaylist };
  };
  const edit = async (base: string) => {
    const before = await read(base);
    if (!before) return false;
    const order = before.playlist.items.map((item) => item.id).reverse();
    const response = await fetch(`${base}${channelPath}/playlist/order`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json', 'If-Match': before.etag },
      body: JSON.stringify({ order }),
    });
    if (!response.ok) return false;
    acknowledged.push((await response.json()) as ClusterPlaylist);
    return true;
  };
  const ids = (playlist: ClusterPlaylist | undefined) =>
    JSON.stringify(playlist?.items.map((item) => item.id));
  return {
    acknowledged,
    current: async (base) => (await read(base))?.playlist,
    edit,
    async editUntilAcknowledged(base, timeoutMs = 20_000) {
      await until(`an edit through ${base}`, async () => ((await edit(base)) ? true : undefined), timeoutMs);
    },
    lost(final) {
      const revisions = new Set(acknowledged.map((playlist) => playlist.revision));
      const overwritten = acknowledged.length - revisions.size;
      const beyond = [...revisions].filter((revision) => revision > final.revision).length;
      const last = acknowledged.at(-1);
      const orderLost = last && last.revision === final.revision && ids(last) !== ids(final) ? 1 : 0;
      return overwritten + beyond + orderLost;
    },
  };
}

/**
 * The test page: plays `?src=` with the real hls.js in a muted `<video>` and records, in
 * `window.clusterPlayer` ({@link PlayerRecord}), every fragment it plays (`FRAG_CHANGED`), every hls.js
 * error, and each stretch of 250 ms or more in which `video.currentTime` did not advance (sampled every
 * 50 ms). Times are `Date.now()`, comparable with the test's clock. The hls.js settings are the product
 * channel page's own (`examples/web/src/channel-player.ts`): their media-playlist retries outlast a failover
 * (the lease's expiry and a takeover, 5-9 s, while every playlist request gets 502/503), where hls.js's
 * default `playlistLoadPolicy` (two retries, in about 3 s) fails fatally (`levelLoadError`).
 */
const playerPage = (channelPlayerConfig: unknown) => `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Cluster player</title></head>
<body>
<video id="video" muted playsinline width="640" height="360"></video>
<script src="/hls.min.js"></script>
<script>
  const video = document.getElementById('video');
  const record = { fragments: [], errors: [], stalls: [], playing: false, advancedAt: 0, currentTime: 0 };
  window.clusterPlayer = record;
  const hls = new Hls(${JSON.stringify(channelPlayerConfig)});
  window.clusterHls = hls;
  hls.on(Hls.Events.FRAG_CHANGED, (_event, data) => {
    record.fragments.push({ at: Date.now(), sn: data.frag.sn, cc: data.frag.cc, start: data.frag.start });
  });
  hls.on(Hls.Events.ERROR, (_event, data) => {
    record.errors.push({ at: Date.now(), type: data.type, details: data.details, fatal: data.fatal });
  });
  hls.on(Hls.Events.MANIFEST_PARSED, () => void video.play().catch(() => {}));
  hls.loadSource(new URLSearchParams(location.search).get('src'));
  hls.attachMedia(video);
  let last = -1;
  let stalledSince = 0;
  setInterval(() => {
    const now = Date.now();
    const time = video.currentTime;
    if (time > last && last >= 0) {
      if (stalledSince && now - stalledSince >= 250) record.stalls.push({ from: stalledSince, to: now });
      stalledSince = 0;
      record.playing = true;
      record.advancedAt = now;
    } else if (record.playing && !stalledSince) {
      stalledSince = record.advancedAt;
    }
    record.currentTime = last = time;
  }, 50);
</script>
</body>
</html>
`;

/** What the test page recorded (`window.clusterPlayer`). Times are `Date.now()` milliseconds. */
export interface PlayerRecord {
  fragments: Array<{ at: number; sn: number; cc: number; start: number }>;
  errors: Array<{ at: number; type: string; details: string; fatal: boolean }>;
  /** Stretches of 250 ms or more without `currentTime` advancing, once playback had begun. */
  stalls: Array<{ from: number; to: number }>;
  /** `currentTime` has advanced at least once. */
  playing: boolean;
  /** The last time `currentTime` advanced. */
  advancedAt: number;
  currentTime: number;
}

export function playerRecord(page: Page): Promise<PlayerRecord> {
  return page.evaluate(() => (window as unknown as { clusterPlayer: PlayerRecord }).clusterPlayer);
}

/** What a failover did to the player, from its record and the time of the kill. */
export interface PlayerFigures {
  /** The longest stretch, in seconds, in which `currentTime` did not advance (a stall still going counts). */
  longestStallS: number;
  /**
   * How long the video stood still in all since the kill, in seconds (the parts of stalls after it, summed; 0
   * when it never stopped). The failover's cost to a viewer, wherever in the buffer it lands: hls.js plays
   * about three segments behind the live edge, so the stall often comes well after the kill, or never.
   */
  stalledAfterKillS: number;
  /** Changes of the discontinuity sequence (`frag.cc`) among the fragments played since the kill. */
  discontinuitiesAfterKill: number;
  /** Fragments played since the kill. */
  fragmentsAfterKill: number;
  /** Fatal hls.js errors, as `type/details`. */
  fatalErrors: string[];
  /** Non-fatal hls.js errors (retried), as `type/details`. */
  retriedErrors: string[];
}

export function playerFigures(record: PlayerRecord, killedAt: number, now = Date.now()): PlayerFigures {
  const stalls = [...record.stalls];
  // A stall still going on at `now` counts up to `now`.
  if (record.playing && now - record.advancedAt >= 250) stalls.push({ from: record.advancedAt, to: now });
  const longest = Math.max(0, ...stalls.map((stall) => stall.to - stall.from));
  const stalledAfterKill = stalls
    .filter((stall) => stall.to > killedAt)
    .reduce((sum, stall) => sum + (stall.to - Math.max(stall.from, killedAt)), 0);
  const lastBefore = record.fragments.filter((fragment) => fragment.at <= killedAt).at(-1);
  const after = record.fragments.filter((fragment) => fragment.at > killedAt);
  let discontinuities = 0;
  let cc = lastBefore?.cc;
  for (const fragment of after) {
    if (cc !== undefined && fragment.cc !== cc) discontinuities += 1;
    cc = fragment.cc;
  }
  const describe = (error: PlayerRecord['errors'][number]) => `${error.type}/${error.details}`;
  return {
    longestStallS: longest / 1000,
    stalledAfterKillS: stalledAfterKill / 1000,
    discontinuitiesAfterKill: discontinuities,
    fragmentsAfterKill: after.length,
    fatalErrors: record.errors.filter((error) => error.fatal).map(describe),
    retriedErrors: record.errors.filter((error) => !error.fatal).map(describe),
  };
}
