import {
  type LogEvent,
  NexStreamError,
  NexStreamErrorCode,
  type NexStreamEvent,
  type Platform,
  type ProgressItem,
  parseInput,
  type TrackRef,
  toNexStreamError,
} from '@nexstream/core';
import type { Registry, VerifiedMatch } from '@nexstream/registry';
import type { CollectionLookupResult, LookupRef, MetadataResult } from './engine.js';
import type { EngineFailure, RaceEngines } from './race.js';
import type { ResolutionRunner } from './resolution.js';
import { createEventSession, type EventSession } from './resolution-session.js';

/** Options for `resolver.seed`. */
export interface SeedOptions {
  /** Tracks resolved at once. Each engine's own rate limiter still spaces its calls. Default 4. */
  concurrency?: number;
  /** Stops the seed: running resolutions are aborted, finished verified matches are still written. */
  signal?: AbortSignal;
  /** Verified matches written per `putMany` transaction. Default 20. */
  batchSize?: number;
  /**
   * Extract each winner's formats (one yt-dlp `-J` per track). Default false: links expire within hours, so
   * the seeder stores the mapping and the first use (or the background refresher) extracts fresh links.
   */
  extractMedia?: boolean;
}

/** One track the seed could not store. */
export interface SeedFailure {
  /** An ISRC or `platform:id`. */
  id: string;
  /** `Artist - Title`. */
  label: string;
  /**
   * The error code (`NXS_NO_MATCH`, `NXS_UPSTREAM`, …), or `unverified`. When engines failed during the race
   * (upstream, timeout, rate-limited, unreachable), their code, not the `NXS_NO_MATCH` they led to.
   */
  code: string;
  reason: string;
  /** Running the seed again may store it: an engine failed (or a write did), rather than nothing matching. */
  retryable: boolean;
}

/** What a seed did. */
export interface SeedReport {
  /** The album, playlist or artist as the service names it. */
  title: string;
  kind: CollectionLookupResult['kind'];
  /** Tracks listed. */
  total: number;
  /** Already in the registry: not resolved again. */
  skipped: number;
  /** Resolved and verified in this run. */
  verified: number;
  /** Verified matches written to the registry in this run. */
  written: number;
  /** Resolved, but not ISRC-verified: not stored (they are tried again on the next seed). */
  unverified: SeedFailure[];
  /** Failed to resolve (or to store). */
  failed: SeedFailure[];
  /** Of `failed`: genuine no-matches, the race ended with every engine answering and nothing acceptable. */
  noMatch: number;
  /** Of `failed`: those marked `retryable` (engines failed or timed out): run the seed again for them. */
  retryable: number;
  elapsedMs: number;
}

/** A seed in progress: `progress` events (phase `seed`, one per track with `item`), logs, and the report. */
export type SeedSession = EventSession<NexStreamEvent, SeedReport>;

/** What the seeder needs from the resolver. */
export interface SeederDependencies {
  engines: RaceEngines;
  registry?: Registry;
  sourceEngines: Readonly<Record<Platform, readonly string[]>>;
  run: ResolutionRunner;
}

/** The seeder behind `resolver.seed`. */
export interface Seeder {
  seed(ref: string | TrackRef, options?: SeedOptions): SeedSession;
}

function labelOf(result: MetadataResult): string {
  const artist = result.track.artists[0];
  return artist ? `${artist} - ${result.track.title}` : result.track.title;
}

/** Engine failure codes that say nothing about the track: the service was down, slow, busy or unreachable. */
const transientCodes: ReadonlySet<string> = new Set([
  NexStreamErrorCode.Upstream,
  NexStreamErrorCode.Timeout,
  NexStreamErrorCode.RateLimited,
  NexStreamErrorCode.Unreachable,
]);

/**
 * What a failed resolution means for the seed. A `NXS_NO_MATCH` whose race saw engines fail
 * (`details.failures` with a transient code) is reported with their code and messages and marked retryable: the
 * video search may have found the track had it answered. Anything else keeps its own code.
 */
function seedFailureOf(error: unknown): Pick<SeedFailure, 'code' | 'reason' | 'retryable'> {
  const failure = toNexStreamError(error);
  if (failure.code === NexStreamErrorCode.NoMatch) {
    const failures = ((failure.details as { failures?: EngineFailure[] } | undefined)?.failures ?? []).filter(
      (entry) => transientCodes.has(entry.code),
    );
    if (failures.length > 0) {
      const codes = new Set(failures.map((entry) => entry.code));
      const unreachable =
        codes.has(NexStreamErrorCode.Unreachable) &&
        [...codes].every(
          (code) => code === NexStreamErrorCode.Unreachable || code === NexStreamErrorCode.Timeout,
        );
      const code = unreachable
        ? NexStreamErrorCode.Unreachable
        : codes.size === 1
          ? ([...codes][0] as string)
          : NexStreamErrorCode.Upstream;
      const list = failures.map((entry) => `${entry.engine} (${entry.operation}) failed: ${entry.message}`);
      return {
        code,
        reason: `${list.join('; ')}; without ${failures.length === 1 ? 'it' : 'them'} the race found no match (${failure.message})`,
        retryable: true,
      };
    }
    return { code: failure.code, reason: failure.message, retryable: false };
  }
  return { code: failure.code, reason: failure.message, retryable: failure.retryable };
}

function idOf(result: MetadataResult, platform: Platform): string {
  if (result.track.isrc) return result.track.isrc;
  const id = result.track.ids[platform];
  return id ? `${platform}:${id}` : labelOf(result);
}

/**
 * Creates the seeder: lists an album's, a playlist's or an artist's tracks (the platform's `doLookup`), skips
 * those the registry already holds (by ISRC, else by platform id), resolves the rest with bounded concurrency,
 * and writes verified matches in `putMany` batches. A seed that is interrupted keeps what it wrote; run again,
 * it skips those tracks (decision record 0093).
 */
export function createSeeder(dependencies: SeederDependencies): Seeder {
  const { engines, registry, sourceEngines } = dependencies;

  async function list(ref: LookupRef, signal: AbortSignal, onLog: (event: LogEvent) => void) {
    const own = sourceEngines[ref.platform] ?? [];
    const candidates = engines.metadata
      .filter((engine) => engine.doLookup && engine.lookupPlatforms.includes(ref.platform))
      .sort((a, b) => Number(own.includes(b.id)) - Number(own.includes(a.id)));
    if (candidates.length === 0) {
      throw new NexStreamError(
        NexStreamErrorCode.InvalidInput,
        `seed: no engine can list ${ref.platform} ${ref.kind}s; add the ${ref.platform} engine`,
        { retryable: false },
      );
    }
    let lastError: unknown;
    for (const engine of candidates) {
      try {
        const found = await engine.doLookup!({ ref, signal, onLog });
        if (found && found.kind !== 'track') return found;
      } catch (error) {
        if (signal.aborted) throw error;
        lastError = error;
      }
    }
    if (lastError) throw toNexStreamError(lastError, NexStreamErrorCode.Upstream);
    throw new NexStreamError(
      NexStreamErrorCode.NotFound,
      `seed: ${ref.platform} has no ${ref.kind} ${ref.id}`,
      {
        retryable: false,
      },
    );
  }

  async function alreadyStored(result: MetadataResult, platform: Platform): Promise<boolean> {
    if (!registry) return false;
    if (result.track.isrc && (await registry.get({ isrc: result.track.isrc }))) return true;
    const id = result.track.ids[platform];
    return id !== undefined && (await registry.get({ platform, id })) !== undefined;
  }

  return {
    seed(input, options = {}) {
      return createEventSession<NexStreamEvent, SeedReport>(
        async ({ emit, signal, startedAt }) => {
          const ref = typeof input === 'string' ? parseInput(input) : input;
          if (ref.type !== 'platform' || ref.kind === 'track') {
            throw new NexStreamError(
              NexStreamErrorCode.InvalidInput,
              'seed: give an album, playlist or artist link (a single track is resolved with resolver.resolve)',
              { retryable: false },
            );
          }
          const onLog = (event: LogEvent) => emit(event);
          const collection = await list(ref, signal, onLog);
          const tracks = collection.tracks;
          const report: SeedReport = {
            title: collection.title,
            kind: collection.kind,
            total: tracks.length,
            skipped: 0,
            verified: 0,
            written: 0,
            unverified: [],
            failed: [],
            noMatch: 0,
            retryable: 0,
            elapsedMs: 0,
          };
          let done = 0;
          const progress = (item?: ProgressItem) => {
            const failed = report.failed.length + report.unverified.length;
            emit({
              type: 'progress',
              phase: 'seed',
              done,
              total: tracks.length,
              failed,
              message: `${collection.kind} "${collection.title}": ${done} of ${tracks.length} tracks (${report.skipped} already stored, ${report.verified} verified, ${failed} not stored${report.retryable > 0 ? `, ${report.retryable} of them after engine failures: run the seed again` : ''})`,
              ...(item ? { item } : {}),
            });
          };
          progress();

          const pending: VerifiedMatch[] = [];
          const batchSize = Math.max(1, options.batchSize ?? 20);
          let writing: Promise<void> = Promise.resolve();
          const flush = (): Promise<void> => {
            if (!registry || pending.length === 0) return writing;
            const batch = pending.splice(0);
            writing = writing.then(async () => {
              try {
                await registry.putMany(batch);
                report.written += batch.length;
              } catch (error) {
                const failure = toNexStreamError(error);
                emit({
                  type: 'log',
                  level: 'error',
                  source: 'seed',
                  message: `could not store ${batch.length} verified matches: ${failure.message}`,
                  at: Date.now(),
                });
                for (const match of batch) {
                  report.failed.push({
                    id: match.track.isrc,
                    label: `${match.track.artists[0] ?? ''} - ${match.track.title}`,
                    code: failure.code,
                    reason: `registry write failed: ${failure.message}`,
                    retryable: failure.retryable,
                  });
                  if (failure.retryable) report.retryable += 1;
                }
              }
            });
            return writing;
          };

          const seedOne = async (result: MetadataResult) => {
            const id = idOf(result, ref.platform);
            const label = labelOf(result);
            if (await alreadyStored(result, ref.platform)) {
              report.skipped += 1;
              done += 1;
              progress({ id, label, status: 'skipped', reason: 'already in the registry' });
              return;
            }
            const controller = new AbortController();
            const onAbort = () => controller.abort(signal.reason);
            if (signal.aborted) controller.abort(signal.reason);
            else signal.addEventListener('abort', onAbort, { once: true });
            try {
              const resolution = await dependencies.run(
                { input: { known: result }, extract: options.extractMedia ?? false, write: false },
                {
                  emit: (event) => {
                    if (event.type === 'log' && (event.level === 'warn' || event.level === 'error'))
                      emit(event);
                  },
                  signal: controller.signal,
                  startedAt: performance.now(),
                },
              );
              done += 1;
              if (resolution.verifiedMatch) {
                report.verified += 1;
                pending.push(resolution.verifiedMatch);
                if (pending.length >= batchSize) void flush();
                progress({ id, label, status: 'done', mediaId: resolution.mediaId });
              } else {
                const reason = `best match ${resolution.mediaId} is ${resolution.grade}, not ISRC-verified: not stored`;
                report.unverified.push({ id, label, code: 'unverified', reason, retryable: false });
                progress({ id, label, status: 'unverified', reason, mediaId: resolution.mediaId });
              }
            } catch (error) {
              if (signal.aborted) throw error;
              const failure = seedFailureOf(error);
              done += 1;
              report.failed.push({ id, label, ...failure });
              if (failure.retryable) report.retryable += 1;
              else if (failure.code === NexStreamErrorCode.NoMatch) report.noMatch += 1;
              progress({
                id,
                label,
                status: 'failed',
                reason: `${failure.code}${failure.retryable ? ' (retryable)' : ''}: ${failure.reason}`,
              });
            } finally {
              signal.removeEventListener('abort', onAbort);
            }
          };

          const queue = [...tracks];
          const worker = async () => {
            for (let next = queue.shift(); next && !signal.aborted; next = queue.shift()) await seedOne(next);
          };
          const concurrency = Math.max(1, options.concurrency ?? 4);
          const workers = await Promise.allSettled(
            Array.from({ length: Math.min(concurrency, queue.length) }, worker),
          );
          // Whatever happened, what was verified is written: a restarted seed will skip it.
          await flush();
          report.elapsedMs = Math.round(performance.now() - startedAt);
          if (signal.aborted) {
            throw new NexStreamError(
              NexStreamErrorCode.Aborted,
              `seed aborted after ${done} of ${tracks.length} tracks; ${report.written} verified matches were stored and will be skipped next time`,
              { retryable: false, details: report },
            );
          }
          const crashed = workers.find((outcome) => outcome.status === 'rejected');
          if (crashed?.status === 'rejected') throw crashed.reason;
          progress();
          return report;
        },
        options.signal ? { signal: options.signal } : {},
      );
    },
  };
}
