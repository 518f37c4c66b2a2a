// Cluster benchmark, on one machine with real components (started by test/cluster-harness.ts, shared with the
// cluster browser test): a real sqld (the cluster's lease database and the shared registry), three
// example-server processes (run from the TypeScript sources) sharing one channels directory, and Debian's
// nginx as a round-robin load balancer in front of them. Through the balancer it uploads two clips and starts
// the channel. Two players watch it through the balancer: hls.js in Chromium (the harness's player page,
// with playlist and fragment retries that outlast a failover), and a Node poller that reads the live playlist
// every second and fetches each new segment, which also tells which instance served each playlist. Playlist
// edits go to each instance in turn and to the balancer. It SIGKILLs the channel's owner and measures:
//   failover_s                SIGKILL → the first new segment listed in a playlist served by another
//                             instance (the poller);
//   playback_stall_s          the longest gap between two consecutive new segments the poller saw;
//   browser_playback_stall_s  the longest stretch in which hls.js's `video.currentTime` did not advance;
//   browser_stalled_after_kill_s  how long the video stood still in all after the kill (0: it never stopped);
//   browser_discontinuities   changes of hls.js's discontinuity sequence (`frag.cc`) played after the kill
//                             (1 expected: the new owner continues the playlist after one discontinuity);
//   browser_fatal_errors      fatal hls.js errors (0 expected);
//   edits_lost                acknowledged edits (before and after the kill) missing from the final playlist.
// With NEXSTREAM_CLUSTER_VIEWERS (e.g. 100,250,500) it then runs that many simulated viewers, level by level,
// through an nginx caching proxy in front of the balancer, and reports the origin's requests per second
// (per 100 viewers at the last level, and per level: flat as viewers grow when the playlists are cacheable).
// `npm run bench:cluster` from the repository root. Not part of `npm test` (test/cluster.browser.test.ts
// asserts the failover's limits). The last line is one JSON object.
//
// Environment: NGINX (default: PATH), NEXSTREAM_CHROMIUM (default /usr/bin/chromium), CLUSTER_BENCH_INSTANCES
// (default 3), CLUSTER_BENCH_AFTER_S (seconds of playback watched after the failover, default 12),
// NEXSTREAM_CLUSTER_VIEWERS (default 0: skipped), CLUSTER_BENCH_VIEWER_S (default 15).
import { launchChromium, runHlsViewers } from '@nexstream/testkit';
import type { Browser } from 'playwright-core';
import {
  type Cluster,
  createPlaylistEditor,
  mediaPlaylist,
  playerFigures,
  playerRecord,
  startCluster,
  until,
} from '../test/cluster-harness.js';

const instanceCount = Number(process.env.CLUSTER_BENCH_INSTANCES ?? 3);
const afterS = Number(process.env.CLUSTER_BENCH_AFTER_S ?? 12);
const viewerLevels = (process.env.NEXSTREAM_CLUSTER_VIEWERS ?? '')
  .split(',')
  .map(Number)
  .filter((count) => count > 0);
const viewerSeconds = Number(process.env.CLUSTER_BENCH_VIEWER_S ?? 15);
const log = (message: string) => process.stderr.write(`${message}\n`);
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;
const seconds = (ms: number) => round(ms / 1000);

let cluster: Cluster | undefined;
let browser: Browser | undefined;

async function main() {
  cluster = await startCluster({ instances: instanceCount, log });
  browser = await launchChromium();
  const { instances, balancer, channel } = cluster;
  await cluster.startChannel();
  const owner = await until('an owner', cluster.owner, 10_000);
  log(`cluster: instance ${owner.index} owns the channel`);

  // hls.js in Chromium, through the balancer.
  const page = await browser.newPage();
  await page.goto(cluster.playerUrl);
  await until('hls.js playing', async () => ((await playerRecord(page)).playing ? true : undefined), 30_000);

  // The poller: the media playlist every second (half a target duration), each new segment fetched once. It
  // tells which instance served each playlist, which the browser does not.
  const seen = new Set<string>();
  const newSegments: Array<{ at: number; servedBy: string }> = [];
  let playerErrors = 0;
  let playing = true;
  const player = (async () => {
    while (playing) {
      const polled = performance.now();
      try {
        const playlist = await mediaPlaylist(channel);
        if (!playlist.ok) playerErrors += 1;
        // A segment is its name and its program date-time: a new run may reuse names, never dates.
        for (const { uri, date } of playlist.segments) {
          const key = `${uri}@${date}`;
          if (seen.has(key)) continue;
          const segment = await fetch(`${channel}/hls/${uri}`);
          await segment.arrayBuffer();
          if (!segment.ok) {
            playerErrors += 1;
            continue;
          }
          seen.add(key);
          newSegments.push({ at: performance.now(), servedBy: playlist.servedBy });
        }
      } catch {
        playerErrors += 1;
      }
      await delay(Math.max(0, 1000 - (performance.now() - polled)));
    }
  })();
  await until('three segments played', async () => (newSegments.length >= 3 ? true : undefined), 30_000);

  // Edits through each instance in turn and the balancer, with If-Match: a reorder that swaps the two clips.
  const editor = createPlaylistEditor();
  for (const instance of instances) await editor.edit(instance.url);
  await editor.edit(balancer);
  const beforeKill = editor.acknowledged.length;

  // SIGKILL the owner (the Node process only, as a crash would; its ffmpeg children see their pipes close).
  const killedAtMs = Date.now();
  const killedAt = performance.now();
  const ownerId = newSegments.at(-1)?.servedBy ?? '';
  await cluster.kill(owner);
  log(`cluster: SIGKILL instance ${owner.index}`);
  const afterKill = await until(
    'a new segment from another instance',
    async () => newSegments.find((entry) => entry.at > killedAt && entry.servedBy !== ownerId),
    30_000,
  );
  const failoverS = seconds(afterKill.at - killedAt);
  log(`cluster: failover in ${failoverS} s`);

  // Edits after the failover, through every survivor and the balancer.
  for (const instance of instances.filter((candidate) => candidate.alive)) {
    await editor.editUntilAcknowledged(instance.url, 10_000);
  }
  await editor.editUntilAcknowledged(balancer, 10_000);
  await delay(afterS * 1000);
  playing = false;
  await player;
  const browserFigures = playerFigures(await playerRecord(page), killedAtMs);
  log(`cluster: hls.js in Chromium ${JSON.stringify(browserFigures)}`);
  await browser.close();
  browser = undefined;

  const final = await editor.current(balancer);
  if (!final) throw new Error('the final playlist: no answer through the balancer');
  let stall = 0;
  for (let index = 1; index < newSegments.length; index += 1) {
    stall = Math.max(stall, (newSegments[index]?.at ?? 0) - (newSegments[index - 1]?.at ?? 0));
  }

  let viewers: Record<string, unknown> = {
    viewers: null,
    viewers_note: 'set NEXSTREAM_CLUSTER_VIEWERS=100,250,500 to run simulated viewers through an nginx cache',
  };
  if (viewerLevels.length > 0) {
    const byLevel: Record<string, number> = {};
    for (const count of viewerLevels) {
      viewers = await simulateViewers(`${cluster.cache}/api/channels/main/hls`, count);
      byLevel[count] = viewers.origin_requests_per_s as number;
      log(`cluster: ${count} viewers, ${JSON.stringify(viewers)}`);
    }
    viewers = { ...viewers, origin_requests_per_s_by_viewers: byLevel };
  }

  // What the leases did, from the instances' logs (takeovers, self-fencing, handovers).
  const leaseEvents = await cluster.leaseEvents();
  for (const event of leaseEvents) log(event);

  const result = {
    instances: instanceCount,
    lease_events: leaseEvents.length,
    failover_s: failoverS,
    playback_stall_s: seconds(stall),
    browser_playback_stall_s: round(browserFigures.longestStallS),
    browser_stalled_after_kill_s: round(browserFigures.stalledAfterKillS),
    browser_discontinuities: browserFigures.discontinuitiesAfterKill,
    browser_fatal_errors: browserFigures.fatalErrors.length,
    browser_retried_errors: browserFigures.retriedErrors.length,
    edits_lost: editor.lost(final),
    edits_acknowledged: editor.acknowledged.length,
    edits_before_kill: beforeKill,
    segments_seen: newSegments.length,
    player_errors: playerErrors,
    lease_ms: cluster.leaseMs,
    ...viewers,
  };
  console.log(JSON.stringify(result));
}

/**
 * `viewerCount` viewers polling the live playlist every second and fetching each new segment once, through
 * the caching proxy, with at most 128 requests in flight. A request reached the origin unless nginx's cache
 * status (`X-Cache`) says HIT, STALE or UPDATING.
 */
/**
 * `viewerCount` simulated hls.js viewers (the testkit's `runHlsViewers`) through the caching proxy. Origin
 * requests are those the cache did not answer itself (not HIT, STALE or UPDATING in its `X-Cache` header).
 */
async function simulateViewers(base: string, viewerCount: number): Promise<Record<string, unknown>> {
  const stats = await runHlsViewers({
    playlistUrl: `${base}/index.m3u8`,
    viewers: viewerCount,
    durationMs: viewerSeconds * 1000,
    segmentDurationS: 2,
    cacheStatusHeader: 'x-cache',
  });
  const elapsedS = stats.elapsedMs / 1000;
  const fromCache = new Set(['HIT', 'STALE', 'UPDATING']);
  const originRequests = Object.entries(stats.statuses)
    .filter(([key]) => !fromCache.has(key.slice(key.indexOf(' ') + 1)))
    .reduce((sum, [, count]) => sum + count, 0);
  return {
    viewers: viewerCount,
    viewer_requests_per_s: round(stats.requests / elapsedS),
    viewer_requests_failed: stats.errors,
    viewer_segments_skipped: stats.skippedSegments,
    viewer_cache_statuses: stats.statuses,
    origin_requests_per_s: round(originRequests / elapsedS),
    origin_requests_per_s_per_100_viewers: round((originRequests / elapsedS) * (100 / viewerCount)),
  };
}

const teardown = async () => {
  await browser?.close().catch(() => {});
  await cluster?.stop();
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    void teardown().finally(() => process.exit(1));
  });
}

await main()
  .catch((error: unknown) => {
    log(`cluster bench failed: ${(error as Error).stack ?? String(error)}`);
    process.exitCode = 1;
  })
  .finally(teardown);
