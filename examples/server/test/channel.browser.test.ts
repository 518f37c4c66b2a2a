import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { launchChromium } from '@nexstream/testkit';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { type RunningServer, startServer } from '../src/server.js';
import {
  artifactsDirectory,
  buildWebApp,
  type CapturedLogs,
  captureLogs,
  eventually,
  scratch,
  seriousViolations,
} from './harness.js';

const run = promisify(execFile);

/** A clip of one solid colour with a tone, so the test can tell from a frame's pixels which item is on screen. */
async function colourClip(path: string, colour: string, durationS: number): Promise<void> {
  await run('ffmpeg', [
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    `color=c=${colour}:s=320x180:r=25:d=${durationS}`,
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:sample_rate=48000:duration=${durationS}`,
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-shortest',
    '-y',
    path,
  ]);
}

interface FrameSample {
  mediaTime: number;
  colour: 'red' | 'blue' | 'other';
  label: string | null;
}

// The live channel page in real Chromium against the real server (fixtures mode, real ffmpeg, hls.js from
// the built web app): one test per defect of issue 16 on this page (items 1, 10, 11, 12), plus keyboard use
// and the screenshots in docs/screenshots.
describe('the live channel page in Chromium', () => {
  let work: Awaited<ReturnType<typeof scratch>>;
  let dataDir: string;
  let webDir: string;
  let server: RunningServer;
  let logs: CapturedLogs;
  let browser: Browser;
  let page: Page;
  let artifacts: string;
  const clips: Record<string, string> = {};

  const startOnDataDir = async () => {
    logs = captureLogs();
    const config = loadConfig({
      PATH: process.env.PATH,
      NEXSTREAM_FIXTURES: '1',
      PORT: '0',
      NEXSTREAM_DATA_DIR: dataDir,
      NEXSTREAM_WEB_DIR: webDir,
      NEXSTREAM_HEARTBEAT_MS: '1000',
      NEXSTREAM_SHUTDOWN_MS: '1000',
    });
    server = await startServer({ config, logger: createLogger('debug', logs.write) });
  };
  const api = async <T>(path: string, init?: RequestInit): Promise<T> =>
    (await (await fetch(`${server.url}${path}`, init)).json()) as T;
  const status = () => page.getByTestId('channel-status');
  const stateOf = () => status().getAttribute('data-state');
  const screenshot = async (name: string) => {
    // The app focuses the page's main region on navigation; its focus ring is not part of the picture.
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.screenshot({ path: join(artifacts, name), fullPage: true });
  };

  beforeAll(async () => {
    work = await scratch('channel-e2e');
    dataDir = join(work.path, 'data');
    webDir = join(work.path, 'web');
    artifacts = await artifactsDirectory('channel');
    await mkdir(dataDir, { recursive: true });
    clips.red = join(work.path, 'red.mp4');
    clips.blue = join(work.path, 'blue.mp4');
    clips.notes = join(work.path, 'notes.txt');
    clips.broken = join(work.path, 'broken-holiday.mp4');
    await Promise.all([
      buildWebApp(webDir),
      colourClip(clips.red, 'red', 4),
      colourClip(clips.blue, 'blue', 4),
      writeFile(clips.notes, 'shopping list: milk, eggs\n'),
    ]);
    const whole = await readFile(clips.red);
    await writeFile(clips.broken, whole.subarray(0, Math.floor(whole.length / 3)));
    await startOnDataDir();
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') console.error(`[page error] ${message.text()}`);
    });
  }, 300_000);

  afterAll(async () => {
    for (const line of logs?.lines ?? []) {
      if (line.level === 'warn' || line.level === 'error') console.error('[server]', JSON.stringify(line));
    }
    await browser?.close();
    await server?.close();
    await work?.remove();
  });

  it('item 1: reports each file of an upload on its own, keeps the good ones, and a playlist refresh does not wipe the report', async () => {
    await page.goto(`${server.url}/#/channel`);
    await page.getByText('Nothing yet: upload a video.').waitFor({ timeout: 30_000 });
    await page
      .getByTestId('upload-input')
      .setInputFiles([
        clips.red as string,
        clips.notes as string,
        clips.blue as string,
        clips.broken as string,
      ]);
    const results = page.getByTestId('upload-result');
    await expect.poll(() => results.count(), { timeout: 60_000 }).toBe(4);
    const rows = await results.evaluateAll((nodes) =>
      nodes.map((node) => ({
        name: node.getAttribute('data-name'),
        ok: node.getAttribute('data-ok'),
        code: node.getAttribute('data-code'),
        text: node.textContent ?? '',
      })),
    );
    expect(rows.map((row) => [row.name, row.ok])).toEqual([
      ['red.mp4', 'true'],
      ['notes.txt', 'false'],
      ['blue.mp4', 'true'],
      ['broken-holiday.mp4', 'false'],
    ]);
    for (const row of rows.filter((candidate) => candidate.ok === 'false')) {
      expect(row.code).toBe('NXS_UNSUPPORTED_MEDIA');
      expect(row.text).toContain(row.name);
      expect(row.text).toMatch(/not a video/);
      // The user's file, never a temp file.
      expect(row.text).not.toMatch(/upload-[0-9a-f]{8}|\.part\b|\/tmp\//);
    }
    expect(await page.getByTestId('upload-results').textContent()).toContain('2 of 4 files were added');
    const names = () =>
      page
        .getByTestId('playlist-item')
        .evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-name')));
    await expect.poll(names, { timeout: 15_000 }).toEqual(['red.mp4', 'blue.mp4']);

    // A playlist change from elsewhere (a reorder through the API) refreshes the list: the report stays.
    const snapshot = await api<{ items: Array<{ id: string }> }>('/api/channels/main/playlist');
    await api('/api/channels/main/playlist/order', {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ order: snapshot.items.map((item) => item.id).reverse() }),
    });
    await expect.poll(names, { timeout: 15_000 }).toEqual(['blue.mp4', 'red.mp4']);
    expect(await results.count()).toBe(4);
    await page.getByRole('button', { name: 'Move blue.mp4 down' }).click();
    await expect.poll(names, { timeout: 15_000 }).toEqual(['red.mp4', 'blue.mp4']);
    expect(await results.count()).toBe(4);
    await screenshot('upload-results.png');
  });

  it('an edit made on an out-of-date playlist is refused (If-Match, 409): the page reloads the playlist and says so', async () => {
    const names = () =>
      page
        .getByTestId('playlist-item')
        .evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-name')));
    // Without its event stream the page does not hear the change made elsewhere: its playlist goes stale.
    const events = '**/api/channels/main/events*';
    await page.route(events, (route) => route.abort());
    try {
      await page.reload();
      await expect.poll(names, { timeout: 15_000 }).toEqual(['red.mp4', 'blue.mp4']);
      const snapshot = await api<{ items: Array<{ id: string }> }>('/api/channels/main/playlist');
      await api('/api/channels/main/playlist/order', {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ order: snapshot.items.map((item) => item.id).reverse() }),
      });
      expect(await names()).toEqual(['red.mp4', 'blue.mp4']);
      await page.getByRole('button', { name: 'Move red.mp4 down' }).click();
      await expect
        .poll(() => page.getByTestId('playlist-conflict').textContent(), { timeout: 15_000 })
        .toMatch(/changed somewhere else.*your change was not made/);
      await expect.poll(names, { timeout: 15_000 }).toEqual(['blue.mp4', 'red.mp4']);
      const after = await api<{ items: Array<{ originalName: string }> }>('/api/channels/main/playlist');
      expect(after.items.map((item) => item.originalName)).toEqual(['blue.mp4', 'red.mp4']);
    } finally {
      await page.unroute(events);
    }
    // Back in step, the same move goes through.
    await page.reload();
    await expect.poll(names, { timeout: 15_000 }).toEqual(['blue.mp4', 'red.mp4']);
    await page.getByRole('button', { name: 'Move red.mp4 up' }).click();
    await expect.poll(names, { timeout: 15_000 }).toEqual(['red.mp4', 'blue.mp4']);
    expect(await page.getByTestId('playlist-conflict').count()).toBe(0);
  });

  it('item 10: "Now playing" changes with the picture, not when the encoder starts the next item', async () => {
    await page.getByRole('button', { name: 'Start' }).click();
    await expect.poll(stateOf, { timeout: 30_000 }).toBe('playing');
    // Sample every presented frame: its colour (which clip it is) and the label shown with it.
    await page.evaluate(() => {
      const video = document.querySelector('video') as HTMLVideoElement;
      const canvas = document.createElement('canvas');
      canvas.width = 8;
      canvas.height = 8;
      const context = canvas.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D;
      const samples: unknown[] = [];
      (window as unknown as { frameSamples: unknown[] }).frameSamples = samples;
      const onFrame = (_now: number, metadata: VideoFrameCallbackMetadata) => {
        context.drawImage(video, 0, 0, 8, 8);
        const [r = 0, g = 0, b = 0] = context.getImageData(4, 4, 1, 1).data;
        const colour = r > 150 && g < 90 && b < 90 ? 'red' : b > 150 && r < 90 && g < 90 ? 'blue' : 'other';
        samples.push({
          mediaTime: metadata.mediaTime,
          colour,
          label: document.querySelector('[data-testid="now-playing"]')?.textContent ?? null,
        });
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
    });
    const samples = () =>
      page.evaluate(() => (window as unknown as { frameSamples: FrameSample[] }).frameSamples);
    // Wait for red → blue → red on screen: two changes of picture.
    const changes = (list: FrameSample[]) => {
      const seen = list.filter((sample) => sample.colour !== 'other');
      return seen.filter((sample, index) => index > 0 && sample.colour !== seen[index - 1]?.colour).length;
    };
    await eventually(async () => changes(await samples()) >= 2, 90_000);
    const list = (await samples()).filter((sample) => sample.colour !== 'other');
    const expected = { red: 'red.mp4', blue: 'blue.mp4' } as const;
    // A change of picture (and the first picture): the label may follow it within a few frames (it is
    // React state, rendered after the frame callback that sampled it).
    const changeTimes = list
      .filter((sample, index) => index === 0 || sample.colour !== list[index - 1]?.colour)
      .map((sample) => sample.mediaTime);
    expect(changeTimes.length).toBeGreaterThanOrEqual(3);
    const wrong = list.filter(
      (sample) =>
        sample.label !== expected[sample.colour as 'red' | 'blue'] &&
        !changeTimes.some((time) => sample.mediaTime >= time && sample.mediaTime - time < 0.3),
    );
    const shown = list.filter((sample) => sample.label !== null).length;
    expect(shown).toBeGreaterThan(list.length * 0.8);
    expect(wrong, JSON.stringify(wrong.slice(0, 5))).toEqual([]);
    await screenshot('now-playing.png');
  });

  it('item 10: one plain "Paused" label, and no encoder speed left after Stop', async () => {
    await expect.poll(() => page.getByTestId('encoder-speed').count(), { timeout: 30_000 }).toBe(1);
    await page.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(stateOf, { timeout: 30_000 }).toBe('paused');
    expect(await page.getByTestId('state-label').textContent()).toBe('Paused');
    expect(await status().textContent()).not.toMatch(/\(slate\)|\(paused\)/);
    await screenshot('paused.png');
    await page.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(stateOf, { timeout: 30_000 }).toBe('playing');
    await expect.poll(() => page.getByTestId('encoder-speed').count(), { timeout: 30_000 }).toBe(1);

    await page.getByRole('button', { name: 'Stop' }).click();
    await expect.poll(stateOf, { timeout: 30_000 }).toBe('stopped');
    // The server forgot the encoder's last feed too, so a reload shows none either.
    const after = await api<{ encoder: { stats?: unknown } }>('/api/channels/main/stream/status');
    expect(after.encoder.stats).toBeUndefined();
    expect(await page.getByTestId('encoder-speed').count()).toBe(0);
    expect(await page.getByTestId('state-label').textContent()).toBe('Off air');
    await page.reload();
    await expect.poll(stateOf, { timeout: 15_000 }).toBe('stopped');
    expect(await page.getByTestId('encoder-speed').count()).toBe(0);
  });

  it('works by keyboard: every control of the page is reached with Tab and used with Enter or Space', async () => {
    await page.goto(`${server.url}/#/channel`);
    await expect.poll(() => page.getByTestId('playlist-item').count(), { timeout: 15_000 }).toBe(2);
    const reached = new Set<string>();
    for (let step = 0; step < 60 && !reached.has('Remove blue.mp4'); step += 1) {
      await page.keyboard.press('Tab');
      const name = await page.evaluate(() => {
        const element = document.activeElement as HTMLElement | null;
        return element?.getAttribute('aria-label') ?? element?.textContent?.trim() ?? '';
      });
      reached.add(name);
    }
    for (const control of [
      'Start',
      'Choose files…',
      'Clear',
      'Move red.mp4 down',
      'Play now',
      'Remove blue.mp4',
    ]) {
      expect([...reached], control).toContain(control);
    }
    // Start with the keyboard: focus moves back to Start and Enter presses it.
    await page.getByRole('button', { name: 'Start' }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(stateOf, { timeout: 30_000 }).toBe('playing');
    await page.getByRole('button', { name: 'Move red.mp4 down' }).focus();
    await page.keyboard.press('Space');
    await expect
      .poll(() => page.getByTestId('playlist-item').first().getAttribute('data-name'), { timeout: 15_000 })
      .toBe('blue.mp4');
    // A file chooser opens from the keyboard.
    const chooser = page.waitForEvent('filechooser', { timeout: 10_000 });
    await page.getByRole('button', { name: 'Choose files…' }).focus();
    await page.keyboard.press('Enter');
    await chooser;
  });

  it('item 11: a channel on air is on air again after a server restart, with the right status from the first call', async () => {
    await expect.poll(stateOf, { timeout: 30_000 }).toBe('playing');
    await server.close();
    await startOnDataDir();
    // The first request after the restart: on air, with both items.
    const first = await api<{ state: string; onAir: boolean; playlist: { size: number } }>(
      '/api/channels/main/stream/status',
    );
    expect(first).toMatchObject({ state: 'playing', onAir: true, playlist: { size: 2 } });
    await page.goto(`${server.url}/#/channel`);
    await expect.poll(stateOf, { timeout: 15_000 }).toBe('playing');
    const currentTime = () =>
      page.getByTestId('player').evaluate((video: HTMLVideoElement) => video.currentTime);
    await eventually(async () => (await currentTime()) > 1, 60_000);
    await expect.poll(() => page.getByTestId('now-playing').count(), { timeout: 30_000 }).toBe(1);
    await screenshot('after-restart.png');
  });

  it('item 12: channel requests are logged at info level under their full path', async () => {
    const infoPaths = () =>
      logs.lines
        .filter((line) => line.msg === 'request' && line.level === 'info')
        .map((line) => String(line.path));
    await eventually(
      () =>
        [
          '/api/channels/main/stream/status',
          '/api/channels/main/playlist',
          '/api/channels/main/hls/index.m3u8',
        ].every((path) => infoPaths().some((logged) => logged.startsWith(path))),
      15_000,
    );
  });

  it('screenshots at 1280 and 390 px, playing with the report of an upload batch: no serious or critical axe-core violation', async () => {
    await page.getByTestId('upload-input').setInputFiles([clips.red as string, clips.notes as string]);
    await expect.poll(() => page.getByTestId('upload-result').count(), { timeout: 60_000 }).toBe(2);
    await expect.poll(() => page.getByTestId('now-playing').count(), { timeout: 30_000 }).toBe(1);
    await page.setViewportSize({ width: 1280, height: 900 });
    await screenshot('channel-1280.png');
    expect(await seriousViolations(page)).toEqual([]);
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot('channel-390.png');
    expect(await seriousViolations(page)).toEqual([]);
    await page.setViewportSize({ width: 1280, height: 900 });
  });
});
