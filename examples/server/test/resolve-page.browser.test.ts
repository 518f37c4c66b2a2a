import { execFile } from 'node:child_process';
import dns from 'node:dns';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { launchChromium, probeMedia } from '@nexstream/testkit';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { fixtureOfficialVideoId, fixtureSpotifyTrackLink } from '../src/fixtures.js';
import { eventually, productFiles, type scratch, seriousViolations, startTestServer } from './harness.js';

/** What the status line and the panels showed, each time the phase changed (recorded in the page). */
interface Snapshot {
  phase: string;
  cancel: boolean;
  spinner: boolean;
  panel: boolean;
  services: string;
}

declare global {
  interface Window {
    __snapshots?: Snapshot[];
    __progress?: Array<{ text: string; value: number | null }>;
  }
}

/** The container-level tags ffprobe reads from a file (`title`, `artist`, `album`, …). */
async function formatTags(path: string): Promise<Record<string, string>> {
  const { stdout } = await promisify(execFile)('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'format_tags',
    '-of',
    'json',
    path,
  ]);
  return (JSON.parse(stdout) as { format?: { tags?: Record<string, string> } }).format?.tags ?? {};
}

// The resolve & download page in real Chromium: the built web app served by the server in fixtures mode
// (replayed services, real yt-dlp and ffmpeg), the edge muxer's Worker and Service Worker; and the same page
// against a server in real mode that cannot reach any service.
describe('the resolve page in Chromium', () => {
  let work: Awaited<ReturnType<typeof scratch>>;
  let running: Awaited<ReturnType<typeof startTestServer>>;
  let browser: Browser;
  let context: BrowserContext;
  let artifacts: string;
  /** The server settings that serve the built web app and edge muxer. */
  let productEnv: Record<string, string>;

  beforeAll(async () => {
    ({ work, artifacts, env: productEnv } = await productFiles('resolve-page'));
    running = await startTestServer(productEnv);
    browser = await launchChromium({ downloadsPath: join(work.path, 'downloads') });
    context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  }, 300_000);

  afterAll(async () => {
    for (const line of running?.logs.lines ?? []) {
      if (line.level === 'error' || line.level === 'warn') console.error('[server]', JSON.stringify(line));
    }
    await browser?.close();
    await running?.close();
    await work?.remove();
  });

  /**
   * A server of its own, on a fresh registry: its first resolve of the demo track runs the race (with
   * candidates); the shared server answers later resolves from the registry.
   */
  async function freshServer() {
    return startTestServer(productEnv);
  }

  async function newPage(): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
    return page;
  }

  /** Opens the page with the Service Worker ready (the download pump). */
  async function openResolve(page: Page, base = running.server.url): Promise<void> {
    await page.goto(`${base}/#/resolve`);
    await page.evaluate(() =>
      Promise.race([
        navigator.serviceWorker.ready,
        new Promise((_, reject) => setTimeout(() => reject(new Error('no Service Worker')), 15_000)),
      ]),
    );
  }

  const status = (page: Page) => page.getByTestId('resolve-status');
  const waitReady = (page: Page) =>
    expect.poll(() => status(page).getAttribute('data-phase'), { timeout: 90_000 }).toBe('ready');

  async function resolveFixture(page: Page): Promise<void> {
    await page.getByLabel('Link, ISRC or search text').fill(fixtureSpotifyTrackLink);
    await page.getByRole('button', { name: 'Resolve' }).click();
    await waitReady(page);
  }

  async function saveDownload(page: Page, name: string): Promise<{ path: string; suggested: string }> {
    const downloaded = page.waitForEvent('download', { timeout: 90_000 });
    await page.getByRole('button', { name: /^Download( again)?$/ }).click();
    const file = await downloaded;
    expect(await file.failure()).toBeNull();
    const path = join(artifacts, name);
    await file.saveAs(path);
    await expect
      .poll(() => page.getByTestId('delivery-path').getAttribute('data-status'), { timeout: 60_000 })
      .toBe('done');
    return { path, suggested: file.suggestedFilename() };
  }

  it('goes resolving (Cancel, spinner) → finding the media → ready, never looking finished early, with the services that answered and the ones still working (items 4, 5)', async () => {
    const page = await newPage();
    const own = await freshServer();
    onTestFinished(() => own.close());
    await openResolve(page, own.server.url);
    await page.evaluate(() => {
      window.__snapshots = [];
      const record = () => {
        const phase =
          document.querySelector('[data-testid="resolve-status"]')?.getAttribute('data-phase') ?? '';
        const snapshot: Snapshot = {
          phase,
          cancel: [...document.querySelectorAll('button')].some((button) => button.textContent === 'Cancel'),
          spinner: Boolean(document.querySelector('[data-testid="resolve-status"] .spinner')),
          panel: Boolean(document.querySelector('[data-testid="download-panel"]')),
          services: document.querySelector('[data-testid="service-progress"]')?.textContent ?? '',
        };
        const last = window.__snapshots?.at(-1);
        if (!last || JSON.stringify(last) !== JSON.stringify(snapshot)) window.__snapshots?.push(snapshot);
      };
      new MutationObserver(record).observe(document.body, {
        subtree: true,
        childList: true,
        attributes: true,
        characterData: true,
      });
    });
    await page.getByLabel('Link, ISRC or search text').fill(fixtureSpotifyTrackLink);
    await page.getByRole('button', { name: 'Resolve' }).click();
    // While the services work: who answered, and what is still running.
    await expect
      .poll(() => page.getByTestId('service-progress').textContent(), { timeout: 30_000 })
      .toMatch(/Answered:.*Spotify.*Still working:/);
    await page.screenshot({ path: join(artifacts, 'resolving-1280.png'), fullPage: true });
    await waitReady(page);

    const snapshots = (await page.evaluate(() => window.__snapshots)) ?? [];
    const phases = [...new Set(snapshots.map((snapshot) => snapshot.phase))];
    expect(phases).toEqual(['idle', 'resolving', 'finding-media', 'ready']);
    for (const snapshot of snapshots) {
      if (snapshot.phase === 'resolving' || snapshot.phase === 'finding-media') {
        // Busy: Cancel and a spinner, no download panel yet.
        expect(snapshot).toMatchObject({ cancel: true, spinner: true, panel: false });
      }
      if (snapshot.phase === 'ready') expect(snapshot.cancel).toBe(false);
    }
    expect(snapshots.at(-1)).toMatchObject({ phase: 'ready', panel: true, spinner: false });
    // The services line, finished: every service that answered, nothing still working.
    const finished = await page.getByTestId('service-progress').textContent();
    expect(finished).toContain('MusicBrainz');
    expect(finished).toContain('YouTube');
    expect(finished).not.toContain('Still working');
    expect(await status(page).textContent()).toContain('Ready to download');
    await page.close();
  });

  it('keeps the input in ?q=: the result survives a reload and its link opens it again, with the hash route kept (item 5)', async () => {
    const page = await newPage();
    await openResolve(page);
    await resolveFixture(page);
    const url = new URL(page.url());
    expect(url.searchParams.get('q')).toBe(fixtureSpotifyTrackLink);
    expect(url.hash).toBe('#/resolve');
    const shared = await page.getByTestId('share-link').getAttribute('href');
    expect(shared).toBe(page.url());

    await page.reload();
    await waitReady(page);
    expect(await page.getByLabel('Link, ISRC or search text').inputValue()).toBe(fixtureSpotifyTrackLink);
    expect(await page.getByTestId('metadata-card').textContent()).toContain(
      'Harder, Better, Faster, Stronger',
    );

    // The shared link in a fresh page, and the hash routing still works around it.
    const other = await newPage();
    await other.goto(shared ?? '');
    await waitReady(other);
    await other.getByRole('link', { name: 'Channel' }).click();
    await expect.poll(() => other.url()).toContain('#/channel');
    await other.goBack();
    await waitReady(other);
    await other.close();
    await page.close();
  });

  it('speaks plainly by default; codecs, scores and the telemetry sit behind Details; Audio / Video with no quality for MP3 and one size (item 6)', async () => {
    const page = await newPage();
    const own = await freshServer();
    onTestFinished(() => own.close());
    await openResolve(page, own.server.url);
    await resolveFixture(page);
    const box = page.getByTestId('resolve-box');
    const plain = (await box.innerText()).toLowerCase();
    for (const word of [
      'edge',
      'mux',
      'avc1',
      'mp4a',
      'youtube:isrc',
      'held:',
      'generic:',
      'telemetry',
      'score',
    ]) {
      expect(plain, word).not.toContain(word);
    }
    const toggle = page.getByRole('button', { name: 'Details', exact: true });
    expect(await toggle.getAttribute('aria-expanded')).toBe('false');
    // One size estimate in the summary.
    const summary = (await page.getByTestId('plan').textContent()) ?? '';
    expect(summary.match(/\d+(\.\d+)? (B|kB|MB|GB)/g)).toHaveLength(1);

    await page.getByRole('radio', { name: 'Audio only', exact: true }).check();
    await expect.poll(() => page.getByLabel('File type').inputValue()).toBe('m4a');
    await page.getByLabel('Quality').waitFor();
    await page.getByLabel('File type').selectOption('mp3');
    await page.getByLabel('Quality').waitFor({ state: 'detached' });
    await page.getByRole('radio', { name: 'Video', exact: true }).check();
    await expect.poll(() => page.getByLabel('File type').inputValue()).toBe('mp4');

    await toggle.click();
    expect(await page.getByRole('button', { name: 'Hide details' }).getAttribute('aria-expanded')).toBe(
      'true',
    );
    const technical = await box.innerText();
    expect(technical).toContain('Telemetry');
    expect(technical).toContain('avc1');
    expect(technical).toMatch(/score \d\.\d\d/);
    expect(technical).toContain('youtube-music');
    expect(technical).toContain('youtube:hbfsDemo001');
    await page.close();
  });

  it('explains a file type the source cannot give, never delivers a stale plan, and says how each file was made (item 2)', async () => {
    const page = await newPage();
    await openResolve(page);
    await resolveFixture(page);
    const type = page.getByLabel('File type');
    // WebM cannot hold this H.264 video: disabled, with the reason in words.
    expect(await type.locator('option[value="webm"]').isDisabled()).toBe(true);
    const note = (await page.getByTestId('file-type-note').textContent()) ?? '';
    expect(note).toContain('WebM is not available');
    expect(note).toContain('H.264');
    expect(note).not.toMatch(/spotify link/i);

    // MP4: joined in the browser.
    await expect.poll(() => page.getByTestId('plan').getAttribute('data-route')).toBe('edge');
    const video = await saveDownload(page, 'item2-video.mp4');
    expect(video.suggested).toMatch(/\.mp4$/);
    expect(await page.getByTestId('delivery-path').getAttribute('data-path')).toBe('edge');
    expect(await page.getByTestId('delivery-path').textContent()).toContain('joined in your browser');
    const probedVideo = await probeMedia(video.path);
    expect(probedVideo.streams.map((stream) => stream.codec_name).sort()).toEqual(['aac', 'h264']);

    // Switch to M4A and click at once: the file is the M4A, never the previous plan's MP4.
    await page.getByRole('radio', { name: 'Audio only', exact: true }).check();
    const audio = await saveDownload(page, 'item2-audio.m4a');
    expect(audio.suggested).toMatch(/\.m4a$/);
    // The M4A is the video site's own file, copied in the browser to add the track's tags.
    expect(await page.getByTestId('delivery-path').getAttribute('data-path')).toBe('copy');
    const path = (await page.getByTestId('delivery-path').textContent()) ?? '';
    expect(path).toContain('Copied in your browser');
    expect(path).not.toMatch(/mux|ffmpeg|joined/i);
    const probedAudio = await probeMedia(audio.path);
    expect(probedAudio.streams.map((stream) => stream.codec_name)).toEqual(['aac']);
    expect(await formatTags(audio.path)).toMatchObject({
      title: 'Harder, Better, Faster, Stronger',
      artist: 'Daft Punk',
      album: 'Discovery',
    });
    expect(await formatTags(video.path)).toMatchObject({ title: 'Harder, Better, Faster, Stronger' });
    await page.close();
  });

  it('never shows more than 100 %: an MP3 whose size differs from the estimate shows its bytes alone (item 9)', async () => {
    const page = await newPage();
    await openResolve(page);
    await resolveFixture(page);
    await page.getByRole('radio', { name: 'Audio only', exact: true }).check();
    await page.getByLabel('File type').selectOption('mp3');
    await expect.poll(() => page.getByTestId('plan').getAttribute('data-route')).toBe('server');
    await page.evaluate(() => {
      window.__progress = [];
      new MutationObserver(() => {
        const text = document.querySelector('[data-testid="download-progress"]')?.textContent;
        const bar = document.querySelector<HTMLProgressElement>('.dl-progress progress');
        if (text) window.__progress?.push({ text, value: bar?.hasAttribute('value') ? bar.value : null });
      }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    });
    const file = await saveDownload(page, 'item9.mp3');
    expect(file.suggested).toMatch(/\.mp3$/);
    expect((await probeMedia(file.path)).streams.map((stream) => stream.codec_name)).toEqual(['mp3']);
    expect(await page.getByTestId('delivery-path').textContent()).toContain('Converted to MP3 on the server');

    const seen = (await page.evaluate(() => window.__progress)) ?? [];
    expect(seen.length).toBeGreaterThan(0);
    const bytes = (text: string) => {
      const [value = '0', unit = 'B'] = text.trim().split(' ');
      return Number(value) * ({ B: 1, kB: 1e3, MB: 1e6, GB: 1e9 }[unit] ?? 1);
    };
    for (const { text, value } of seen) {
      const of = /^(.+?) of (.+?) ·/.exec(text);
      if (of?.[1] && of[2]) expect(bytes(of[1]), text).toBeLessThanOrEqual(bytes(of[2]));
      if (value !== null) expect(value).toBeLessThanOrEqual(100);
    }
    expect(seen.at(-1)?.text).toMatch(/^Saved \d/);
    await page.close();
  });

  it('switches to another video with "Use this one": the official video plays the match, and the album, ISRC, sources and the other candidates stay (item 7)', async () => {
    const own = await freshServer();
    onTestFinished(() => own.close());
    const page = await newPage();
    await openResolve(page, own.server.url);
    // The demo search (YouTube Music) answers with the art track and the official video: two real candidates.
    await resolveFixture(page);
    const candidates = page.getByTestId('candidate');
    expect(await candidates.count()).toBeGreaterThanOrEqual(2);
    const before = {
      album: await page.getByTestId('album').textContent(),
      isrc: await page.getByTestId('isrc').textContent(),
      sources: await page.getByTestId('sources').textContent(),
      count: await candidates.count(),
    };
    expect(before.isrc).toContain('GBDUW0000059');
    await page.getByRole('button', { name: /^Use this one: .*Official Video/ }).click();
    await expect
      .poll(() => page.getByTestId('match-status').textContent(), { timeout: 60_000 })
      .toContain('Official Video');
    await waitReady(page);
    expect(new URL(page.url()).searchParams.get('video')).toContain(fixtureOfficialVideoId);
    expect(await page.getByTestId('album').textContent()).toBe(before.album);
    expect(await page.getByTestId('isrc').textContent()).toBe(before.isrc);
    expect(await page.getByTestId('sources').textContent()).toBe(before.sources);
    expect(await candidates.count()).toBe(before.count);
    await page.getByTestId('download-panel').waitFor();
    await page.screenshot({ path: join(artifacts, 'pick-1280.png'), fullPage: true });
    await page.close();
  });

  it('keeps the match, the album, ISRC, sources and the other candidates when the server refuses a pick (item 7)', async () => {
    const own = await freshServer();
    onTestFinished(() => own.close());
    const page = await newPage();
    await openResolve(page, own.server.url);
    // A candidate that is not a YouTube video (a made-up 12-character id) is added to the server's real event
    // stream (the first resolve only): the pick goes to the server, which refuses it.
    await page.route(
      (url) => url.pathname === '/api/resolve' && !url.searchParams.has('override'),
      async (route) => {
        const response = await route.fetch();
        const body = await response.text();
        const alternative = {
          type: 'candidate',
          engine: 'youtube:search',
          candidate: {
            mediaId: 'youtube:hbfsLive0001',
            title: 'Harder, Better, Faster, Stronger (Alive 2007)',
            url: 'https://www.youtube.com/watch?v=hbfsLive0001',
            channel: 'Daft Punk',
            durationMs: 224_000,
          },
          score: 0.62,
          parts: { title: 0.8, artist: 1 },
          grade: 'fuzzy',
          reason: 'a live version',
        };
        await route.fulfill({
          response,
          body: body.replace(
            'event: settled',
            `event: candidate\ndata: ${JSON.stringify(alternative)}\n\nevent: settled`,
          ),
        });
      },
    );
    await resolveFixture(page);
    await page.unrouteAll();
    const candidates = page.getByTestId('candidate');
    expect(await candidates.count()).toBeGreaterThanOrEqual(2);
    const before = {
      album: await page.getByTestId('album').textContent(),
      isrc: await page.getByTestId('isrc').textContent(),
      sources: await page.getByTestId('sources').textContent(),
      count: await candidates.count(),
    };
    expect(before.album).toBe('Discovery');
    expect(before.isrc).toContain('GBDUW0000059');

    await page.getByRole('button', { name: /^Use this one: .*Alive 2007/ }).click();
    // The added candidate's id (12 characters) is not a YouTube video id, so the server refuses the pick (a JSON 400
    // before the stream opens): the page says so, keeps the match and everything it knew.
    const error = page.getByTestId('error');
    await expect
      .poll(() => error.textContent(), { timeout: 30_000 })
      .toContain('Could not switch to that video');
    expect(await error.textContent()).toContain('can only switch to a YouTube video');
    expect(await error.getByRole('button', { name: 'Try again' }).count()).toBe(0);
    await waitReady(page);
    expect(await page.getByTestId('album').textContent()).toBe(before.album);
    expect(await page.getByTestId('isrc').textContent()).toBe(before.isrc);
    expect(await page.getByTestId('sources').textContent()).toBe(before.sources);
    expect(await candidates.count()).toBe(before.count);
    await page.getByTestId('download-panel').waitFor();
    await page.screenshot({ path: join(artifacts, 'pick-refused-1280.png'), fullPage: true });
    // The address names no refused video: a reload gives the same match again.
    expect(new URL(page.url()).searchParams.has('video')).toBe(false);
    await page.close();
  });

  it('says "Found in the registry — verified" when the second resolve is answered by the registry', async () => {
    const own = await freshServer();
    onTestFinished(() => own.close());
    const page = await newPage();
    await openResolve(page, own.server.url);
    await resolveFixture(page);
    expect(await status(page).getAttribute('data-via')).toBe('race');
    // The first resolve verified the demo track and wrote it to the registry.
    await eventually(() =>
      own.logs.lines.some((line) => line.msg === 'resolve: finished' && line.written === true),
    );
    await page.getByRole('button', { name: 'Resolve' }).click();
    await waitReady(page);
    expect(await status(page).getAttribute('data-via')).toBe('registry');
    expect(await status(page).textContent()).toContain('Found in the registry — verified');
    expect(await page.getByTestId('registry-badge').textContent()).toBe('Found in the registry — verified');
    expect(await page.getByTestId('service-progress').textContent()).toContain('NexStream registry');
    await page.screenshot({ path: join(artifacts, 'registry-hit-1280.png'), fullPage: true });
    await page.close();
  });

  it('takes screenshots of the page at 1280 and 390 px: empty, working, ready and downloaded', async () => {
    const page = await newPage();
    const own = await freshServer();
    onTestFinished(() => own.close());
    await openResolve(page, own.server.url);
    await page.screenshot({ path: join(artifacts, 'resolve-empty-1280.png'), fullPage: true });
    await resolveFixture(page);
    await page.screenshot({ path: join(artifacts, 'resolve-1280.png'), fullPage: true });
    await saveDownload(page, 'screens.mp4');
    await page.screenshot({ path: join(artifacts, 'resolve-done-1280.png'), fullPage: true });
    await page.getByRole('button', { name: 'Details', exact: true }).click();
    await page.screenshot({ path: join(artifacts, 'resolve-details-1280.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('button', { name: 'Hide details' }).click();
    await page.screenshot({ path: join(artifacts, 'resolve-390.png'), fullPage: true });
    await page.close();
  });

  it('works by keyboard alone, and axe-core finds no serious or critical violation in any state', async () => {
    const own = await freshServer();
    onTestFinished(() => own.close());
    const page = await newPage();
    await openResolve(page, own.server.url);
    expect(await seriousViolations(page)).toEqual([]);
    // Tab to the box, type, Enter.
    const box = page.getByLabel('Link, ISRC or search text');
    for (
      let step = 0;
      step < 20 && !(await box.evaluate((element) => element === document.activeElement));
      step += 1
    ) {
      await page.keyboard.press('Tab');
    }
    await page.keyboard.type(fixtureSpotifyTrackLink);
    await page.keyboard.press('Enter');
    // Cancel is reachable while it works (Escape-free: a button in the tab order).
    await page.getByRole('button', { name: 'Cancel' }).waitFor();
    await waitReady(page);
    expect(await seriousViolations(page)).toEqual([]);

    // Audio only with the arrow keys, then Download with Enter.
    await page.getByRole('radio', { name: 'Video', exact: true }).focus();
    await page.keyboard.press('ArrowRight');
    expect(await page.getByRole('radio', { name: 'Audio only', exact: true }).isChecked()).toBe(true);
    await expect.poll(() => page.getByTestId('plan').getAttribute('data-route')).toBe('direct');
    const downloaded = page.waitForEvent('download', { timeout: 90_000 });
    await page.getByRole('button', { name: 'Download', exact: true }).focus();
    await page.keyboard.press('Enter');
    expect((await downloaded).suggestedFilename()).toMatch(/\.m4a$/);
    await expect
      .poll(() => page.getByTestId('delivery-path').getAttribute('data-status'), { timeout: 60_000 })
      .toBe('done');

    // Details by keyboard: Space opens it, the technical view is there and passes axe too.
    await page.getByRole('button', { name: 'Details', exact: true }).focus();
    await page.keyboard.press('Space');
    await page.getByTestId('details').waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await seriousViolations(page)).toEqual([]);
    await page.close();
  });

  it('offline (real mode, no service reachable): says the server cannot reach the music services and what to do (item 3)', async () => {
    // Real mode with the machine offline: every name lookup of this process fails as it does without a
    // network (the in-process server's engines really connect and really fail; loopback still works).
    const lookup = dns.lookup;
    const offline = ((hostname: string, options: unknown, callback?: unknown) => {
      const done = (typeof options === 'function' ? options : callback) as (error: Error) => void;
      if (hostname === 'localhost' || hostname.startsWith('127.')) {
        return (lookup as (...args: unknown[]) => void)(hostname, options, callback);
      }
      process.nextTick(() =>
        done(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname })),
      );
    }) as typeof dns.lookup;
    dns.lookup = offline;
    const real = await startTestServer({
      NEXSTREAM_FIXTURES: '0',
      ...productEnv,
    });
    try {
      const page = await newPage();
      await page.goto(`${real.server.url}/#/resolve`);
      await page.getByLabel('Link, ISRC or search text').fill(fixtureSpotifyTrackLink);
      await page.getByRole('button', { name: 'Resolve' }).click();
      await expect.poll(() => status(page).getAttribute('data-phase'), { timeout: 60_000 }).toBe('failed');
      const error = page.getByTestId('error');
      expect(await error.getAttribute('data-code')).toBe('NXS_UNREACHABLE');
      const text = (await error.innerText()).replace(/\s+/g, ' ');
      expect(text).toContain('The server cannot reach the music services');
      expect(text).toContain('NEXSTREAM_FIXTURES=1');
      expect(text).not.toMatch(/in a moment/i);
      await error.getByRole('button', { name: 'Try again' }).waitFor();
      await page.screenshot({ path: join(artifacts, 'offline-1280.png'), fullPage: true });
      // Try again resolves again and fails the same way, without a generic line.
      await error.getByRole('button', { name: 'Try again' }).click();
      await expect.poll(() => status(page).getAttribute('data-phase'), { timeout: 60_000 }).toBe('failed');
      expect(await page.getByTestId('error').getAttribute('data-code')).toBe('NXS_UNREACHABLE');
      await page.close();
    } finally {
      dns.lookup = lookup;
      await real.close();
    }
  });
});
