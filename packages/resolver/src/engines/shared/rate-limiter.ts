import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';

/** At most `limit` requests started in any `windowMs` milliseconds. */
export interface RateLimit {
  limit: number;
  windowMs: number;
}

/** The services' own limits, which the engines use by default. */
export const serviceRateLimits = {
  /** 50 requests / 5 s per IP. */
  deezer: { limit: 50, windowMs: 5_000 },
  /** "Approximately 20 calls per minute". */
  itunes: { limit: 20, windowMs: 60_000 },
  /** 1 request / s, strictly enforced (503 beyond). */
  musicbrainz: { limit: 1, windowMs: 1_000 },
  /** 10 requests / min without a key (60 with one). */
  odesli: { limit: 10, windowMs: 60_000 },
  /** Rolling 30 s window; the exact figure is not published. */
  spotify: { limit: 50, windowMs: 30_000 },
  /** Depends on the plan; a conservative default. */
  soundcharts: { limit: 10, windowMs: 1_000 },
  /** Free-tier requests per minute (llama-3.3-70b-versatile: 30). */
  groq: { limit: 30, windowMs: 60_000 },
  /** Free-tier requests per minute (gemini-2.5-flash: 10). */
  gemini: { limit: 10, windowMs: 60_000 },
} as const satisfies Record<string, RateLimit>;

/** A clock, injectable for tests. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Resolves after `ms`, rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/** Options for {@link createRateLimiter}. */
export interface RateLimiterOptions extends RateLimit {
  /** Who is limited, for error messages (`deezer`). */
  name: string;
  /**
   * When the service itself asked us to pause (429 + `Retry-After`) for longer than this, `acquire` fails
   * at once with `NXS_RATE_LIMITED` instead of waiting (Spotify can say 86400 s). Default 5000 ms.
   */
  maxPauseWaitMs?: number;
  clock?: Clock;
}

/**
 * A sliding-window limiter: at most `limit` starts in any window of `windowMs`, granted in FIFO order.
 * Unlike a token bucket with burst n, it never lets 2n requests through one window, which trips
 * per-IP quotas such as Deezer's.
 */
export interface RateLimiter {
  /** Waits for a slot. Rejects with the signal's reason on abort, or `NXS_RATE_LIMITED` (see `maxPauseWaitMs`). */
  acquire(signal?: AbortSignal): Promise<void>;
  /** Holds every acquisition until `epochMs` (the service said "retry after"). */
  pauseUntil(epochMs: number): void;
  /** Epoch ms until which acquisitions are held; 0 when not paused. */
  readonly pausedUntil: number;
}

/** Creates a {@link RateLimiter}. */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const clock = options.clock ?? systemClock;
  const maxPauseWaitMs = options.maxPauseWaitMs ?? 5_000;
  const starts: number[] = [];
  let pausedUntil = 0;
  let tail: Promise<void> = Promise.resolve();

  async function waitForSlot(signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      const now = clock.now();
      while (starts.length > 0 && starts[0]! <= now - options.windowMs) starts.shift();
      const pauseWait = pausedUntil - now;
      if (pauseWait > maxPauseWaitMs) {
        throw new NexStreamError(
          NexStreamErrorCode.RateLimited,
          `${options.name} asked us to pause for ${Math.ceil(pauseWait / 1000)} s (rate limit); try again later`,
          { retryable: true, retryAfterMs: pauseWait },
        );
      }
      const windowWait = starts.length >= options.limit ? starts[0]! + options.windowMs - now : 0;
      const wait = Math.max(pauseWait, windowWait);
      if (wait <= 0) {
        starts.push(now);
        return;
      }
      await clock.sleep(wait, signal);
    }
  }

  return {
    get pausedUntil() {
      return pausedUntil;
    },
    pauseUntil(epochMs) {
      pausedUntil = Math.max(pausedUntil, epochMs);
    },
    async acquire(signal) {
      const previous = tail;
      let release!: () => void;
      tail = new Promise<void>((resolve) => {
        release = resolve;
      });
      try {
        await raceAbort(previous, signal);
        await waitForSlot(signal);
      } finally {
        // The next caller goes only once the previous one is through, even when this one gave up early.
        void previous.then(release);
      }
    },
  };
}

function raceAbort(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
