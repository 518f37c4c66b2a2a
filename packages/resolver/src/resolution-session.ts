import {
  NexStreamError,
  NexStreamErrorCode,
  type NexStreamEvent,
  type SerializedError,
  toNexStreamError,
} from '@nexstream/core';

/**
 * A running operation seen two ways: an async iterable of its events (for an SSE stream or a UI) and a
 * promise of its outcome. Every iterator replays the events from the first one, so a consumer that starts
 * late misses nothing; `result` settles whether or not anyone iterates, and never causes an unhandled
 * rejection when nobody awaits it.
 */
export interface EventSession<Event extends { type: string }, Result> extends AsyncIterable<Event> {
  /** The outcome. Rejects with a `NexStreamError` (the same one the `error` event carries). */
  readonly result: Promise<Result>;
  /** Events so far, in order. */
  readonly events: readonly Event[];
  /** True once the final `done` event was emitted. */
  readonly finished: boolean;
  /** Aborts the operation: every engine call and child process it started is cancelled. */
  abort(reason?: unknown): void;
}

/** The operation behind an {@link EventSession}: emits events, honours the signal, returns the result. */
export type SessionRunner<Event, Result> = (context: {
  emit(event: Event): void;
  /** Aborted when the caller's signal aborts or {@link EventSession.abort} is called. */
  signal: AbortSignal;
  /** `performance.now()` when the session started. */
  startedAt: number;
}) => Promise<Result>;

/** Options for {@link createEventSession}. */
export interface EventSessionOptions {
  /** The caller's signal (for example: the SSE client went away). */
  signal?: AbortSignal;
}

function errorEvent(error: NexStreamError): { type: 'error'; error: SerializedError } {
  return { type: 'error', error: error.toJSON() };
}

/**
 * Runs `runner` at once and exposes it as an {@link EventSession}. The session appends an `error` event when
 * the runner fails and always ends with a `done` event (`elapsedMs` since the start).
 */
export function createEventSession<Event extends { type: string }, Result>(
  runner: SessionRunner<Event | NexStreamEvent, Result>,
  options: EventSessionOptions = {},
): EventSession<Event | NexStreamEvent, Result> {
  type Any = Event | NexStreamEvent;
  const startedAt = performance.now();
  const controller = new AbortController();
  const events: Any[] = [];
  let finished = false;
  let wake: Array<() => void> = [];
  const notify = () => {
    const waiting = wake;
    wake = [];
    for (const resolve of waiting) resolve();
  };
  const emit = (event: Any) => {
    if (finished) return;
    events.push(event);
    notify();
  };
  const onCallerAbort = () => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) controller.abort(options.signal.reason);
  else options.signal?.addEventListener('abort', onCallerAbort, { once: true });

  const aborted = (): NexStreamError =>
    new NexStreamError(NexStreamErrorCode.Aborted, 'the operation was aborted by its caller', {
      cause: controller.signal.reason,
      retryable: false,
    });

  const result = (async () => {
    try {
      if (controller.signal.aborted) throw aborted();
      return await runner({ emit, signal: controller.signal, startedAt });
    } catch (error) {
      const failure =
        controller.signal.aborted && !NexStreamError.is(error) ? aborted() : toNexStreamError(error);
      const normalized =
        controller.signal.aborted && failure.code !== NexStreamErrorCode.Aborted ? aborted() : failure;
      emit(errorEvent(normalized) as Any);
      throw normalized;
    } finally {
      options.signal?.removeEventListener('abort', onCallerAbort);
      emit({ type: 'done', elapsedMs: Math.round(performance.now() - startedAt) } as Any);
      finished = true;
      notify();
    }
  })();
  result.catch(() => {});

  const session: EventSession<Any, Result> = {
    result,
    get events() {
      return events;
    },
    get finished() {
      return finished;
    },
    abort(reason?: unknown) {
      controller.abort(reason);
    },
    [Symbol.asyncIterator](): AsyncIterator<Any> {
      let index = 0;
      let closed = false;
      return {
        async next(): Promise<IteratorResult<Any>> {
          while (!closed && index >= events.length && !finished) {
            await new Promise<void>((resolve) => wake.push(resolve));
          }
          if (!closed && index < events.length) return { value: events[index++] as Any, done: false };
          return { value: undefined, done: true };
        },
        async return(): Promise<IteratorResult<Any>> {
          closed = true;
          return { value: undefined, done: true };
        },
      };
    },
  };
  return session;
}
