import {
  type LogEvent,
  NexStreamError,
  NexStreamErrorCode,
  type ResolvedMedia,
  toNexStreamError,
} from '@nexstream/core';
import type { Registry, RegistryEntry } from '@nexstream/registry';
import { youtubeVideoId } from '@nexstream/registry/verification';
import type { VideoEngine } from './engine.js';

/** Options for {@link createLinkRefresher}. */
export interface LinkRefresherOptions {
  registry: Registry;
  /** The engine that re-extracts formats (the YouTube engine: it reads `youtube:` and `generic:` media). */
  video: VideoEngine;
  /** A link expiring within this many milliseconds is refreshed. Default 1800000 (30 min). */
  marginMs?: number;
  /** Epoch milliseconds. Default `Date.now`. */
  now?: () => number;
  /** Log lines (refreshes, failures, yt-dlp stderr). */
  onLog?: (event: LogEvent) => void;
}

/** Options for {@link LinkRefresher.refresh}. */
export interface RefreshOptions {
  /**
   * Re-extract even when the stored link looks valid: set it after a download got 403 (the CDN revoked the
   * link before its `expire`).
   */
  force?: boolean;
  /**
   * Stops waiting for the refresh. The shared extraction keeps running while anyone else (another caller, the
   * background refresher) still waits for it; it is aborted when the last waiter leaves.
   */
  signal?: AbortSignal;
}

/** Options for {@link LinkRefresher.start}. */
export interface BackgroundRefreshOptions {
  /** Between two passes over `dueForRefresh`, in milliseconds. Default 60000. */
  intervalMs?: number;
  /** Refresh links expiring within this many milliseconds. Default: the refresher's margin. */
  withinMs?: number;
  /** Links per pass. Default 50. */
  limit?: number;
  /** Refreshes running at once (each is a yt-dlp process). Default 2. */
  concurrency?: number;
}

/** What one background pass did. */
export interface RefreshPassReport {
  /** Links that were due. */
  due: number;
  refreshed: number;
  failed: Array<{ mediaId: string; code: string; message: string }>;
}

/** Just-in-time link refresh over the registry, and an optional background refresher. */
export interface LinkRefresher {
  /**
   * The media's current links: the stored ones when they are valid for longer than the margin, else freshly
   * extracted and recorded (`recordRefresh`). Concurrent refreshes of one media, the background refresher's
   * included, share one extraction, which lives as long as anyone waits for it: stopping the background
   * refresher does not abort a caller who joined its extraction.
   *
   * @throws NexStreamError `NXS_NOT_FOUND` when the registry has no such media; the extraction's error
   * (`NXS_PROCESS_FAILED`, `NXS_NOT_FOUND`, …) when the refresh failed (recorded as a failure);
   * `NXS_ABORTED` when `signal` aborts.
   */
  refresh(mediaId: string, options?: RefreshOptions): Promise<ResolvedMedia>;
  /** Whether a stored entry's links need a refresh now. */
  needsRefresh(entry: RegistryEntry): boolean;
  /** One background pass: refreshes what `dueForRefresh` lists. */
  runPass(options?: BackgroundRefreshOptions): Promise<RefreshPassReport>;
  /** Starts the background refresher (a pass now, then every `intervalMs`). Starting twice does nothing. */
  start(options?: BackgroundRefreshOptions): void;
  /**
   * Stops the background refresher. Its extractions that no `refresh` caller waits for are aborted, and it
   * resolves when they ended; those a caller joined keep running for that caller.
   */
  stop(): Promise<void>;
  /** Stops the background refresher and aborts every refresh in flight. */
  close(): Promise<void>;
  /** True between `start` and `stop`. */
  readonly running: boolean;
  /** Extractions running (coalesced; an abandoned one counts until it has ended), for tests and stats. */
  readonly inFlight: number;
}

function abortError(signal: AbortSignal, mediaId: string): NexStreamError {
  const why = NexStreamError.is(signal.reason) ? signal.reason.message : 'the caller stopped waiting';
  return new NexStreamError(NexStreamErrorCode.Aborted, `refresh of ${mediaId}: ${why}`, {
    cause: signal.reason,
    retryable: false,
  });
}

/** One extraction shared by everyone who asked for the same media while it ran. */
interface SharedExtraction {
  mediaId: string;
  promise: Promise<ResolvedMedia>;
  /** Aborted when the last waiter leaves (or the refresher closes). */
  controller: AbortController;
  /** Callers (and background workers) still waiting for it. */
  waiters: number;
}

/**
 * Waits for a shared extraction unless `signal` aborts first. A waiter that leaves is no longer counted; when
 * none is left the extraction is aborted, since nobody wants its result.
 */
function join(shared: SharedExtraction, signal: AbortSignal | undefined): Promise<ResolvedMedia> {
  shared.waiters += 1;
  let left = false;
  const leave = (): void => {
    if (left) return;
    left = true;
    shared.waiters -= 1;
    if (shared.waiters === 0 && !shared.controller.signal.aborted) {
      shared.controller.abort(
        new NexStreamError(
          NexStreamErrorCode.Aborted,
          `refresh of ${shared.mediaId}: every caller stopped waiting`,
        ),
      );
    }
  };
  if (signal?.aborted) {
    leave();
    return Promise.reject(abortError(signal, shared.mediaId));
  }
  return new Promise<ResolvedMedia>((resolve, reject) => {
    const onAbort = () => {
      leave();
      reject(abortError(signal as AbortSignal, shared.mediaId));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    shared.promise.then(
      (value) => {
        signal?.removeEventListener('abort', onAbort);
        left = true;
        resolve(value);
      },
      (error: unknown) => {
        signal?.removeEventListener('abort', onAbort);
        left = true;
        reject(error);
      },
    );
  });
}

function copyMedia(media: RegistryEntry['media']): ResolvedMedia {
  return structuredClone(media) as ResolvedMedia;
}

/**
 * Creates the refresher behind `resolver.refresh`: re-extracts a media's formats through the video engine when
 * its links expire within `marginMs` or when the caller says a download got 403 (`force`), records the result
 * in the registry (`recordRefresh`: new links, or one more failure), and coalesces concurrent refreshes of the
 * same media into one extraction. `start()` runs a background loop over `dueForRefresh`; its workers join
 * extractions like any caller, so an extraction is aborted only when every waiter has gone (or on `close`).
 */
export function createLinkRefresher(options: LinkRefresherOptions): LinkRefresher {
  const { registry, video } = options;
  const marginMs = options.marginMs ?? 30 * 60 * 1000;
  const now = options.now ?? Date.now;
  /** The extraction a new caller of a media joins (abandoned ones leave the map at once). */
  const inFlight = new Map<string, SharedExtraction>();
  /** Every extraction still running, joinable or abandoned. */
  const running = new Set<SharedExtraction>();
  const lifetime = new AbortController();
  let backgroundController: AbortController | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let currentPass: Promise<unknown> | undefined;
  const log = (level: LogEvent['level'], message: string) =>
    options.onLog?.({ type: 'log', level, source: 'refresh', message, at: Date.now() });

  function needsRefresh(entry: RegistryEntry): boolean {
    if (entry.link.dropped || entry.media.formats.length === 0) return true;
    const expiresAt = entry.link.expiresAt ?? entry.media.expiresAt;
    return expiresAt !== undefined && expiresAt - now() <= marginMs;
  }

  async function extract(entry: RegistryEntry, signal: AbortSignal | undefined): Promise<ResolvedMedia> {
    const mediaId = entry.media.id;
    const started = performance.now();
    try {
      // The registry holds YouTube media only: extract by id (the canonical watch URL), never a stored URL.
      const id = youtubeVideoId(mediaId);
      const { media } = await video.doExtract({
        ...(id ? { id } : { url: entry.media.pageUrl }),
        ...(signal ? { signal } : {}),
        ...(options.onLog ? { onLog: options.onLog } : {}),
      });
      const formats = media.formats;
      await registry.recordRefresh(mediaId, {
        ok: true,
        formats,
        ...(media.expiresAt === undefined ? {} : { expiresAt: media.expiresAt }),
      });
      log('info', `refreshed ${mediaId} in ${Math.round(performance.now() - started)} ms`);
      const fresh: ResolvedMedia = { ...copyMedia(entry.media), formats };
      if (media.expiresAt === undefined) delete fresh.expiresAt;
      else fresh.expiresAt = media.expiresAt;
      if (media.preferred) fresh.preferred = media.preferred;
      return fresh;
    } catch (error) {
      const failure = toNexStreamError(error, NexStreamErrorCode.Upstream);
      if (failure.code !== NexStreamErrorCode.Aborted) {
        try {
          const record = await registry.recordRefresh(mediaId, {
            ok: false,
            reason: `${failure.code}: ${failure.message}`,
          });
          log(
            'warn',
            `refresh of ${mediaId} failed (${record.refreshFailures} in a row${record.dropped ? ', link dropped' : ''}): ${failure.message}`,
          );
        } catch (recordError) {
          log(
            'error',
            `refresh of ${mediaId}: cannot record the failure: ${toNexStreamError(recordError).message}`,
          );
        }
      }
      throw failure;
    }
  }

  function joinable(mediaId: string): SharedExtraction | undefined {
    const shared = inFlight.get(mediaId);
    return shared && !shared.controller.signal.aborted ? shared : undefined;
  }

  async function refresh(mediaId: string, refreshOptions: RefreshOptions = {}): Promise<ResolvedMedia> {
    const shared = joinable(mediaId);
    if (shared) return join(shared, refreshOptions.signal);
    const entry = await registry.get({ mediaId });
    if (!entry) {
      throw new NexStreamError(NexStreamErrorCode.NotFound, `refresh: the registry has no media ${mediaId}`, {
        retryable: false,
      });
    }
    if (!refreshOptions.force && !needsRefresh(entry)) return copyMedia(entry.media);
    // Another caller may have started while we read the registry.
    const raced = joinable(mediaId);
    if (raced) return join(raced, refreshOptions.signal);
    const controller = new AbortController();
    const started: SharedExtraction = {
      mediaId,
      controller,
      waiters: 0,
      promise: extract(entry, AbortSignal.any([lifetime.signal, controller.signal])),
    };
    const forget = (): void => {
      if (inFlight.get(mediaId) === started) inFlight.delete(mediaId);
    };
    // An abandoned extraction is no longer joinable: the next caller starts a fresh one.
    controller.signal.addEventListener('abort', forget, { once: true });
    started.promise
      .finally(() => {
        forget();
        running.delete(started);
      })
      .catch(() => {});
    inFlight.set(mediaId, started);
    running.add(started);
    return join(started, refreshOptions.signal);
  }

  async function runPass(passOptions: BackgroundRefreshOptions = {}): Promise<RefreshPassReport> {
    const due = await registry.dueForRefresh({
      within: passOptions.withinMs ?? marginMs,
      limit: passOptions.limit ?? 50,
    });
    const report: RefreshPassReport = { due: due.length, refreshed: 0, failed: [] };
    const queue = [...due];
    const signal = backgroundController?.signal;
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        if (signal?.aborted) return;
        try {
          // The background waits like any caller: stopping it leaves, and aborts only what nobody else awaits.
          await refresh(next.mediaId, { force: true, ...(signal ? { signal } : {}) });
          report.refreshed += 1;
        } catch (error) {
          const failure = toNexStreamError(error);
          report.failed.push({ mediaId: next.mediaId, code: failure.code, message: failure.message });
        }
      }
    };
    const concurrency = Math.max(1, passOptions.concurrency ?? 2);
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
    if (report.due > 0) {
      log(
        'info',
        `background refresh: ${report.refreshed} of ${report.due} due links refreshed, ${report.failed.length} failed`,
      );
    }
    return report;
  }

  return {
    refresh: (mediaId, refreshOptions) => refresh(mediaId, refreshOptions),
    needsRefresh,
    runPass,
    start(startOptions: BackgroundRefreshOptions = {}) {
      if (backgroundController) return;
      const controller = new AbortController();
      backgroundController = controller;
      const intervalMs = startOptions.intervalMs ?? 60_000;
      const tick = () => {
        if (controller.signal.aborted) return;
        currentPass = runPass(startOptions)
          .catch((error: unknown) =>
            log('error', `background refresh pass failed: ${toNexStreamError(error).message}`),
          )
          .finally(() => {
            currentPass = undefined;
            if (controller.signal.aborted) return;
            timer = setTimeout(tick, intervalMs);
            // The loop alone does not keep the process alive.
            timer.unref?.();
          });
      };
      tick();
    },
    async stop() {
      const controller = backgroundController;
      if (!controller) return;
      backgroundController = undefined;
      controller.abort(new NexStreamError(NexStreamErrorCode.Aborted, 'the background refresher stopped'));
      if (timer) clearTimeout(timer);
      timer = undefined;
      await currentPass;
      // The extractions the background left without a waiter were aborted: wait until they ended.
      await Promise.allSettled(
        [...running].filter((shared) => shared.controller.signal.aborted).map((shared) => shared.promise),
      );
    },
    async close() {
      await this.stop();
      lifetime.abort(new NexStreamError(NexStreamErrorCode.Aborted, 'the refresher was closed'));
      await Promise.allSettled([...running].map((shared) => shared.promise));
    },
    get running() {
      return backgroundController !== undefined;
    },
    get inFlight() {
      return running.size;
    },
  };
}
