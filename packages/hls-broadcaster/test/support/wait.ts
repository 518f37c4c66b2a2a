import { readFile } from 'node:fs/promises';
import type { Channel, ChannelEvents } from '../../src/channel.js';
import { parseMediaPlaylist } from './live-playlist.js';

/**
 * Waits until `condition` holds, checking every `intervalMs`; fails after `timeoutMs` with `what` in the
 * message. Tests wait on outcomes with a generous deadline instead of sleeping a fixed time, so a loaded
 * machine makes them slower, not flaky.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  { timeoutMs = 60_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Resolves with the next `type` event of `channel` that `accept` takes; fails after `timeoutMs`. */
export function nextEvent<K extends keyof ChannelEvents>(
  channel: Pick<Channel, 'on'>,
  type: K,
  accept: (payload: ChannelEvents[K]) => boolean = () => true,
  timeoutMs = 60_000,
): Promise<ChannelEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${String(type)} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = channel.on(type, (payload) => {
      if (!accept(payload)) return;
      clearTimeout(timer);
      off();
      resolve(payload);
    });
  });
}

/** The media sequence number of the newest segment a live playlist file lists, or -1. */
export async function lastSequence(path: string): Promise<number> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const { segments } = parseMediaPlaylist(text);
  return segments.at(-1)?.sequence ?? -1;
}

/**
 * Waits until the live playlist at `path` lists `count` segments newer than the ones it lists now: stream
 * time, not wall-clock time, so the wait lasts as long as the encoder needs to produce them.
 */
export async function waitForNewSegments(path: string, count: number, timeoutMs = 60_000): Promise<void> {
  const from = await lastSequence(path);
  await waitFor(async () => (await lastSequence(path)) >= from + count, `${count} new segments in ${path}`, {
    timeoutMs,
    intervalMs: 100,
  });
}
