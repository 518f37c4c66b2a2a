import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';

/** At most `limit` requests started in any `windowMs` milliseconds. */
export interface RateLimit {
  limit: number;
  windowMs: number;
}

/**
 * The services' published limits, which the engines use by default for their limiter and to size their
 * connection pool (`poolConnections`: as many connections as requests allowed in one window). Never
 * above what the service publishes; where it publishes no figure, a conservative one, said so. The limits
 * are per IP (or per key) at the service: instances behind one address share them.
 */
export const serviceRateLimits = {
  /**
   * 50 requests / 5 s per IP: the "Quota" of developers.deezer.com/api (confirmed by miraclx/freyr-js#32:
   * IP-based, error code 4 "Quota limit exceeded" in a 200 body beyond it). Pool: 50.
   */
  deezer: { limit: 50, windowMs: 5_000 },
  /**
   * "Approximately 20 calls per minute (subject to change)" (Apple, iTunes Search API,
   * performance-partners.apple.com/search-api); throttling shows as 403/429 without Retry-After. Pool: 20.
   */
  itunes: { limit: 20, windowMs: 60_000 },
  /**
   * 1 request / s on average per IP, with a meaningful User-Agent; beyond it every request gets 503 until
   * the rate drops (musicbrainz.org/doc/MusicBrainz_API/Rate_Limiting). Requests queue here: the race does
   * not wait for MusicBrainz, its other tier-0 sources settle first. Pool: 2 (one slow answer must not
   * hold back the next allowed second).
   */
  musicbrainz: { limit: 1, windowMs: 1_000 },
  /** 10 requests / min without a key (song.link API docs, "API Key" section). Pool: 10. */
  odesli: { limit: 10, windowMs: 60_000 },
  /** 60 requests / min with a key (song.link API docs); keys are no longer handed out. Pool: 60. */
  odesliWithKey: { limit: 60, windowMs: 60_000 },
  /**
   * "Calculated based on the number of calls that your app makes to Spotify in a rolling 30 second
   * window"; the figure is not published (developer.spotify.com/documentation/web-api/concepts/rate-limits).
   * 50 per 30 s is ours, conservative; a 429's Retry-After pauses the limiter. Pool: 50.
   */
  spotify: { limit: 50, windowMs: 30_000 },
  /**
   * Soundcharts publishes one per-minute limit for all plans but no figure
   * (help.soundcharts.com, "API subscription levels"); 10 / s is ours, conservative. Pool: 10.
   */
  soundcharts: { limit: 10, windowMs: 1_000 },
  /** Free tier, llama-3.3-70b-versatile: 30 requests / min, 1,000 / day (console.groq.com/docs/rate-limits). Pool: 30. */
  groq: { limit: 30, windowMs: 60_000 },
  /**
   * Free tier, gemini-2.5-flash: 10 requests / min (ai.google.dev/gemini-api/docs/rate-limits; the live
   * figure per project is in AI Studio). Pool: 10.
   */
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
