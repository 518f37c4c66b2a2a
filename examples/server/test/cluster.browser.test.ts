import { launchChromium } from '@nexstream/testkit';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Cluster,
  createPlaylistEditor,
  type PlayerRecord,
  playerFigures,
  playerRecord,
  startCluster,
  until,
} from './cluster-harness.js';

// Issue 18's cluster test, on one machine with real components: sqld, three example-server processes and
// Debian's nginx as the round-robin balancer; hls.js in Chromium plays the channel through the balancer while
// the channel's owner is SIGKILLed, and playlist edits go through every instance and the balancer.
describe('a cluster of three instances behind nginx, played by hls.js in Chromium', () => {
  let running: Cluster | undefined;
  let browser: Browser | undefined;
  let page: Page;

  beforeAll(async () => {
    const [started, launched] = await Promise.allSettled([startCluster(), launchChromium()]);
    if (started.status === 'fulfilled') running = started.value;
    if (launched.status === 'fulfilled') browser = launched.value;
    if (started.status === 'rejected') throw started.reason;
    if (launched.status === 'rejected') throw launched.reason;
    page = await (browser as Browser).newPage();
    page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    // Throws when a process group of the cluster (a server, its ffmpeg, nginx) is still running.
    await running?.stop();
  }, 60_000);

  it('plays on when the owner is SIGKILLed: standing still at most 10 s, one discontinuity, no fatal error, no acknowledged edit lost', async () => {
    const cluster = running!;
    const { instances, balancer } = cluster;
    await cluster.startChannel();
    await page.goto(cluster.playerUrl);
    const record = () => playerRecord(page);
    await until(
      'hls.js playing 4 s of the channel',
      async () => ((await record()).currentTime >= 4 ? true : undefined),
      45_000,
    );

    // Edits before the kill: one through each instance (two of them forward to the owner) and one through
    // the balancer.
    const editor = createPlaylistEditor();
    for (const instance of instances) await editor.editUntilAcknowledged(instance.url, 10_000);
    await editor.editUntilAcknowledged(balancer, 10_000);

    const owner = await until('the channel owner', () => cluster.owner(), 10_000);
    const killedAt = Date.now();
    await cluster.kill(owner);

    // Edits after the kill, through each survivor and the balancer: refused (503) while the lease moves, then
    // acknowledged by the new owner.
    const survivors = instances.filter((instance) => instance.alive);
    expect(survivors).toHaveLength(2);
    for (const instance of survivors) await editor.editUntilAcknowledged(instance.url, 30_000);
    await editor.editUntilAcknowledged(balancer, 30_000);
    const newOwner = await until(
      'a live owner',
      async () => {
        const current = await cluster.owner();
        return current?.alive ? current : undefined;
      },
      20_000,
    );
    expect(newOwner.index).not.toBe(owner.index);

    // Playback past the discontinuity: three fragments of the new owner's played (6 s of media).
    const crossed = (list: PlayerRecord['fragments']) => {
      const before = list.filter((fragment) => fragment.at <= killedAt).at(-1)?.cc;
      return list.filter((fragment) => fragment.at > killedAt && fragment.cc !== before).length;
    };
    const final = await until(
      'three fragments played after the discontinuity',
      async () => {
        const now = await record();
        return crossed(now.fragments) >= 3 || now.errors.some((error) => error.fatal) ? now : undefined;
      },
      60_000,
    );
    const figures = playerFigures(final, killedAt);
    console.info(`cluster failover in Chromium: ${JSON.stringify(figures)}`);
    expect(figures.fatalErrors).toEqual([]);
    expect(figures.longestStallS).toBeLessThanOrEqual(10);
    expect(figures.stalledAfterKillS).toBeLessThanOrEqual(10);
    expect(figures.discontinuitiesAfterKill).toBe(1);
    // Still playing: `currentTime` moves on (by half a second, within 10 s).
    const playedTo = (await record()).currentTime;
    await until(
      'the video to keep playing',
      async () => ((await record()).currentTime >= playedTo + 0.5 ? true : undefined),
      10_000,
    );

    // Every acknowledged edit is in the playlist, and every instance and the balancer serve the same one.
    expect(editor.acknowledged).toHaveLength(instances.length + 1 + survivors.length + 1);
    const playlists = await Promise.all(
      [balancer, ...survivors.map((instance) => instance.url)].map((base) => editor.current(base)),
    );
    const [served] = playlists;
    if (!served) throw new Error('no playlist through the balancer');
    expect(editor.lost(served)).toBe(0);
    expect(served.revision).toBe(editor.acknowledged.at(-1)?.revision);
    for (const playlist of playlists) expect(playlist).toEqual(served);
  }, 150_000);
});
