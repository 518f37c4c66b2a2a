import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { launchChromium, probeMedia, sampleMedia } from '@nexstream/testkit';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureSpotifyTrackLink } from '../src/fixtures.js';
import type { RunningServer } from '../src/server.js';
import { eventually, productFiles, type scratch, startTestServer } from './harness.js';

// The whole product in real Chromium: the built web app served by the server in fixtures mode (replay server
// for the metadata services, yt-dlp against the media origin), the edge muxer's Worker + Service Worker, and a
// live channel played by hls.js.
describe('the product in Chromium (fixtures mode)', () => {
  let work: Awaited<ReturnType<typeof scratch>>;
  let running: Awaited<ReturnType<typeof startTestServer>>;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let artifacts: string;

  beforeAll(async () => {
    let env: Record<string, string>;
    ({ work, artifacts, env } = await productFiles('e2e'));
    running = await startTestServer(env);
    server = running.server;
    browser = await launchChromium({ downloadsPath: join(work.path, 'downloads') });
    const context = await browser.newContext({
      acceptDownloads: true,
      viewport: { width: 1100, height: 900 },
    });
    page = await context.newPage();
    // Page errors and console messages end up in the test output when something fails.
    page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning')
        console.error(`[page ${message.type()}] ${message.text()}`);
    });
  }, 300_000);

  afterAll(async () => {
    for (const line of running?.logs.lines ?? []) {
      if (line.level === 'warn' || line.level === 'error') console.error('[server]', JSON.stringify(line));
    }
    await browser?.close();
    await running?.close();
    await work?.remove();
  });

  async function download(path: 'edge' | 'server'): Promise<string> {
    // Where the file is put together is a technical choice, under Details.
    const details = page.getByRole('button', { name: 'Details', exact: true });
    if (await details.count()) await details.click();
    await page.getByLabel(path === 'edge' ? 'in this browser' : 'on the server').check();
    const downloaded = page.waitForEvent('download', { timeout: 90_000 });
    await page.getByRole('button', { name: /^Download( again)?$/ }).click();
    const file = await downloaded;
    expect(await file.failure()).toBeNull();
    const target = join(artifacts, `download-${path}.mp4`);
    await file.saveAs(target);
    const status = page.getByTestId('delivery-path');
    await expect.poll(() => status.getAttribute('data-status'), { timeout: 60_000 }).toBe('done');
    expect(await status.getAttribute('data-path')).toBe(path);
    return target;
  }

  it('resolves a Spotify link: metadata first, then the match; downloads through the edge and the server', async () => {
    await page.goto(`${server.url}/#/resolve`);
    await page.evaluate(() =>
      Promise.race([
        navigator.serviceWorker.ready,
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error('the Service Worker never became ready')), 15_000),
        ),
      ]),
    );
    await page.getByLabel('Link, ISRC or search text').fill(fixtureSpotifyTrackLink);
    await page.getByRole('button', { name: 'Resolve' }).click();

    const card = page.getByTestId('metadata-card');
    await card.waitFor({ timeout: 30_000 });
    await expect.poll(() => card.textContent()).toContain('Harder, Better, Faster, Stronger');
    await page.screenshot({ path: join(artifacts, 'resolve-metadata.png'), fullPage: true });

    await expect
      .poll(() => page.getByTestId('resolve-status').getAttribute('data-phase'), { timeout: 60_000 })
      .toBe('ready');
    await expect
      .poll(() => page.getByTestId('plan').getAttribute('data-route'), { timeout: 60_000 })
      .toBe('edge');
    await page.screenshot({ path: join(artifacts, 'resolve-settled.png'), fullPage: true });

    for (const path of ['edge', 'server'] as const) {
      const file = await download(path);
      const probed = await probeMedia(file);
      expect(probed.streams.map((stream) => stream.codec_name).sort()).toEqual(['aac', 'h264']);
      expect(probed.durationS).toBeGreaterThan(5);
    }
    await page.screenshot({ path: join(artifacts, 'download.png'), fullPage: true });

    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(artifacts, 'resolve-phone.png'), fullPage: true });
    await page.setViewportSize({ width: 1100, height: 900 });
  });

  it('runs a channel: upload two clips, play, reorder, play now, and the player keeps playing', async () => {
    const clip = await sampleMedia('h264-aac-mp4', { durationS: 4 });
    const [first, second] = [join(work.path, 'first-clip.mp4'), join(work.path, 'second-clip.mp4')];
    await Promise.all([copyFile(clip, first), copyFile(clip, second)]);

    await page.goto(`${server.url}/#/channel`);
    await page.getByTestId('upload-input').setInputFiles([first, second]);
    const items = page.getByTestId('playlist-item');
    await expect.poll(() => items.count(), { timeout: 60_000 }).toBe(2);
    const names = async () =>
      items.evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-name')));
    expect(await names()).toEqual(['first-clip.mp4', 'second-clip.mp4']);

    await page.getByRole('button', { name: 'Start' }).click();
    const status = page.getByTestId('channel-status');
    await expect.poll(() => status.getAttribute('data-state'), { timeout: 30_000 }).toBe('playing');
    const currentTime = () =>
      page.getByTestId('player').evaluate((video: HTMLVideoElement) => video.currentTime);
    await eventually(async () => (await currentTime()) > 1, 60_000);
    await page.screenshot({ path: join(artifacts, 'channel-playing.png'), fullPage: true });

    // Drag the second clip onto the first.
    await items.nth(1).dragTo(items.nth(0));
    await expect.poll(names, { timeout: 15_000 }).toEqual(['second-clip.mp4', 'first-clip.mp4']);

    // Play the clip that is not on air now.
    const onAir = await page.getByTestId('now-playing').textContent();
    const other = onAir === 'first-clip.mp4' ? 'second-clip.mp4' : 'first-clip.mp4';
    await items.filter({ hasText: other }).getByRole('button', { name: 'Play now' }).click();
    await expect.poll(() => page.getByTestId('now-playing').textContent(), { timeout: 30_000 }).toBe(other);

    const before = await currentTime();
    await eventually(async () => (await currentTime()) > before + 2, 30_000);
    expect(await page.getByTestId('player').evaluate((video: HTMLVideoElement) => video.paused)).toBe(false);
    await page.screenshot({ path: join(artifacts, 'channel-after-play-now.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(artifacts, 'channel-phone.png'), fullPage: true });
    await page.setViewportSize({ width: 1100, height: 900 });

    await page.getByRole('button', { name: 'Stop' }).click();
    await expect.poll(() => status.getAttribute('data-state'), { timeout: 30_000 }).toBe('stopped');
  });
});
