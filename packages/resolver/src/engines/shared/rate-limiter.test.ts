import { describe, expect, it } from 'vitest';
import { type Clock, createRateLimiter } from './rate-limiter.js';

/** A fake clock: `sleep` resolves when `advance` passes its deadline. */
function fakeClock(): Clock & { advance(ms: number): Promise<void> } {
  let now = 0;
  let sleepers: Array<{ until: number; resolve: () => void }> = [];
  return {
    now: () => now,
    sleep(ms, signal) {
      return new Promise<void>((resolve, reject) => {
        signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
        sleepers.push({ until: now + ms, resolve });
      });
    },
    async advance(ms) {
      now += ms;
      const due = sleepers.filter((sleeper) => sleeper.until <= now);
      sleepers = sleepers.filter((sleeper) => sleeper.until > now);
      for (const sleeper of due) sleeper.resolve();
      await flush();
    },
  };
}

/** Lets every pending promise chain settle (a macrotask runs after all microtasks). */
async function flush() {
  for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
}

describe('sliding-window rate limiter', () => {
  it('lets `limit` calls through in a window and holds the next until the oldest leaves it', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ name: 'deezer', limit: 50, windowMs: 5_000, clock });
    const granted: number[] = [];
    for (let index = 0; index < 51; index++) void limiter.acquire().then(() => granted.push(clock.now()));
    await flush();
    expect(granted).toHaveLength(50);
    await clock.advance(4_999);
    expect(granted).toHaveLength(50);
    await clock.advance(1);
    expect(granted).toHaveLength(51);
    expect(granted.at(-1)).toBe(5_000);
  });

  it('never lets 2× limit through one window (unlike a token bucket with burst)', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ name: 'itunes', limit: 2, windowMs: 1_000, clock });
    const granted: number[] = [];
    for (let index = 0; index < 6; index++) void limiter.acquire().then(() => granted.push(clock.now()));
    await flush();
    for (let step = 0; step < 10; step++) await clock.advance(500);
    for (const at of granted) {
      expect(granted.filter((other) => other > at - 1_000 && other <= at).length).toBeLessThanOrEqual(2);
    }
    expect(granted).toEqual([0, 0, 1_000, 1_000, 2_000, 2_000]);
  });

  it('serves waiters in FIFO order', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ name: 'musicbrainz', limit: 1, windowMs: 1_000, clock });
    const order: string[] = [];
    for (const name of ['a', 'b', 'c']) void limiter.acquire().then(() => order.push(name));
    await flush();
    expect(order).toEqual(['a']);
    await clock.advance(1_000);
    await clock.advance(1_000);
    expect(order).toEqual(['a', 'b', 'c']);
  });

  it('holds calls while paused, and fails fast when the pause is longer than maxPauseWaitMs', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({
      name: 'spotify',
      limit: 10,
      windowMs: 1_000,
      maxPauseWaitMs: 5_000,
      clock,
    });
    limiter.pauseUntil(2_000);
    let granted = false;
    void limiter.acquire().then(() => {
      granted = true;
    });
    await clock.advance(1_999);
    expect(granted).toBe(false);
    await clock.advance(1);
    expect(granted).toBe(true);
    limiter.pauseUntil(clock.now() + 86_400_000);
    await expect(limiter.acquire()).rejects.toMatchObject({
      code: 'NXS_RATE_LIMITED',
      retryAfterMs: 86_400_000,
    });
  });

  it('lets an aborted waiter leave the queue without blocking the next', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ name: 'x', limit: 1, windowMs: 1_000, clock });
    await limiter.acquire();
    const controller = new AbortController();
    const aborted = limiter.acquire(controller.signal);
    let nextGranted = false;
    void limiter.acquire().then(() => {
      nextGranted = true;
    });
    controller.abort(new Error('gone'));
    await expect(aborted).rejects.toThrow('gone');
    await clock.advance(1_000);
    expect(nextGranted).toBe(true);
  });
});
