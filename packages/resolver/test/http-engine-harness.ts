import { NexStreamError } from '@nexstream/core';
import { childProcessIds, type ReplayReply, type ReplayServer, startReplayServer } from '@nexstream/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HttpEngineSettings } from '../src/engines/shared/http-client.js';

/** Live TCP sockets of this process (client and server side), from Node's active resources. */
export function openSocketCount(): number {
  return process.getActiveResourcesInfo().filter((resource) => resource === 'TCPSocketWrap').length;
}

/** Waits until `check` holds (sockets close a tick after `close()` resolves); fails after `timeoutMs`. */
export async function eventually(check: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The most requests that started within any `windowMs` (a sliding window over arrival times). */
export function mostInWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let first = 0, last = 0; last < sorted.length; last += 1) {
    while (sorted[last]! - sorted[first]! >= windowMs) first += 1;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

/** The error a promise rejects with, as a NexStreamError (fails the test when it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<NexStreamError> {
  try {
    await promise;
  } catch (error) {
    if (NexStreamError.is(error)) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

/** Fast retries and no rate limit, so failure tests don't wait on real backoff; tests override as needed. */
export const testSettings = {
  retry: { baseDelayMs: 5, maxDelayMs: 20 },
  rateLimit: false,
} satisfies HttpEngineSettings;

/**
 * A replay server per test, and after each test: the engines closed, no socket open (beyond those open
 * before the test), no child process.
 */
export function useReplayServer(): {
  readonly server: ReplayServer;
  track<T extends { close(): Promise<void> }>(engine: T): T;
} {
  let server: ReplayServer | undefined;
  let engines: Array<{ close(): Promise<void> }> = [];
  let socketsBefore = 0;
  let childrenBefore: number[] = [];
  beforeEach(async () => {
    socketsBefore = openSocketCount();
    childrenBefore = childProcessIds();
    server = await startReplayServer();
  });
  afterEach(async () => {
    await Promise.all(engines.map((engine) => engine.close()));
    engines = [];
    await server?.close();
    await eventually(() => openSocketCount() <= socketsBefore);
    expect(childProcessIds()).toEqual(childrenBefore);
  });
  return {
    get server() {
      if (!server) throw new Error('the replay server starts in beforeEach');
      return server;
    },
    track(engine) {
      engines.push(engine);
      return engine;
    },
  };
}

/** One engine call whose failure modes {@link describeHttpFailures} exercises. */
export interface HttpFailureScenario<E extends { close(): Promise<void> }> {
  /** The route the call hits. */
  method: string;
  path: string | RegExp;
  /** A successful reply for that route. */
  success: ReplayReply;
  create(baseURL: string, settings: HttpEngineSettings): E;
  call(engine: E, signal?: AbortSignal): Promise<unknown>;
  /** Checks the successful result. */
  expectSuccess(result: unknown): void;
  /** Routes the call needs besides the one under test (a token endpoint); their requests are not counted. */
  prepare?(server: ReplayServer): void;
}

/**
 * The transport failures every HTTP engine must handle the same way: 5xx, 429 with a short and a long
 * `Retry-After`, a stalled server (timeout), an abort, malformed JSON and a truncated body.
 */
export function describeHttpFailures<E extends { close(): Promise<void> }>(scenario: HttpFailureScenario<E>) {
  describe('transport failures', () => {
    const context = useReplayServer();
    const engine = (settings: HttpEngineSettings = {}) =>
      context.track(scenario.create(context.server.url, { ...testSettings, ...settings }));
    const requestsUnderTest = () =>
      context.server.requests.filter((request) =>
        typeof scenario.path === 'string' ? request.path === scenario.path : scenario.path.test(request.path),
      );
    beforeEach(() => scenario.prepare?.(context.server));

    it('reports a 5xx as a retryable NXS_UPSTREAM naming the request', async () => {
      context.server.on(scenario.method, scenario.path, {
        status: 503,
        json: { error: 'Service Unavailable' },
      });
      const error = await rejectionOf(scenario.call(engine()));
      expect(error.code).toBe('NXS_UPSTREAM');
      expect(error.retryable).toBe(true);
      expect(error.message).toMatch(
        /^\[(GET|POST)\] "http:\/\/127\.0\.0\.1:\d+\/.*": 503 Service Unavailable/,
      );
    });

    it('waits for a short Retry-After on 429, then succeeds', async () => {
      context.server.on(scenario.method, scenario.path, scenario.success);
      context.server.on(
        scenario.method,
        scenario.path,
        { status: 429, headers: { 'retry-after': '1' }, json: {} },
        { times: 1 },
      );
      const startedAt = Date.now();
      scenario.expectSuccess(await scenario.call(engine()));
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(950);
      expect(requestsUnderTest()).toHaveLength(2);
    });

    it('fails at once with NXS_RATE_LIMITED and retryAfterMs on a long Retry-After, and holds later calls', async () => {
      context.server.on(scenario.method, scenario.path, {
        status: 429,
        headers: { 'retry-after': '120' },
        json: {},
      });
      const limited = engine({ rateLimit: { limit: 100, windowMs: 1_000 } });
      const error = await rejectionOf(scenario.call(limited));
      expect(error.code).toBe('NXS_RATE_LIMITED');
      expect(error.retryAfterMs).toBe(120_000);
      const second = await rejectionOf(scenario.call(limited));
      expect(second.code).toBe('NXS_RATE_LIMITED');
      expect(requestsUnderTest()).toHaveLength(1);
    });

    it('gives NXS_TIMEOUT when the service stalls past timeoutMs', async () => {
      context.server.on(scenario.method, scenario.path, { stall: true });
      const error = await rejectionOf(scenario.call(engine({ timeoutMs: 300 })));
      expect(error.code).toBe('NXS_TIMEOUT');
      expect(error.retryable).toBe(true);
    });

    it('gives NXS_ABORTED when the signal aborts a stalled request', async () => {
      context.server.on(scenario.method, scenario.path, { stall: true });
      const controller = new AbortController();
      const pending = rejectionOf(scenario.call(engine(), controller.signal));
      await eventually(() => requestsUnderTest().length > 0);
      controller.abort();
      const error = await pending;
      expect(error.code).toBe('NXS_ABORTED');
    });

    it('reports malformed JSON as a retryable NXS_UPSTREAM "invalid JSON"', async () => {
      context.server.on(scenario.method, scenario.path, { ...scenario.success, malformed: true });
      const error = await rejectionOf(scenario.call(engine()));
      expect(error.code).toBe('NXS_UPSTREAM');
      expect(error.retryable).toBe(true);
      expect(error.message).toMatch(/invalid JSON/);
    });

    it('reports a truncated body as a retryable NXS_UPSTREAM', async () => {
      context.server.on(scenario.method, scenario.path, { ...scenario.success, truncateAfterBytes: 40 });
      const error = await rejectionOf(scenario.call(engine()));
      expect(error.code).toBe('NXS_UPSTREAM');
      expect(error.retryable).toBe(true);
      expect(error.message).toMatch(/truncated body/);
    });
  });
}
