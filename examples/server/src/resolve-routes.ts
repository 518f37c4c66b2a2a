import { createHash, randomUUID } from 'node:crypto';
import { NexStreamError, NexStreamErrorCode, type NexStreamEvent } from '@nexstream/core';
import { createSseReplayBuffer, createSseStream, type SseStream } from '@nexstream/core/node';
import {
  parseOverride,
  type ResolutionSession,
  type SeedReport,
  type SeedSession,
} from '@nexstream/resolver';
import { type Router as ExpressRouter, Router } from 'express';
import { presentedKey, requireKey, route } from './http.js';
import { rateLimitMiddleware } from './rate-limit.js';
import type { Services } from './services.js';

/** The open event streams of a server, so shutdown can drain and close them. */
export interface StreamTracker {
  add(stream: SseStream<{ type: string }>): void;
  /** Streams still open. */
  readonly size: number;
  /** Remembers work fed into a stream (a resolution, a seed) so shutdown can abort what is left. */
  addWork(work: { abort(reason?: unknown): void; readonly finished: boolean }): void;
  /** Resolves once every stream closed, or after `timeoutMs`; then closes the rest and aborts unfinished work. */
  drain(timeoutMs: number): Promise<void>;
}

/** Creates a {@link StreamTracker}. */
export function createStreamTracker(): StreamTracker {
  const open = new Set<SseStream<{ type: string }>>();
  const works = new Set<{ abort(reason?: unknown): void; readonly finished: boolean }>();
  return {
    addWork(work) {
      for (const done of [...works].filter((item) => item.finished)) works.delete(done);
      works.add(work);
    },
    add(stream) {
      open.add(stream);
      stream.signal.addEventListener('abort', () => open.delete(stream), { once: true });
    },
    get size() {
      return open.size;
    },
    async drain(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (open.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      for (const stream of open) stream.close();
      for (const work of works) {
        if (!work.finished)
          work.abort(new NexStreamError(NexStreamErrorCode.Aborted, 'the server is shutting down'));
      }
      works.clear();
    },
  };
}

/** The last word of a seed before `done`: what it stored, skipped and did not store, and why. */
export interface SeedReportEvent {
  type: 'seed-report';
  report: SeedReport;
}

interface ResolveJob {
  session: ResolutionSession;
  stream: SseStream;
  finished: boolean;
  abortTimer?: ReturnType<typeof setTimeout>;
}

/**
 * `GET /api/resolve?input=…[&override=…][&stream=<nonce>]`: the resolution as Server-Sent Events (named
 * events, numbered ids, heartbeats). With a `stream` nonce (bound to the client's address and key), a client reconnecting with `Last-Event-ID` gets
 * the events it missed and keeps following the same resolution. Closing the stream aborts the resolution
 * (after `resolveGraceMs`, which leaves time to reconnect).
 *
 * `POST /api/seed` `{ "input": "<album, playlist or artist link>" }`: the seed's progress as SSE (`progress`
 * events, one per track with its `item`), then a `seed-report` event with the `SeedReport` (what was stored,
 * skipped, not stored and why), then `done`.
 */
export function resolveRoutes(services: Services, streams: StreamTracker): ExpressRouter {
  const { config } = services;
  const router = Router();
  const replay = createSseReplayBuffer({ capacity: 1000, maxStreams: 500 });
  const jobs = new Map<string, ResolveJob>();
  const auth = requireKey(config.apiKey);

  const open = <TEvent extends { readonly type: string } = NexStreamEvent>(
    request: Parameters<typeof createSseStream>[0],
    response: Parameters<typeof createSseStream>[1],
    streamId: string,
  ) => {
    const stream = createSseStream<TEvent>(request, response, {
      replay,
      streamId,
      heartbeatMs: config.heartbeatMs,
      retryMs: 1000,
    });
    streams.add(stream);
    return stream;
  };

  const watch = (job: ResolveJob, streamId: string) => {
    job.stream.signal.addEventListener(
      'abort',
      () => {
        if (job.finished) return;
        const abort = () => {
          services.logger.info('resolve: the client left, aborting the resolution', { streamId });
          job.session.abort(
            new NexStreamError(NexStreamErrorCode.Aborted, 'the client closed the event stream'),
          );
        };
        if (config.resolveGraceMs <= 0) abort();
        else {
          job.abortTimer = setTimeout(abort, config.resolveGraceMs);
          job.abortTimer.unref();
        }
      },
      { once: true },
    );
  };

  router.get(
    '/api/resolve',
    auth,
    rateLimitMiddleware('resolve', config.rateLimits.resolve),
    route((request, response) => {
      const input = typeof request.query.input === 'string' ? request.query.input : '';
      const override = typeof request.query.override === 'string' ? request.query.override : undefined;
      // A YouTube video or nothing: refused with a JSON 400 before a stream opens or a process starts.
      if (override !== undefined && override.trim() !== '') parseOverride(override);
      const nonce = typeof request.query.stream === 'string' ? request.query.stream.slice(0, 100) : undefined;
      // The nonce is the client's: it is bound to the client's address (and key), so a guessed or reused
      // nonce never replays another client's resolution.
      const owner = createHash('sha256')
        .update(`${request.ip ?? ''}\n${presentedKey(request) ?? ''}`)
        .digest('base64url')
        .slice(0, 16);
      const streamId = nonce ? `resolve:${owner}:${nonce}` : `resolve:${randomUUID()}`;
      const reconnecting = request.headers['last-event-id'] !== undefined;

      const running = jobs.get(streamId);
      if (running && reconnecting) {
        // The same client again: replay what it missed, then follow the running resolution.
        if (running.abortTimer) clearTimeout(running.abortTimer);
        running.stream = open(request, response, streamId);
        watch(running, streamId);
        return;
      }
      if (reconnecting && replay.lastId(streamId) !== undefined) {
        // The resolution is over: the replay holds its end.
        open(request, response, streamId).close();
        return;
      }

      const stream = open(request, response, streamId);
      const session = services.resolver.resolve(input, override?.trim() ? { override } : {});
      const job: ResolveJob = { session, stream, finished: false };
      jobs.set(streamId, job);
      streams.addWork(session);
      watch(job, streamId);
      services.logger.info('resolve: started', { streamId, override: Boolean(override) });
      void (async () => {
        for await (const event of session) {
          await job.stream.send(event);
        }
        job.finished = true;
        const result = await session.result.then(
          (resolution) => ({ grade: resolution.grade, via: resolution.via, written: resolution.written }),
          (error: NexStreamError) => ({ code: error.code }),
        );
        services.logger.info('resolve: finished', { streamId, ...result });
        job.stream.close();
        // Keep the job a little for late reconnects; the replay buffer keeps its events longer.
        setTimeout(() => jobs.delete(streamId), 30_000).unref();
      })();
    }),
  );

  router.post(
    '/api/seed',
    auth,
    rateLimitMiddleware('seed', config.rateLimits.seed),
    route((request, response) => {
      const body = (request.body ?? {}) as { input?: unknown; concurrency?: unknown; extractMedia?: unknown };
      if (typeof body.input !== 'string' || !body.input.trim()) {
        throw new NexStreamError(
          NexStreamErrorCode.InvalidInput,
          'body must be { "input": "<album, playlist or artist link>" }',
        );
      }
      const concurrency =
        typeof body.concurrency === 'number' ? Math.max(1, Math.min(8, body.concurrency)) : undefined;
      const stream = open<NexStreamEvent | SeedReportEvent>(request, response, `seed:${randomUUID()}`);
      const session: SeedSession = services.resolver.seed(body.input, {
        signal: stream.signal,
        ...(concurrency ? { concurrency } : {}),
        ...(body.extractMedia === true ? { extractMedia: true } : {}),
      });
      streams.addWork(session);
      void (async () => {
        for await (const event of session) {
          // The report (what was stored, skipped, not stored and why) goes out just before `done`; the runner
          // has finished by then, so `result` is settled. A failed seed has no report: its `error` event says why.
          if (event.type === 'done') {
            const report = await session.result.catch(() => undefined);
            if (report) await stream.send({ type: 'seed-report', report });
          }
          await stream.send(event);
        }
        stream.close();
      })();
    }),
  );

  return router;
}
