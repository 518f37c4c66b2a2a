import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './chromium.js';
import { type MediaOrigin, startMediaOrigin } from './media-origin.js';
import { childProcessIds } from './processes.js';
import { sampleMedia } from './sample-media.js';

describe('launchChromium', () => {
  let scratch: string;
  let origin: MediaOrigin;
  let browser: Browser | undefined;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'nxs-chromium-'));
    await writeFile(
      join(scratch, 'index.html'),
      '<!doctype html><title>testkit</title><video id="clip" src="/media/clip.webm" preload="metadata"></video>',
    );
    await writeFile(join(scratch, 'payload.txt'), 'downloaded through Chromium');
    origin = await startMediaOrigin();
    origin.addDirectory('site', scratch);
    origin.add('clip.webm', await sampleMedia('vp9-opus-webm', { durationS: 2, width: 320, height: 180 }));
  });
  afterAll(async () => {
    await browser?.close();
    await origin.close();
    await rm(scratch, { recursive: true, force: true });
  });

  it('launches headless Chromium that loads a page and plays media metadata from a loopback server', async () => {
    const before = childProcessIds();
    browser = await launchChromium({ downloadsPath: join(scratch, 'downloads') });
    expect(browser.isConnected()).toBe(true);
    expect(childProcessIds().length).toBeGreaterThan(before.length);

    const page = await browser.newPage();
    await page.goto(`${origin.url}/files/site/index.html`);
    expect(await page.title()).toBe('testkit');
    const durationS = await page.evaluate(
      () =>
        new Promise<number>((resolve, reject) => {
          const video = document.getElementById('clip') as HTMLVideoElement;
          if (video.readyState >= 1) resolve(video.duration);
          video.addEventListener('loadedmetadata', () => resolve(video.duration));
          video.addEventListener('error', () => reject(new Error(`media error ${video.error?.code}`)));
        }),
    );
    expect(durationS).toBeGreaterThan(1.9);
    expect(durationS).toBeLessThan(2.2);
    expect(origin.requests.some((entry) => entry.path === '/media/clip.webm')).toBe(true);
  });

  it('saves downloads and closes without leaving a process behind', async () => {
    const current = browser ?? (await launchChromium());
    const page = await current.newPage({ acceptDownloads: true });
    await page.goto(`${origin.url}/files/site/index.html`);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.evaluate((href) => {
        const link = document.createElement('a');
        link.href = href;
        link.download = 'payload.txt';
        document.body.append(link);
        link.click();
      }, `${origin.url}/files/site/payload.txt`),
    ]);
    const saved = await download.path();
    expect(await readFile(saved, 'utf8')).toBe('downloaded through Chromium');

    const browserPids = childProcessIds();
    await current.close();
    browser = undefined;
    const remaining = childProcessIds();
    expect(browserPids.length).toBeGreaterThan(0);
    expect(remaining.filter((pid) => browserPids.includes(pid))).toEqual([]);
  });

  it('reports a missing binary as NXS_DEPENDENCY_MISSING with how to install it', async () => {
    await expect(launchChromium({ executablePath: join(scratch, 'no-chromium') })).rejects.toMatchObject({
      code: 'NXS_DEPENDENCY_MISSING',
      message: expect.stringContaining('apt-get install chromium'),
    });
  });
});
