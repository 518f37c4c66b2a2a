/**
 * The one in-process write queue: every write of a registry runs here, one after the other, so that two writes
 * of this process never compete for SQLite's write lock (which `@libsql/client` would answer with an immediate
 * `SQLITE_BUSY`, or, with its `timeout` option, by blocking the event loop while the lock holder, another task
 * of this same process, can never run to release it; see docs/decisions/0030).
 *
 * Another process can still hold the lock. A write that meets `SQLITE_BUSY` is retried whole (a failed batch
 * has been rolled back) after an asynchronous back-off, until `busyTimeoutMs` has passed: the event loop keeps
 * running while we wait.
 */
export interface WriteQueue {
  /** Runs `task` after every earlier task has finished; retries it while `isBusy(error)` within the budget. */
  run<Result>(task: () => Promise<Result>): Promise<Result>;
  /** Resolves once every task queued so far has finished (settled). */
  drain(): Promise<void>;
  /** Tasks queued or running. */
  readonly pending: number;
  /** Tasks that finished successfully. */
  readonly completed: number;
  /** Tasks that failed (after retries). */
  readonly failed: number;
  /** Retries after `SQLITE_BUSY` from another process. */
  readonly busyRetries: number;
}

/** Options of {@link createWriteQueue}. */
export interface WriteQueueOptions {
  /** How long one write may keep retrying while another process holds the lock, in milliseconds. */
  busyTimeoutMs: number;
  /** True for errors that mean "the database is locked by someone else, try again". */
  isBusy(error: unknown): boolean;
  /**
   * Called after a busy error, before the retry: repairs what the failed attempt left behind (an embedded
   * file's connection keeps a stale snapshot after a `SQLITE_BUSY` at `BEGIN IMMEDIATE` and must be reopened).
   */
  recover?(): Promise<void>;
  /** Builds the error thrown when the budget ran out (gets the last busy error and the time waited). */
  timeoutError(error: unknown, waitedMs: number): Error;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Creates a {@link WriteQueue}. */
export function createWriteQueue(options: WriteQueueOptions): WriteQueue {
  let tail: Promise<unknown> = Promise.resolve();
  let pending = 0;
  let completed = 0;
  let failed = 0;
  let busyRetries = 0;

  async function attempt<Result>(task: () => Promise<Result>): Promise<Result> {
    const started = Date.now();
    let delayMs = 1;
    for (;;) {
      try {
        return await task();
      } catch (error) {
        if (!options.isBusy(error)) throw error;
        const waitedMs = Date.now() - started;
        if (waitedMs >= options.busyTimeoutMs) throw options.timeoutError(error, waitedMs);
        busyRetries += 1;
        await options.recover?.();
        // Jitter keeps two processes that back off together from colliding again and again.
        await sleep(Math.min(delayMs * (0.5 + Math.random()), options.busyTimeoutMs - waitedMs));
        delayMs = Math.min(delayMs * 2, 50);
      }
    }
  }

  return {
    run(task) {
      pending += 1;
      const result = tail.then(() => attempt(task));
      tail = result.then(
        () => {
          pending -= 1;
          completed += 1;
        },
        () => {
          pending -= 1;
          failed += 1;
        },
      );
      return result;
    },
    async drain() {
      await tail;
    },
    get pending() {
      return pending;
    },
    get completed() {
      return completed;
    },
    get failed() {
      return failed;
    },
    get busyRetries() {
      return busyRetries;
    },
  };
}
