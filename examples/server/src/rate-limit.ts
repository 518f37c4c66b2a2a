import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import type { NextFunction, Request, Response } from 'express';
import type { RateLimitSetting } from './config.js';

/** A per-key sliding-window counter held in memory (one process; see docs/guides/deployment.md for several). */
export interface SlidingWindow {
  /** Records a hit for `key`; returns 0 when allowed, else how many ms until the next hit is allowed. */
  hit(key: string): number;
  /** Keys tracked now. */
  readonly size: number;
}

/** Creates a sliding-window limiter: at most `limit` hits per key in any `windowMs`. */
export function createSlidingWindow(setting: RateLimitSetting, now: () => number = Date.now): SlidingWindow {
  const hits = new Map<string, number[]>();
  let lastSweep = now();
  return {
    hit(key) {
      const time = now();
      if (time - lastSweep > setting.windowMs) {
        // Forget keys whose newest hit left the window, so memory follows active clients only.
        for (const [name, list] of hits) if ((list.at(-1) ?? 0) <= time - setting.windowMs) hits.delete(name);
        lastSweep = time;
      }
      const list = hits.get(key) ?? [];
      while (list.length > 0 && (list[0] ?? 0) <= time - setting.windowMs) list.shift();
      if (list.length >= setting.limit) {
        hits.set(key, list);
        return Math.max(1, (list[0] ?? time) + setting.windowMs - time);
      }
      list.push(time);
      hits.set(key, list);
      return 0;
    },
    get size() {
      return hits.size;
    },
  };
}

/**
 * Express middleware limiting requests per client IP (`req.ip`: honours `trust proxy`). Over the limit it
 * answers 429 `NXS_RATE_LIMITED` with `Retry-After`. `exempt` skips requests the server makes to itself.
 */
export function rateLimitMiddleware(
  name: string,
  setting: RateLimitSetting,
  exempt: (request: Request) => boolean = () => false,
): (request: Request, response: Response, next: NextFunction) => void {
  const window = createSlidingWindow(setting);
  return (request, response, next) => {
    if (setting.limit <= 0 || exempt(request)) return next();
    const waitMs = window.hit(request.ip ?? 'unknown');
    if (waitMs === 0) return next();
    response.setHeader('Retry-After', String(Math.ceil(waitMs / 1000)));
    next(
      new NexStreamError(
        NexStreamErrorCode.RateLimited,
        `too many ${name} requests from this address: at most ${setting.limit} per ${setting.windowMs / 1000} s; try again in ${Math.ceil(waitMs / 1000)} s`,
        { retryable: true, retryAfterMs: waitMs },
      ),
    );
  };
}
