import {
  type LogEvent,
  NexStreamError,
  NexStreamErrorCode,
  type NexStreamEvent,
  type Platform,
  parseInput,
  type ResolvedMedia,
  type TrackMetadata,
  type TrackRef,
  toNexStreamError,
  toPublicMedia,
} from '@nexstream/core';
import type { Registry, RegistryEntry } from '@nexstream/registry';
import { youtubeVideoId } from '@nexstream/registry/verification';
import type {
  Engine,
  ExtractedMedia,
  MetadataEngine,
  MetadataResult,
  QueryEngine,
  VideoCandidate,
  VideoEngine,
} from './engine.js';
import { gradeCandidate, gradeExtractedWinner } from './grading.js';
import {
  type BackgroundRefreshOptions,
  createLinkRefresher,
  type LinkRefresher,
  type RefreshOptions,
} from './link-refresher.js';
import type { ScoreOptions } from './match-scorer.js';
import { createMediaHandles, type MediaHandle } from './media-handles.js';
import {
  candidateEvent,
  defaultRaceTimings,
  type EngineFailure,
  type RaceEngines,
  type RaceInput,
  type RaceTimings,
  runRace,
  type ScoredCandidate,
} from './race.js';
import type { Resolution, ResolutionRequest, ResolutionRunner, ResolutionSession } from './resolution.js';
import { createEventSession } from './resolution-session.js';
import { createSeeder, type SeedOptions, type SeedSession } from './seeder.js';
import {
  buildVerifiedMatch,
  checkIsrcAuthority,
  type IsrcAuthority,
  verificationMethodOf,
} from './verification.js';

/**
 * Which metadata engines hold each platform's own catalogue: a link's metadata comes from them first
 * (Spotify links from the Spotify engine, Apple Music links from iTunes).
 */
export const defaultSourceEngines: Readonly<Record<Platform, readonly string[]>> = Object.freeze({
  spotify: ['spotify'],
  deezer: ['deezer'],
  apple: ['itunes'],
  youtube: [],
});

/** Options for {@link createResolver}. */
export interface ResolverOptions {
  /** The engines to race: a list, or the `EngineSet` of `createDefaultEngines`. The resolver does not close them. */
  engines: readonly Engine[] | { readonly engines: readonly Engine[] };
  /** Where verified matches are looked up and written. Without one, nothing is remembered. */
  registry?: Registry;
  /** Tier delays, grace period, deadline and refresh margin (see {@link defaultRaceTimings}). */
  timings?: Partial<RaceTimings>;
  /** Overrides of {@link defaultSourceEngines}. */
  sourceEngines?: Partial<Record<Platform, readonly string[]>>;
  /** Passed to the match scorer (threshold overrides). */
  scoreOptions?: ScoreOptions;
  /** Results per video search. Default 10. */
  searchLimit?: number;
  /** Write verified matches to the registry. Default true. */
  writeVerified?: boolean;
  /** How long a finished resolution waits for aborted engine calls to end, in ms. Default 2000. */
  drainTimeoutMs?: number;
  /** Log lines of work outside a session (the background refresher). */
  onLog?: (event: LogEvent) => void;
  /** Epoch milliseconds (link expiry checks). Default `Date.now`. */
  now?: () => number;
  /**
   * How many recently resolved media {@link Resolver.media} keeps in memory (verified or not), besides the
   * registry. Default 500.
   */
  recentMedia?: number;
}

/** Options for {@link Resolver.resolve}. */
export interface ResolveOptions {
  /** Aborts the resolution: every engine call and yt-dlp process is cancelled (a closed SSE stream). */
  signal?: AbortSignal;
  /**
   * A YouTube video the caller names: an 11-character id, `youtube:<id>`, or a youtube.com / youtu.be /
   * music.youtube.com video link (see {@link parseOverride}; anything else is `NXS_INVALID_INPUT` before any
   * process starts). It is extracted (so it must exist), scored against the track for the record, and used:
   * the events say `via: 'override'`. It is never verified and never written to the registry: only the
   * race's own pick can be.
   */
  override?: string;
}

/** The resolver: races engines, remembers verified matches, refreshes links, seeds in bulk. */
export interface Resolver {
  /**
   * Resolves a link, an ISRC or a query (a string for `parseInput`, or a `TrackRef`) to a track and its media.
   * Events: `metadata` (as soon as known), `candidate` (each scored video), `log`, `progress`, `settled`,
   * `media`, then `done`; `error` then `done` on failure.
   */
  resolve(input: string | TrackRef, options?: ResolveOptions): ResolutionSession;
  /**
   * The handle of a media this resolver handed out (its recent resolutions, verified or not, then the
   * registry): the public media for clients, and for the server's tunnel where each format's bytes are and
   * fresh links after a 403.
   *
   * @throws NexStreamError `NXS_NOT_FOUND` when the media was never resolved here and is not stored.
   */
  media(mediaId: string): Promise<MediaHandle>;
  /** Re-extracts a stored media's links when they expire within the margin, or at once with `force` (after a 403). */
  refresh(mediaId: string, options?: RefreshOptions): Promise<ResolvedMedia>;
  /** Starts the background refresher over `dueForRefresh` (no-op without a registry). */
  startRefresher(options?: BackgroundRefreshOptions): void;
  /** Stops the background refresher. */
  stopRefresher(): Promise<void>;
  /** Seeds the registry from an album, a playlist or an artist's top tracks. */
  seed(ref: string | TrackRef, options?: SeedOptions): SeedSession;
  /** The timings in effect. */
  readonly timings: Readonly<RaceTimings>;
  /** Stops the refresher and aborts refreshes in flight. The engines and the registry stay open (they are yours). */
  close(): Promise<void>;
}

function enginesOf(engines: ResolverOptions['engines']): RaceEngines {
  const list: readonly Engine[] = Array.isArray(engines)
    ? (engines as readonly Engine[])
    : (engines as { engines: readonly Engine[] }).engines;
  return {
    metadata: list.filter((engine): engine is MetadataEngine => engine.kind === 'metadata'),
    video: list.filter((engine): engine is VideoEngine => engine.kind === 'video'),
    query: list.filter((engine): engine is QueryEngine => engine.kind === 'query'),
  };
}

function invalid(message: string): NexStreamError {
  return new NexStreamError(NexStreamErrorCode.InvalidInput, message, { retryable: false });
}

/** The registry key and race input for a parsed input. */
function requestOf(ref: TrackRef): ResolutionRequest {
  switch (ref.type) {
    case 'isrc':
      return { input: { isrc: ref.isrc }, registryKey: { isrc: ref.isrc } };
    case 'query':
      return { input: { query: ref.query } };
    case 'redirect':
      throw invalid(
        `resolve: ${ref.url} is a short link; follow its redirect first (or paste the full ${ref.platform} link)`,
      );
    case 'platform': {
      if (ref.kind !== 'track') {
        throw invalid(
          `resolve: ${ref.url} is a ${ref.platform} ${ref.kind}, not a track; use resolver.seed() for it`,
        );
      }
      if (ref.platform === 'youtube') {
        // The link names the video itself: check it and use it.
        return { input: {}, registryKey: { mediaId: `youtube:${ref.id}` }, override: ref.id };
      }
      // The parsed link is the engines' look-up itself (a `LookupRef`): no copy.
      return { input: { ref }, registryKey: { platform: ref.platform, id: ref.id } };
    }
  }
}

/**
 * Reads a caller's override: an 11-character YouTube video id, `youtube:<id>`, or a youtube.com, youtu.be,
 * m.youtube.com or music.youtube.com video link (read by `parseInput`, so share links with tracking
 * parameters work). Returns the video id; yt-dlp is then given the canonical watch URL built from it, never
 * the caller's text, so an override can name a YouTube video and nothing else.
 *
 * @throws NexStreamError `NXS_INVALID_INPUT` for anything else (another site, a playlist, a channel, a
 *   private address), before any process starts.
 */
export function parseOverride(override: string): string {
  const trimmed = override.trim();
  const bare = /^(?:youtube:)?([A-Za-z0-9_-]{11})$/.exec(trimmed);
  if (bare?.[1]) return bare[1];
  let ref: TrackRef | undefined;
  try {
    ref = trimmed.length <= 2048 ? parseInput(trimmed) : undefined;
  } catch {
    ref = undefined;
  }
  if (ref?.type === 'platform' && ref.platform === 'youtube' && ref.kind === 'track') return ref.id;
  throw invalid(
    `override ${JSON.stringify(trimmed.slice(0, 200))} is not a YouTube video: give an 11-character video id or a youtube.com / youtu.be / music.youtube.com video link`,
  );
}

/** What yt-dlp reads for a candidate: a YouTube video by its id (the canonical watch URL), anything else by URL. */
function extractTarget(candidate: VideoCandidate): { id: string } | { url: string } {
  const id = youtubeVideoId(candidate.mediaId);
  return id ? { id } : { url: candidate.url };
}

/** A media without formats, from a search candidate (when extraction is skipped). */
function mediaFromCandidate(candidate: VideoCandidate): ResolvedMedia {
  const platform = candidate.mediaId.slice(0, candidate.mediaId.indexOf(':'));
  const media: ResolvedMedia = {
    id: candidate.mediaId,
    platform: platform === 'youtube' ? 'youtube' : 'generic',
    pageUrl: candidate.url,
    title: candidate.title,
    formats: [],
  };
  if (candidate.channel) media.channel = candidate.channel;
  if (candidate.durationMs) media.durationMs = candidate.durationMs;
  return media;
}

/** A track made from a video when nothing else names it (an override without metadata). */
function trackFromCandidate(candidate: VideoCandidate): TrackMetadata {
  if (candidate.artTrack) {
    const track: TrackMetadata = {
      title: candidate.artTrack.title,
      artists: candidate.artTrack.artists,
      ids: {},
    };
    if (candidate.artTrack.album) track.album = candidate.artTrack.album;
    if (candidate.durationMs) track.durationMs = candidate.durationMs;
    return track;
  }
  const track: TrackMetadata = {
    title: candidate.title,
    artists: candidate.channel ? [candidate.channel.replace(/\s-\sTopic$/i, '')] : [],
    ids: {},
  };
  if (candidate.durationMs) track.durationMs = candidate.durationMs;
  return track;
}

async function within(promise: Promise<unknown>, timeoutMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    promise.catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    }),
  ]);
  if (timer) clearTimeout(timer);
}

/**
 * Creates the resolver. `resolve()` follows ARCHITECTURE.md's "Resolve" flow: a registry hit settles at once
 * (its link refreshed first when it expires within `refreshMarginMs`); otherwise the link's own platform
 * gives the metadata (a `metadata` event as soon as it is known) and the tiered race runs
 * (see `runRace` and `settlementDecision`); the winner's formats are extracted (a `media` event); an
 * ISRC-verified match is written to the registry.
 *
 * @example
 * ```ts
 * const engines = createDefaultEngines();
 * const registry = await createRegistry();
 * const resolver = createResolver({ engines, registry });
 * const session = resolver.resolve('https://open.spotify.com/track/0DiWol3AO6WpXZgp0goxAV');
 * for await (const event of session) console.log(event.type);
 * const { track, media, grade } = await session.result;
 * ```
 */
export function createResolver(options: ResolverOptions): Resolver {
  const engines = enginesOf(options.engines);
  const timings: RaceTimings = { ...defaultRaceTimings, ...options.timings };
  const sourceEngines = { ...defaultSourceEngines, ...options.sourceEngines };
  const registry = options.registry;
  const now = options.now ?? Date.now;
  const drainTimeoutMs = options.drainTimeoutMs ?? 2000;
  const extractor = engines.video.find((engine) => engine.capabilities.includes('extract'));
  const refresher: LinkRefresher | undefined =
    registry && extractor
      ? createLinkRefresher({
          registry,
          video: extractor,
          marginMs: timings.refreshMarginMs,
          now,
          ...(options.onLog ? { onLog: options.onLog } : {}),
        })
      : undefined;

  const handles = createMediaHandles({
    ...(registry ? { registry } : {}),
    ...(refresher ? { refresher } : {}),
    capacity: options.recentMedia ?? 500,
    ...(extractor
      ? {
          // By video id when it is a YouTube video (yt-dlp reads YouTube only); else the page it came from.
          reExtract: async (media: ResolvedMedia, signal: AbortSignal | undefined) => {
            const id = youtubeVideoId(media.id);
            const extracted = await extractor.doExtract({
              ...(id ? { id } : { url: media.pageUrl }),
              ...(signal ? { signal } : {}),
            });
            return extracted.media;
          },
        }
      : {}),
  });

  function requireExtractor(): VideoEngine {
    if (!extractor) {
      throw new NexStreamError(
        NexStreamErrorCode.DependencyMissing,
        'resolver: no video engine can extract media; add the YouTube engine (createYoutubeEngine) to engines',
        { retryable: false },
      );
    }
    return extractor;
  }

  /** Runs `run` with its own AbortController linked to `signal`; the controller is released afterwards. */
  async function linked<T>(signal: AbortSignal, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal.reason);
    if (signal.aborted) controller.abort(signal.reason);
    else signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await run(controller.signal);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  async function fromRegistry(
    entry: RegistryEntry,
    context: { emit(event: NexStreamEvent): void; signal: AbortSignal; startedAt: number },
  ): Promise<Resolution> {
    const track = structuredClone(entry.track) as TrackMetadata;
    context.emit({ type: 'metadata', engine: 'registry', track, authoritative: true });
    let media = structuredClone(entry.media) as ResolvedMedia;
    if (refresher?.needsRefresh(entry)) {
      context.emit({
        type: 'log',
        level: 'info',
        source: 'resolver',
        message: `the stored links of ${entry.media.id} expire within ${timings.refreshMarginMs} ms: refreshing first`,
        at: Date.now(),
      });
      media = await refresher.refresh(entry.media.id, { force: true, signal: context.signal });
    }
    const settledMs = Math.round(performance.now() - context.startedAt);
    context.emit({
      type: 'settled',
      track,
      mediaId: media.id,
      grade: 'verified',
      via: 'registry',
      elapsedMs: settledMs,
    });
    handles.remember(media, track);
    const publicMedia = toPublicMedia(media);
    context.emit({ type: 'media', media: publicMedia });
    return {
      track,
      media: publicMedia,
      mediaId: media.id,
      grade: 'verified',
      via: 'registry',
      verification: {
        method: entry.verification.method,
        isrc: entry.track.isrc,
        isrcSource: entry.verification.isrcSource,
      },
      written: false,
      failures: [],
      settledMs,
      elapsedMs: Math.round(performance.now() - context.startedAt),
    };
  }

  /**
   * Extracts the winner's formats and finishes the resolution. The race's winner is graded once more on the
   * extraction (`gradeExtractedWinner`): the full extraction adds art-track fields a search entry lacks, and
   * those new facts can tie the video to the authoritative ISRC (`verified`). An override's winner is the
   * extraction already (`settled.extracted`), graded once by `runOverride`.
   */
  async function finishWinner(
    request: ResolutionRequest,
    context: { emit(event: NexStreamEvent): void; signal: AbortSignal; startedAt: number },
    settled: {
      track: TrackMetadata;
      winner: ScoredCandidate;
      authority: IsrcAuthority | undefined;
      via: 'race' | 'override';
      settledMs: number;
      failures: EngineFailure[];
      extracted?: ExtractedMedia;
    },
  ): Promise<Resolution> {
    const onLog = (event: LogEvent) => context.emit(event);
    let { candidate, score, grade } = settled.winner;
    let extracted = settled.extracted;
    if (!extracted && request.extract !== false) {
      extracted = await linked(context.signal, (signal) =>
        requireExtractor().doExtract({ ...extractTarget(settled.winner.candidate), signal, onLog }),
      );
      const regraded = gradeExtractedWinner(
        settled.winner,
        extracted.candidate,
        settled.track,
        settled.authority,
        options.scoreOptions,
      );
      if (regraded.promoted) {
        context.emit({
          type: 'log',
          level: 'info',
          source: 'resolver',
          message: `the full extraction ties ${candidate.mediaId} to ISRC ${settled.authority?.isrc}: verified`,
          at: Date.now(),
        });
      }
      ({ candidate, score, grade } = regraded);
    }
    let media: ResolvedMedia;
    if (extracted) {
      media = extracted.media;
      handles.remember(media, settled.track);
      context.emit({ type: 'media', media: toPublicMedia(media) });
    } else {
      media = mediaFromCandidate(candidate);
    }

    const resolution: Resolution = {
      track: settled.track,
      media: toPublicMedia(media),
      mediaId: media.id,
      grade,
      via: settled.via,
      candidate,
      score,
      written: false,
      failures: settled.failures,
      settledMs: settled.settledMs,
      elapsedMs: 0,
    };
    const method = verificationMethodOf(candidate, score, settled.authority, settled.track.durationMs);
    // A video the caller named (override) is used as asked but never verified: only the race's own pick is.
    if (method && settled.authority && settled.via === 'race') {
      const built = buildVerifiedMatch({
        track: settled.track,
        authority: settled.authority,
        method,
        media,
        candidate,
        via: settled.via,
      });
      if ('match' in built) {
        resolution.verification = {
          method,
          isrc: settled.authority.isrc,
          isrcSource: settled.authority.source,
        };
        resolution.verifiedMatch = built.match;
        if (registry && (request.write ?? options.writeVerified ?? true)) {
          try {
            await registry.put(built.match);
            resolution.written = true;
          } catch (error) {
            context.emit({
              type: 'log',
              level: 'warn',
              source: 'resolver',
              message: `could not store the verified match: ${toNexStreamError(error).message}`,
              at: Date.now(),
            });
          }
        }
      } else {
        context.emit({
          type: 'log',
          level: 'warn',
          source: 'resolver',
          message: `the match looked verified but the registry refuses it: ${built.problems.join('; ')}`,
          at: Date.now(),
        });
      }
    }
    resolution.elapsedMs = Math.round(performance.now() - context.startedAt);
    return resolution;
  }

  /** The source metadata for an override (first answer of the link's own engines, or of the ISRC engines). */
  async function overrideMetadata(
    input: RaceInput,
    context: { emit(event: NexStreamEvent): void; signal: AbortSignal },
    failures: EngineFailure[],
  ): Promise<{ result: MetadataResult; authority?: IsrcAuthority } | undefined> {
    const onLog = (event: LogEvent) => context.emit(event);
    const attempts: Array<{
      engine: MetadataEngine;
      run: (signal: AbortSignal) => Promise<MetadataResult | null>;
    }> = [];
    for (const engine of engines.metadata) {
      const ref = input.ref;
      if (ref && engine.doLookup && (sourceEngines[ref.platform] ?? []).includes(engine.id)) {
        attempts.push({
          engine,
          run: async (signal) => {
            const found = await engine.doLookup!({ ref, signal, onLog });
            return found?.kind === 'track' ? found.result : null;
          },
        });
      } else if (input.isrc && engine.provesIsrc && engine.doFindByIsrc) {
        const isrc = input.isrc;
        attempts.push({ engine, run: (signal) => engine.doFindByIsrc!({ isrc, signal, onLog }) });
      }
    }
    for (const attempt of attempts) {
      try {
        const result = await linked(context.signal, attempt.run);
        if (!result) continue;
        const check = checkIsrcAuthority(result.track, result);
        context.emit({
          type: 'metadata',
          engine: result.engine,
          track: result.track,
          authoritative: !!check.authority,
        });
        return check.authority ? { result, authority: check.authority } : { result };
      } catch (error) {
        if (context.signal.aborted) throw error;
        const failure = toNexStreamError(error, NexStreamErrorCode.Upstream);
        failures.push({
          engine: attempt.engine.id,
          operation: 'metadata',
          code: failure.code,
          message: failure.message,
        });
      }
    }
    return undefined;
  }

  async function runOverride(
    request: ResolutionRequest & { override: string },
    context: { emit(event: NexStreamEvent): void; signal: AbortSignal; startedAt: number },
  ): Promise<Resolution> {
    const id = parseOverride(request.override);
    const onLog = (event: LogEvent) => context.emit(event);
    context.emit({
      type: 'log',
      level: 'info',
      source: 'resolver',
      message: `override: the caller names ${request.override}; checking it`,
      at: Date.now(),
    });
    const failures: EngineFailure[] = [];
    const extraction = linked(context.signal, (signal) =>
      requireExtractor().doExtract({ id, signal, onLog }),
    );
    extraction.catch(() => {});
    const metadata = await overrideMetadata(request.input, context, failures);
    const extracted = await extraction;
    const track = metadata?.authority
      ? { ...metadata.result.track, isrc: metadata.authority.isrc }
      : (metadata?.result.track ?? trackFromCandidate(extracted.candidate));
    const { score, grade } = gradeCandidate(
      track,
      extracted.candidate,
      metadata?.authority,
      options.scoreOptions,
    );
    const winner: ScoredCandidate = { candidate: extracted.candidate, foundBy: ['override'], score, grade };
    context.emit(
      candidateEvent(winner, 'override', 'named by the caller (override), used whatever its score'),
    );
    if (grade === 'rejected') {
      context.emit({
        type: 'log',
        level: 'warn',
        source: 'resolver',
        message: `override ${request.override} does not look like "${track.title}" (${score.reasons[0] ?? ''}); used as asked`,
        at: Date.now(),
      });
    }
    const settledMs = Math.round(performance.now() - context.startedAt);
    context.emit({
      type: 'settled',
      track,
      mediaId: extracted.media.id,
      grade,
      via: 'override',
      elapsedMs: settledMs,
    });
    return finishWinner(request, context, {
      track,
      winner,
      authority: metadata?.authority,
      via: 'override',
      settledMs,
      failures,
      extracted,
    });
  }

  const runResolution: ResolutionRunner = async (request, context) => {
    // A caller's override wins over the registry, except when the input is the video's own link.
    if (registry && request.registryKey && (!request.override || 'mediaId' in request.registryKey)) {
      const entry = await registry.get(request.registryKey);
      if (entry) return fromRegistry(entry, context);
    }
    if (request.override) return runOverride({ ...request, override: request.override }, context);

    const race = runRace<RegistryEntry>({
      engines,
      timings,
      input: request.input,
      signal: context.signal,
      emit: context.emit,
      startedAt: context.startedAt,
      sourceEngines,
      ...(options.scoreOptions ? { scoreOptions: options.scoreOptions } : {}),
      ...(options.searchLimit ? { searchLimit: options.searchLimit } : {}),
      ...(registry
        ? {
            onAuthority: async (authority: IsrcAuthority) =>
              (await registry.get({ isrc: authority.isrc })) ?? undefined,
          }
        : {}),
    });
    try {
      const outcome = await race.outcome;
      if (outcome.kind === 'shortcut') return await fromRegistry(outcome.value, context);
      const settledMs = Math.round(performance.now() - context.startedAt);
      context.emit({
        type: 'settled',
        track: outcome.track,
        mediaId: outcome.winner.candidate.mediaId,
        grade: outcome.winner.grade,
        via: 'race',
        elapsedMs: settledMs,
      });
      return await finishWinner(request, context, {
        track: outcome.track,
        winner: outcome.winner,
        authority: outcome.authority,
        via: 'race',
        settledMs,
        failures: outcome.failures,
      });
    } finally {
      await within(race.drained(), drainTimeoutMs);
    }
  };

  const seeder = createSeeder({
    engines,
    ...(registry ? { registry } : {}),
    sourceEngines,
    run: runResolution,
  });

  return {
    timings,
    media(mediaId) {
      return handles.get(mediaId);
    },
    resolve(input, resolveOptions = {}) {
      return createEventSession<NexStreamEvent, Resolution>(
        async ({ emit, signal, startedAt }) => {
          const ref = typeof input === 'string' ? parseInput(input) : input;
          const request = requestOf(ref);
          if (resolveOptions.override) request.override = resolveOptions.override;
          return runResolution(request, { emit, signal, startedAt });
        },
        resolveOptions.signal ? { signal: resolveOptions.signal } : {},
      );
    },
    async refresh(mediaId, refreshOptions) {
      if (!refresher) {
        throw new NexStreamError(
          NexStreamErrorCode.InvalidInput,
          'resolver.refresh needs a registry and a video engine that extracts (createResolver({ registry, engines }))',
          { retryable: false },
        );
      }
      return refresher.refresh(mediaId, refreshOptions);
    },
    startRefresher(refreshOptions) {
      refresher?.start(refreshOptions);
    },
    async stopRefresher() {
      await refresher?.stop();
    },
    seed(ref, seedOptions) {
      return seeder.seed(ref, seedOptions);
    },
    async close() {
      await refresher?.close();
    },
  };
}
