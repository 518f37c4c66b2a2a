import { join } from 'node:path';
import { launchChromium } from '@nexstream/testkit';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureSpotifyTrackLink } from '../src/fixtures.js';
import type { RunningServer } from '../src/server.js';
import {
  eventually,
  fixtureMatch,
  productFiles,
  type scratch,
  seriousViolations,
  startTestServer,
} from './harness.js';

/** The widths every page is checked at: a laptop and a phone. */
const viewports = [
  { name: '1280', width: 1280, height: 900 },
  { name: '390', width: 390, height: 844 },
] as const;

/** The fixture album (Deezer's album.json): "Discovery", whose listed track is "One More Time". */
const fixtureAlbumLink = 'https://www.deezer.com/album/302127';

// Every page of the product in real Chromium, at a laptop's and a phone's width, checked by axe-core; and the
// Registry and Seed pages driven by keyboard alone. The server runs in fixtures mode on a real libSQL registry.
describe('accessibility of every page (axe-core in Chromium, fixtures mode)', () => {
  let work: Awaited<ReturnType<typeof scratch>>;
  let running: Awaited<ReturnType<typeof startTestServer>>;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let artifacts: string;

  beforeAll(async () => {
    let env: Record<string, string>;
    ({ work, artifacts, env } = await productFiles('a11y'));
    running = await startTestServer(env);
    server = running.server;
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await running?.close();
    await work?.remove();
  });

  let stored = false;
  /**
   * Stores two mappings in the registry, once: the fixture track with working links, and a track off the album
   * whose links expired and failed to refresh. Not before the Resolve page's check, so that its resolve of the
   * demo link runs the real race instead of answering from the registry.
   */
  async function storeMappings(): Promise<void> {
    if (stored) return;
    stored = true;
    const hour = 60 * 60 * 1000;
    const { registry } = server.services;
    await registry.put(
      fixtureMatch({
        isrc: 'GBDUW0000059',
        videoId: 'gAjR4_CbPpQ',
        title: 'Harder, Better, Faster, Stronger',
        deezer: '3135556',
        spotify: '5W3cjX2J3tjhG8zb6u0qHn',
        expiresAt: Date.now() + 6 * hour,
      }),
    );
    // A mapping off the album whose links expired and failed to refresh once: the "needs a refresh" list.
    await registry.put(
      fixtureMatch({
        isrc: 'GBDUW0000058',
        videoId: 'dwDns8x3Jb4',
        title: 'Digital Love',
        deezer: '3135555',
        expiresAt: Date.now() - hour,
      }),
    );
    await registry.recordRefresh('youtube:dwDns8x3Jb4', {
      ok: false,
      reason: 'HTTP 403 from the video site',
    });
  }

  /** Opens a page by its hash route and waits until it rendered its heading (lazy pages load first). */
  async function open(route: string): Promise<void> {
    await page.goto(`${server.url}/${route}`);
    await page.locator('main h1').first().waitFor({ timeout: 30_000 });
  }

  /** Waits until the Registry page shows its counts and its list of links due for a refresh. */
  async function registryLoaded(): Promise<void> {
    await expect
      .poll(() => page.locator('[data-count="tracks"]').textContent(), { timeout: 30_000 })
      .toBe('2');
    await page.getByTestId('registry-due-list').waitFor({ timeout: 30_000 });
  }

  async function lookUp(text: string): Promise<void> {
    await page.getByLabel('ISRC or track link').fill(text);
    await page.getByRole('button', { name: 'Look up' }).click();
  }

  async function seed(link: string): Promise<void> {
    await page.getByLabel('Album, playlist or artist link').fill(link);
    await page.getByRole('button', { name: 'Start seeding' }).click();
    await expect
      .poll(() => page.getByTestId('seed-status').getAttribute('data-phase'), { timeout: 90_000 })
      .toBe('finished');
    await page.getByTestId('seed-summary').waitFor();
  }

  async function check(label: string, violations: Map<string, string[]>): Promise<void> {
    const found = await seriousViolations(page);
    if (found.length > 0) violations.set(label, found);
  }

  function expectNone(violations: Map<string, string[]>): void {
    const report = [...violations].map(([label, lines]) => `${label}:\n  ${lines.join('\n  ')}`).join('\n');
    expect(report, 'serious or critical axe violations').toBe('');
  }

  async function screenshot(name: string): Promise<void> {
    await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
  }

  it('the Resolve page has no serious or critical violation, empty and after a finished resolve', async () => {
    const violations = new Map<string, string[]>();
    for (const viewport of viewports) {
      await page.setViewportSize(viewport);
      await open('#/resolve');
      await check(`#/resolve at ${viewport.name} px`, violations);
      const finished = running.logs.lines.filter((line) => line.msg === 'resolve: finished').length;
      await page.getByLabel('Link, ISRC or search text').fill(fixtureSpotifyTrackLink);
      await page.getByLabel('Link, ISRC or search text').press('Enter');
      // Finished on the server, then on the page: the download choice is offered.
      await eventually(
        () => running.logs.lines.filter((line) => line.msg === 'resolve: finished').length > finished,
        90_000,
      );
      await page
        .getByRole('button', { name: /download/i })
        .first()
        .waitFor({ timeout: 60_000 });
      await check(`#/resolve after a finished resolve at ${viewport.name} px`, violations);
    }
    expectNone(violations);
  }, 300_000);

  it('the Channel page has no serious or critical violation', async () => {
    const violations = new Map<string, string[]>();
    for (const viewport of viewports) {
      await page.setViewportSize(viewport);
      await open('#/channel');
      await page.getByTestId('player').waitFor({ timeout: 30_000 });
      await check(`#/channel at ${viewport.name} px`, violations);
    }
    expectNone(violations);
  }, 120_000);

  it('the Registry page has no serious or critical violation, with counts, with a mapping and with an error', async () => {
    await storeMappings();
    const violations = new Map<string, string[]>();
    for (const viewport of viewports) {
      await page.setViewportSize(viewport);
      await open('#/registry');
      await registryLoaded();
      await check(`#/registry at ${viewport.name} px`, violations);
      await lookUp(fixtureSpotifyTrackLink);
      await page.getByTestId('registry-mapping').waitFor({ timeout: 30_000 });
      expect(await page.getByTestId('registry-link-state').textContent()).toContain('work');
      await check(`#/registry with a mapping at ${viewport.name} px`, violations);
      await screenshot(`registry-${viewport.name}`);
      await lookUp('https://www.deezer.com/track/1');
      await page.getByRole('alert').waitFor({ timeout: 30_000 });
      expect(await page.getByRole('alert').textContent()).toContain('not in the registry yet');
      await check(`#/registry with an error at ${viewport.name} px`, violations);
    }
    expectNone(violations);
  }, 180_000);

  it('the Seed page has no serious or critical violation, before and after seeding an album', async () => {
    const violations = new Map<string, string[]>();
    for (const viewport of viewports) {
      await page.setViewportSize(viewport);
      await open('#/seed');
      await check(`#/seed at ${viewport.name} px`, violations);
      await seed(fixtureAlbumLink);
      // Every listed track is accounted for, in words.
      const items = page.getByTestId('seed-item');
      expect(await items.count()).toBeGreaterThan(0);
      for (const text of await items.allTextContents()) expect(text).toMatch(/stored/i);
      await check(`#/seed after a seed at ${viewport.name} px`, violations);
      await screenshot(`seed-${viewport.name}`);
    }
    expectNone(violations);
  }, 300_000);

  it('opens each page at its hash route, keeps the ?q= query string, and moves focus to the page on navigation', async () => {
    await page.setViewportSize(viewports[0]);
    const headings: Record<string, RegExp> = {
      '#/registry': /Registry/,
      '#/seed': /Seed/,
      '#/channel': /channel/i,
    };
    for (const [route, heading] of Object.entries(headings)) {
      await page.goto(`${server.url}/?q=GBDUW0000059${route}`);
      await expect
        .poll(() => page.locator('main h1').first().textContent(), { timeout: 30_000 })
        .toMatch(heading);
      expect(await page.evaluate(() => location.search)).toBe('?q=GBDUW0000059');
      expect(await page.locator('nav a[aria-current="page"]').getAttribute('href')).toBe(route);
    }
    await page.getByRole('link', { name: 'Registry' }).click();
    await page.locator('main h1', { hasText: 'Registry' }).waitFor({ timeout: 30_000 });
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    expect(await page.evaluate(() => location.search)).toBe('?q=GBDUW0000059');
    expect(await page.title()).toContain('Registry');
  }, 120_000);

  /** Tabs through the page from the top; returns the controls inside `main` that received focus, in order. */
  async function tabThroughMain(): Promise<string[]> {
    // From the skip link, the first stop of every page (Chromium starts Tab from the last focused element).
    await page.locator('a.skip').focus();
    const reached: string[] = [];
    for (let step = 0; step < 80; step += 1) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => {
        const element = document.activeElement;
        if (!element || element === document.body) return null;
        if (!element.closest('main')) return { inMain: false, key: '' };
        element.setAttribute('data-tab-reached', 'yes');
        return { inMain: true, key: `${element.tagName.toLowerCase()}:${element.textContent?.trim() ?? ''}` };
      });
      if (focused === null) break;
      if (focused.inMain) reached.push(focused.key);
      else if (reached.length > 0) break; // Left main after its last control.
    }
    return reached;
  }

  /** Controls inside `main` that Tab never reached. */
  async function unreachedControls(): Promise<string[]> {
    return page.evaluate(() =>
      [
        ...document.querySelectorAll<HTMLElement>(
          'main a[href], main button:not([disabled]), main input:not([disabled]), main select:not([disabled]), main textarea:not([disabled]), main summary, main [tabindex]:not([tabindex="-1"])',
        ),
      ]
        .filter((element) => element.getClientRects().length > 0)
        .filter((element) => element.getAttribute('data-tab-reached') !== 'yes')
        .map((element) => element.outerHTML.slice(0, 120)),
    );
  }

  it('the Registry page works by keyboard alone: every control reached with Tab, and used with Enter or Space', async () => {
    await storeMappings();
    await page.setViewportSize(viewports[0]);
    await open('#/resolve');
    // The navigation link by keyboard: Tab to it, Enter; focus moves to the page.
    const registryLink = page.getByRole('link', { name: 'Registry' });
    for (let step = 0; step < 20; step += 1) {
      await page.keyboard.press('Tab');
      if (await registryLink.evaluate((element) => element === document.activeElement)) break;
    }
    await page.keyboard.press('Enter');
    await page.locator('main h1', { hasText: 'Registry' }).waitFor({ timeout: 30_000 });
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    await registryLoaded();

    // Type a link and submit with Enter.
    await page.getByLabel('ISRC or track link').focus();
    await page.keyboard.type('https://www.deezer.com/en/track/3135556');
    await page.keyboard.press('Enter');
    await page.getByTestId('registry-mapping').waitFor({ timeout: 30_000 });

    // "Refresh counts" with Space asks the server again.
    const refreshed = page.waitForResponse((response) => response.url().endsWith('/api/registry/stats'));
    await page.getByRole('button', { name: 'Refresh counts' }).focus();
    await page.keyboard.press('Space');
    await refreshed;

    // "Look up" with Space, after Tab from the box.
    await page.getByLabel('ISRC or track link').fill('GBDUW0000058');
    await page.getByLabel('ISRC or track link').focus();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Space');
    await expect
      .poll(() => page.getByTestId('registry-mapping').locator('h2').textContent(), { timeout: 30_000 })
      .toBe('Digital Love');

    const reached = await tabThroughMain();
    expect(reached.length).toBeGreaterThan(3);
    expect(await unreachedControls()).toEqual([]);
  }, 120_000);

  it('the Seed page works by keyboard alone: every control reached with Tab, and used with Enter or Space', async () => {
    await page.setViewportSize(viewports[0]);
    await open('#/seed');
    await page.getByLabel('Album, playlist or artist link').focus();
    await page.keyboard.type(fixtureAlbumLink);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Start seeding');
    await page.keyboard.press('Enter');
    await expect
      .poll(() => page.getByTestId('seed-status').getAttribute('data-phase'), { timeout: 90_000 })
      .toBe('finished');

    // The fixture album's one track finds no verified video: its "Details" open with Enter and close with Space.
    const details = page.locator('details.admin-details');
    expect(await details.count()).toBe(1);
    await details.locator('summary').focus();
    await page.keyboard.press('Enter');
    expect(await details.evaluate((element: HTMLDetailsElement) => element.open)).toBe(true);
    await page.keyboard.press('Space');
    expect(await details.evaluate((element: HTMLDetailsElement) => element.open)).toBe(false);

    const reached = await tabThroughMain();
    expect(reached.length).toBeGreaterThan(1);
    expect(await unreachedControls()).toEqual([]);
  }, 180_000);
});
