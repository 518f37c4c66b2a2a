import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import type { Browser } from 'playwright-core';

/** Options of {@link launchChromium}. */
export interface ChromiumLaunchOptions {
  /** Where the browser saves downloads (Playwright's `downloadsPath`). Default: a Playwright temp folder. */
  downloadsPath?: string;
  /** The browser binary. Default `$NEXSTREAM_CHROMIUM`, else `/usr/bin/chromium`. */
  executablePath?: string;
  /** Extra command-line switches, appended to {@link chromiumArgs}. */
  args?: string[];
  /** How long to wait for the browser to start, in milliseconds. Default 60 000 (a busy 2-core CI box). */
  timeoutMs?: number;
}

/**
 * The switches every test browser gets: no sandbox (containers run as root), no GPU, no QUIC, and none of
 * the background traffic (sync, component updates) that would make a loopback test reach the internet.
 */
export const chromiumArgs: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/**
 * Launches the system's headless Chromium through playwright-core (no bundled browser download). The
 * caller closes it: `await browser.close()` in `afterAll`.
 *
 * @throws NexStreamError `NXS_DEPENDENCY_MISSING` when the binary is missing, with how to install it.
 *
 * @example
 * ```ts
 * const browser = await launchChromium();
 * const page = await browser.newPage();
 * await page.goto(origin.url + '/files/site/index.html');
 * await browser.close();
 * ```
 */
export async function launchChromium(options: ChromiumLaunchOptions = {}): Promise<Browser> {
  const executablePath = options.executablePath ?? process.env.NEXSTREAM_CHROMIUM ?? '/usr/bin/chromium';
  try {
    await access(executablePath, constants.X_OK);
  } catch (error) {
    throw new NexStreamError(
      NexStreamErrorCode.DependencyMissing,
      `Chromium not found at ${executablePath}: install it (Debian/Ubuntu: apt-get install chromium) or set NEXSTREAM_CHROMIUM to its path`,
      { cause: error },
    );
  }
  // Loaded on first use: most test files import the testkit without ever starting a browser.
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath,
    headless: true,
    args: [...chromiumArgs, ...(options.args ?? [])],
    timeout: options.timeoutMs ?? 60_000,
    ...(options.downloadsPath === undefined ? {} : { downloadsPath: options.downloadsPath }),
  });
}
