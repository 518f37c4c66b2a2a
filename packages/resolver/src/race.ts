import {
  type CandidateEvent,
  gradeRank,
  type LogEvent,
  type MatchGrade,
  NexStreamError,
  NexStreamErrorCode,
  type NexStreamEvent,
  type Platform,
  type TrackMetadata,
  toNexStreamError,
} from '@nexstream/core';
import type {
  EngineTier,
  LookupRef,
  MetadataEngine,
  MetadataResult,
  QueryEngine,
  TrackQuery,
  VideoCandidate,
  VideoEngine,
} from './engine.js';
import { uniqueNames } from './engines/shared/track-fields.js';
import { type CandidateScore, meetsGrade, type ScoreOptions, scoreCandidate } from './match-scorer.js';
import {
  aliasedArtistAgreement,
  checkIsrcAuthority,
  type IsrcAuthority,
  raceGrade,
  titleAgreement,
  toMatchCandidate,
} from './verification.js';

/** When the race starts each tier and how long it holds imperfect answers. All in milliseconds. */
export interface RaceTimings {
  /** Tier 1 (cross-platform mapping, fuzzy metadata, plain video search) starts this long after the race. Default 1500. */
  tier1DelayMs: number;
  /** Tier 2 (LLM query → video search) starts this long after the race. Default 6000. */
  tier2DelayMs: number;
  /**
   * How long a fuzzy (or a strong whose stronger tiers hang) best candidate is held so that an exact one can
   * still win, counted from the first acceptable candidate. Default 15000.
   */
  graceMs: number;
  /** The whole resolution's deadline, counted from its start: nothing acceptable by then → `NXS_NO_MATCH`. Default 30000. */
  deadlineMs: number;
  /** A registry link expiring within this margin is refreshed before it is used. Default 1800000 (30 min). */
  refreshMarginMs: number;
}

/** The default {@link RaceTimings} (ARCHITECTURE.md, "Data flows → Resolve"). */
export const defaultRaceTimings: Readonly<RaceTimings> = Object.freeze({
  tier1DelayMs: 1500,
  tier2DelayMs: 6000,
  graceMs: 15_000,
  deadlineMs: 30_000,
  refreshMarginMs: 30 * 60 * 1000,
});

/** What {@link settlementDecision} looks at. Times in milliseconds on one monotonic clock. */
export interface SettlementState {
  /** The best candidate's grade so far (after the race's ISRC-authority adjustment), if any. */
  bestGrade?: MatchGrade;
  /** When the first acceptable (fuzzy or better) candidate appeared. */
  acceptableSinceMs?: number;
  nowMs: number;
  graceMs: number;
  /** Per tier: nothing of it is running or still to come. */
  tierDone: Readonly<Record<EngineTier, boolean>>;
  /** The deadline has passed. */
  deadlinePassed: boolean;
}

/** What the race does next: settle on the best candidate, keep waiting, or give up with `NXS_NO_MATCH`. */
export type SettlementDecision = 'settle' | 'wait' | 'no-match';

/**
 * The settlement policy, as a pure function (decision record 0090):
 * - `verified` or `exact` → settle at once;
 * - `strong` → settle when tiers 0 and 1 (the ISRC searches and the plain searches, the only ones expected
 *   to find a better video) are done, or after the grace period, or at the deadline;
 * - `fuzzy` → settle when every tier is done, or after the grace period, or at the deadline;
 * - nothing acceptable → `no-match` when every tier is done or at the deadline, else wait.
 * A hanging engine therefore delays a strong or fuzzy answer by at most the grace period.
 */
export function settlementDecision(state: SettlementState): SettlementDecision {
  const grade = state.bestGrade;
  const allDone = state.tierDone[0] && state.tierDone[1] && state.tierDone[2];
  const graceOver =
    state.acceptableSinceMs !== undefined && state.nowMs - state.acceptableSinceMs >= state.graceMs;
  if (grade === 'verified' || grade === 'exact') return 'settle';
  if (grade === 'strong') {
    return (state.tierDone[0] && state.tierDone[1]) || graceOver || state.deadlinePassed ? 'settle' : 'wait';
  }
  if (grade === 'fuzzy') return allDone || graceOver || state.deadlinePassed ? 'settle' : 'wait';
  return allDone || state.deadlinePassed ? 'no-match' : 'wait';
}

/** The engines of one resolver, by kind. */
export interface RaceEngines {
  metadata: readonly MetadataEngine[];
  video: readonly VideoEngine[];
  query: readonly QueryEngine[];
}

/** A candidate in the race, scored against the current track. */
export interface ScoredCandidate {
  candidate: VideoCandidate;
  /** Engines (and how: `youtube:isrc`, `youtube:search`, `groq→youtube`) that found it. */
  foundBy: string[];
  score: CandidateScore;
  /** The grade the race acts on (see `raceGrade`). */
  grade: MatchGrade;
}

/** One failed engine call, for logs and error details. */
export interface EngineFailure {
  engine: string;
  operation: string;
  code: string;
  message: string;
}

/** Where the race starts from. */
export interface RaceInput {
  /** The platform item the input named (for source and cross-platform look-ups). */
  ref?: LookupRef;
  /** An ISRC the input named. */
  isrc?: string;
  /** Free text the input was. */
  query?: string;
  /** Metadata already known (the seeder lists tracks with it). */
  known?: MetadataResult;
}

/**
 * What the race needs from the resolver. `Shortcut` is what {@link RaceContext.onAuthority} can find for an
 * authoritative ISRC (the resolver's registry entry), handed back typed in the `shortcut` outcome.
 */
export interface RaceContext<Shortcut = never> {
  engines: RaceEngines;
  timings: RaceTimings;
  input: RaceInput;
  /** The session's signal; aborting it aborts every engine call. */
  signal: AbortSignal;
  emit(event: NexStreamEvent): void;
  /** `performance.now()` at the session's start (the deadline counts from it). */
  startedAt: number;
  /** Which metadata engines hold a platform's own catalogue (the source of a link's metadata). */
  sourceEngines: Readonly<Record<Platform, readonly string[]>>;
  scoreOptions?: ScoreOptions;
  /** Called once when an authoritative ISRC becomes known: what it finds (a registry hit) ends the race early. */
  onAuthority?(authority: IsrcAuthority): Promise<Shortcut | undefined>;
  /** Search results per video search. Default 10. */
  searchLimit?: number;
}

/** How the race ended: settled on a candidate, or cut short by what `onAuthority` found. */
export type RaceOutcome<Shortcut = never> =
  | {
      kind: 'settled';
      track: TrackMetadata;
      winner: ScoredCandidate;
      authority?: IsrcAuthority;
      candidates: ScoredCandidate[];
      failures: EngineFailure[];
    }
  | {
      kind: 'shortcut';
      /** What `onAuthority` found (the resolver's registry entry). */
      value: Shortcut;
      track: TrackMetadata;
      authority: IsrcAuthority;
    };

/** A running race: its outcome, and a way to wait until every engine call it started has ended. */
export interface RaceRun<Shortcut = never> {
  /** How the race ended; rejects with the race's error. */
  outcome: Promise<RaceOutcome<Shortcut>>;
  /** Resolves when every engine call the race started has ended (they are aborted when the race ends). */
  drained(): Promise<void>;
}

/**
 * The `candidate` event of a scored candidate (the race's and an override's): the public facts of the video,
 * the score with its parts, the race's grade, and why — "kept" (settles), "held" (waits for the grace
 * period), or nothing for a rejected one.
 */
export function candidateEvent(entry: ScoredCandidate, engine?: string, note?: string): CandidateEvent {
  const candidate: CandidateEvent['candidate'] = {
    mediaId: entry.candidate.mediaId,
    title: entry.candidate.title,
    url: entry.candidate.url,
  };
  if (entry.candidate.channel) candidate.channel = entry.candidate.channel;
  if (entry.candidate.durationMs !== undefined) candidate.durationMs = entry.candidate.durationMs;
  const kept = entry.grade === 'rejected' ? '' : meetsGrade(entry.grade, 'strong') ? 'kept: ' : 'held: ';
  const downgraded =
    entry.grade !== entry.score.grade
      ? `; no authoritative ISRC, so ${entry.grade}, not ${entry.score.grade}`
      : '';
  return {
    type: 'candidate',
    engine: engine ?? entry.foundBy[entry.foundBy.length - 1] ?? entry.candidate.engine,
    candidate,
    score: entry.score.score,
    parts: entry.score.parts,
    grade: entry.grade,
    reason: note
      ? `${note}; ${entry.score.reasons.join('; ')}`
      : `${kept}${entry.score.reasons.join('; ')}${downgraded}`,
  };
}

function better(a: ScoredCandidate, b: ScoredCandidate | undefined): boolean {
  if (!b) return true;
  return (
    gradeRank(a.grade) - gradeRank(b.grade) > 0 || (a.grade === b.grade && a.score.score > b.score.score)
  );
}

function trackQuery(track: TrackMetadata): TrackQuery {
  const query: TrackQuery = { title: track.title, artists: track.artists };
  if (track.album) query.album = track.album;
  if (track.durationMs) query.durationMs = track.durationMs;
  if (track.isrc) query.isrc = track.isrc;
  if (track.explicit !== undefined) query.explicit = track.explicit;
  return query;
}

/** The plain video search query for a track: `Artist - Title`. */
export function plainVideoQuery(track: TrackMetadata): string {
  return track.artists.length > 0 ? `${track.artists[0]} - ${track.title}` : track.title;
}

function failureOf(engine: string, operation: string, error: unknown): EngineFailure {
  const failure = toNexStreamError(error, NexStreamErrorCode.Upstream);
  return { engine, operation, code: failure.code, message: failure.message };
}

/** How well a search result describes the reference track, for picking the source's best hit. */
function describes(reference: TrackMetadata, result: MetadataResult): number {
  const title = titleAgreement(reference.title, result.track.title);
  const artist = reference.artists.length > 0 ? aliasedArtistAgreement(reference, result.track) : 0.5;
  let duration = 0.5;
  if (reference.durationMs && result.track.durationMs) {
    duration = Math.abs(reference.durationMs - result.track.durationMs) <= 3000 ? 1 : 0;
  }
  return title * 0.5 + artist * 0.3 + duration * 0.2;
}

/**
 * Runs the tiered race for one track: source metadata, then tier 0 (ISRC sources, ISRC video search) at
 * T+0, tier 1 (cross-platform look-ups, fuzzy metadata, plain video search) at T+`tier1DelayMs`, tier 2
 * (LLM query → video search) at T+`tier2DelayMs`, where T is when the race knows what to look for. Every
 * candidate is scored and reported; {@link settlementDecision} decides when to stop. Every engine call gets
 * its own AbortController linked to the session; all still running are aborted when the race ends.
 *
 * @throws NexStreamError `NXS_NO_MATCH` (best rejected candidates and engine failures in `details`), the
 * shared code of the failures when every engine call failed, `NXS_ABORTED` when the session's signal aborts.
 */
export function runRace<Shortcut = never>(context: RaceContext<Shortcut>): RaceRun<Shortcut> {
  const { engines, timings, input, emit } = context;
  const now = () => performance.now();
  const raceController = new AbortController();
  const running = new Set<Promise<unknown>>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const failures: EngineFailure[] = [];
  const pool = new Map<string, ScoredCandidate>();
  const unscored: Array<{ candidate: VideoCandidate; foundBy: string }> = [];
  const tierStarted: Record<EngineTier, boolean> = { 0: false, 1: false, 2: false };
  const tierPending: Record<EngineTier, number> = { 0: 0, 1: 0, 2: 0 };
  const searchedIsrcs = new Set<string>();
  const searchedQueries = new Set<string>();
  const searchLimit = context.searchLimit ?? 10;
  let succeededCalls = 0;
  let track: TrackMetadata | undefined;
  let reference: TrackMetadata | undefined;
  let authority: IsrcAuthority | undefined;
  let acceptableSinceMs: number | undefined;
  let raceStartMs: number | undefined;
  let sourcePending = 0;
  let finished = false;
  let best: ScoredCandidate | undefined;
  let settle!: (outcome: RaceOutcome<Shortcut>) => void;
  let fail!: (error: unknown) => void;
  const outcome = new Promise<RaceOutcome<Shortcut>>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  outcome.catch(() => {});

  const log = (level: LogEvent['level'], message: string) =>
    emit({ type: 'log', level, source: 'race', message, at: Date.now() });
  const onLog = (event: LogEvent) => {
    if (!finished) emit(event);
  };

  function drained(): Promise<void> {
    return Promise.allSettled([...running]).then(() => undefined);
  }

  function finish(result: { outcome: RaceOutcome<Shortcut> } | { error: unknown }): void {
    if (finished) return;
    finished = true;
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    context.signal.removeEventListener('abort', onSessionAbort);
    raceController.abort(
      new NexStreamError(NexStreamErrorCode.Aborted, 'the race is over', { retryable: false }),
    );
    if ('error' in result) fail(result.error);
    else settle(result.outcome);
  }

  function onSessionAbort(): void {
    finish({
      error: new NexStreamError(NexStreamErrorCode.Aborted, 'the resolution was aborted by its caller', {
        cause: context.signal.reason,
        retryable: false,
      }),
    });
  }

  function later(delayMs: number, action: () => void): void {
    if (finished) return;
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        if (!finished) action();
      },
      Math.max(0, delayMs),
    );
    timers.add(timer);
  }

  /** Runs one engine call with its own AbortController linked to the race; failures are logged, never thrown. */
  function call<T>(
    engine: string,
    operation: string,
    tier: EngineTier | 'source',
    run: (signal: AbortSignal) => Promise<T>,
    then: (value: T) => void,
  ): void {
    if (finished) return;
    const controller = new AbortController();
    const onAbort = () => controller.abort(raceController.signal.reason);
    raceController.signal.addEventListener('abort', onAbort, { once: true });
    if (tier === 'source') sourcePending += 1;
    else tierPending[tier] += 1;
    const task = (async () => {
      try {
        const value = await run(controller.signal);
        if (finished) return;
        succeededCalls += 1;
        then(value);
      } catch (error) {
        if (finished) return;
        const failure = failureOf(engine, operation, error);
        failures.push(failure);
        log('warn', `${engine} ${operation} failed: ${failure.code} ${failure.message}`);
      } finally {
        raceController.signal.removeEventListener('abort', onAbort);
        if (tier === 'source') sourcePending -= 1;
        else tierPending[tier] -= 1;
        if (!finished) {
          if (tier === 'source' && sourcePending === 0) startRace();
          evaluate();
        }
      }
    })();
    running.add(task);
    void task.then(() => running.delete(task));
  }

  // ---------------------------------------------------------------------------------------------------
  // Knowledge: the track, the authoritative ISRC, the candidates.

  function metadataEvent(result: MetadataResult, authoritative: boolean): void {
    emit({ type: 'metadata', engine: result.engine, track: result.track, authoritative });
  }

  function adoptTrack(result: MetadataResult): void {
    const first = track === undefined;
    if (first) {
      track = { ...result.track, ids: { ...result.track.ids } };
      reference = result.track;
    }
    considerAuthority(result);
    if (first) {
      for (const pending of unscored.splice(0)) addCandidate(pending.candidate, pending.foundBy);
      startTrackWork();
    }
  }

  function considerAuthority(result: MetadataResult): void {
    if (!track || !reference) return;
    const check = checkIsrcAuthority(reference, result);
    if (!check.authority) {
      metadataEvent(result, false);
      if (result.track.isrc) log('debug', check.reasons.join('; '));
      mergeIds(result);
      return;
    }
    if (authority) {
      metadataEvent(result, authority.isrc === check.authority.isrc);
      if (authority.isrc !== check.authority.isrc) {
        log(
          'warn',
          `${result.engine} gives ISRC ${check.authority.isrc}, ${authority.source} gave ${authority.isrc}`,
        );
      }
      mergeIds(result);
      return;
    }
    authority = check.authority;
    const aliases = uniqueNames([
      ...(track.artistAliases ?? []),
      ...result.track.artists,
      ...(result.track.artistAliases ?? []),
    ]).filter((name) => !track!.artists.some((artist) => artist.toLowerCase() === name.toLowerCase()));
    track = {
      ...track,
      ...(aliases.length > 0 ? { artistAliases: aliases } : {}),
      isrc: authority.isrc,
      ids: { ...authority.track.ids, ...track.ids },
      ...(track.durationMs
        ? {}
        : authority.track.durationMs
          ? { durationMs: authority.track.durationMs }
          : {}),
      ...(track.album || !authority.track.album ? {} : { album: authority.track.album }),
    };
    emit({ type: 'metadata', engine: result.engine, track, authoritative: true });
    log('info', check.reasons.join('; '));
    rescoreAll();
    const found = authority;
    if (context.onAuthority) {
      call(
        'registry',
        'lookup',
        0,
        () => context.onAuthority!(found),
        (value) => {
          if (value !== undefined) {
            finish({ outcome: { kind: 'shortcut', value, track: track!, authority: found } });
          }
        },
      );
    }
    if (tierStarted[0]) searchVideosByIsrc(authority.isrc);
  }

  function mergeIds(result: MetadataResult): void {
    if (!track) return;
    const ids = { ...result.track.ids, ...track.ids };
    if (Object.keys(ids).length !== Object.keys(track.ids).length) track = { ...track, ids };
  }

  function score(candidate: VideoCandidate, foundBy: string[]): ScoredCandidate {
    const scored = scoreCandidate(track!, toMatchCandidate(candidate, authority), context.scoreOptions);
    return { candidate, foundBy, score: scored, grade: raceGrade(scored, authority) };
  }

  function report(entry: ScoredCandidate): void {
    emit(candidateEvent(entry));
  }

  function consider(entry: ScoredCandidate): void {
    if (better(entry, best)) best = entry;
    if (acceptableSinceMs === undefined && meetsGrade(entry.grade, 'fuzzy')) {
      acceptableSinceMs = now();
      later(timings.graceMs, evaluate);
    }
  }

  function addCandidate(candidate: VideoCandidate, foundBy: string): void {
    if (!track) {
      unscored.push({ candidate, foundBy });
      return;
    }
    const existing = pool.get(candidate.mediaId);
    if (existing) {
      if (existing.foundBy.includes(foundBy) && (existing.candidate.foundByIsrc || !candidate.foundByIsrc))
        return;
      const merged: VideoCandidate = {
        ...existing.candidate,
        ...(candidate.foundByIsrc ? { foundByIsrc: candidate.foundByIsrc } : {}),
        ...(candidate.artTrack && !existing.candidate.artTrack ? { artTrack: candidate.artTrack } : {}),
      };
      const entry = score(merged, [...new Set([...existing.foundBy, foundBy])]);
      pool.set(candidate.mediaId, entry);
      if (entry.grade !== existing.grade) report(entry);
      recomputeBest();
      return;
    }
    const entry = score(candidate, [foundBy]);
    pool.set(candidate.mediaId, entry);
    report(entry);
    consider(entry);
  }

  function rescoreAll(): void {
    for (const [mediaId, existing] of pool) {
      const entry = score(existing.candidate, existing.foundBy);
      pool.set(mediaId, entry);
      if (entry.grade !== existing.grade || entry.score.score !== existing.score.score) report(entry);
    }
    recomputeBest();
  }

  function recomputeBest(): void {
    best = undefined;
    for (const entry of pool.values()) consider(entry);
  }

  // ---------------------------------------------------------------------------------------------------
  // Work.

  function searchVideos(video: VideoEngine, query: string, tier: EngineTier, via: string): void {
    const key = `${video.id}\n${query.toLowerCase()}`;
    if (searchedQueries.has(key)) return;
    searchedQueries.add(key);
    call(
      video.id,
      `search "${query}"`,
      tier,
      (signal) => video.doSearchVideos({ query, limit: searchLimit, signal, onLog }),
      (candidates) => {
        for (const candidate of candidates) addCandidate(candidate, via);
      },
    );
  }

  function searchVideosByIsrc(isrc: string): void {
    if (searchedIsrcs.has(isrc)) return;
    searchedIsrcs.add(isrc);
    for (const video of engines.video) {
      if (!video.capabilities.includes('isrc-search')) continue;
      call(
        video.id,
        `ISRC search ${isrc}`,
        0,
        (signal) => video.doSearchByIsrc({ isrc, signal, onLog }),
        (candidates) => {
          for (const candidate of candidates) addCandidate(candidate, `${video.id}:isrc`);
        },
      );
    }
  }

  function metadataResult(engine: MetadataEngine, result: MetadataResult | null | undefined): void {
    if (!result) return;
    if (!track) adoptTrack(result);
    else considerAuthority(result);
    // A search hit without an authoritative ISRC: the engine's own full record may have one (Deezer).
    if (!result.isrcAuthoritative && engine.provesIsrc && engine.doLookup) {
      const platform = engine.lookupPlatforms.find((candidate) => result.track.ids[candidate]);
      const id = platform ? result.track.ids[platform] : undefined;
      if (platform && id && !authority) {
        call(
          engine.id,
          `look-up ${platform}:${id}`,
          0,
          (signal) => engine.doLookup!({ ref: { platform, kind: 'track', id }, signal, onLog }),
          (found) => {
            if (found?.kind === 'track') metadataResult(engine, found.result);
          },
        );
      }
    }
  }

  function isSource(engine: MetadataEngine): boolean {
    return input.ref !== undefined && (context.sourceEngines[input.ref.platform] ?? []).includes(engine.id);
  }

  /** Source stage: the link's own platform (or a free-text search) gives the first metadata. */
  function startSource(): void {
    if (input.known) {
      const known = input.known;
      const engine = engines.metadata.find((candidate) => candidate.id === known.engine);
      if (engine) metadataResult(engine, known);
      else adoptTrack(known);
      startRace();
      return;
    }
    if (input.ref) {
      const ref = input.ref;
      for (const engine of engines.metadata) {
        if (!engine.doLookup || !isSource(engine) || !engine.lookupPlatforms.includes(ref.platform)) continue;
        call(
          engine.id,
          `look-up ${ref.platform}:${ref.id}`,
          'source',
          (signal) => engine.doLookup!({ ref, signal, onLog }),
          (found) => {
            if (found?.kind === 'track') metadataResult(engine, found.result);
          },
        );
      }
    } else if (input.query) {
      const query = input.query;
      for (const engine of engines.metadata) {
        if (!engine.doSearch || engine.tier !== 0) continue;
        call(
          engine.id,
          `search "${query}"`,
          'source',
          (signal) => engine.doSearch!({ query, limit: 5, signal, onLog }),
          (results) => {
            if (!track && results[0]) metadataResult(engine, results[0]);
          },
        );
      }
    }
    if (sourcePending === 0) startRace();
  }

  /** The tiers, from the moment the race knows what to look for. */
  function startRace(): void {
    if (raceStartMs !== undefined || finished) return;
    raceStartMs = now();
    if (!track && input.query) {
      // No catalogue knows the text: race on the text itself (the scorer caps an unknown artist at fuzzy).
      track = { title: input.query, artists: [], ids: {} };
      reference = track;
      for (const pending of unscored.splice(0)) addCandidate(pending.candidate, pending.foundBy);
    }
    startTier0();
    later(timings.tier1DelayMs, startTier1);
    later(timings.tier2DelayMs, startTier2);
    if (track) startTrackWork();
    evaluate();
  }

  function startTier0(): void {
    tierStarted[0] = true;
    emit({
      type: 'progress',
      phase: 'race',
      done: 0,
      total: 3,
      message: 'tier 0: ISRC sources and ISRC video search',
    });
    const isrc = input.isrc ?? track?.isrc;
    if (isrc) searchVideosByIsrc(isrc);
    for (const engine of engines.metadata) {
      if (engine.tier !== 0 || !engine.provesIsrc || isSource(engine)) continue;
      if (isrc && engine.doFindByIsrc) {
        call(
          engine.id,
          `ISRC look-up ${isrc}`,
          0,
          (signal) => engine.doFindByIsrc!({ isrc, signal, onLog }),
          (result) => metadataResult(engine, result),
        );
      } else if (input.ref && engine.doLookup && engine.lookupPlatforms.includes(input.ref.platform)) {
        const ref = input.ref;
        call(
          engine.id,
          `look-up ${ref.platform}:${ref.id}`,
          0,
          (signal) => engine.doLookup!({ ref, signal, onLog }),
          (found) => {
            if (found?.kind === 'track') metadataResult(engine, found.result);
          },
        );
      }
    }
  }

  /** Tier-0 and later work that needs a track (a search by title): started once the track is known. */
  function startTrackWork(): void {
    if (!track || !tierStarted[0]) return;
    const known = track;
    if (known.isrc) searchVideosByIsrc(known.isrc);
    for (const engine of engines.metadata) {
      if (engine.tier !== 0 || !engine.provesIsrc || !engine.doSearch || isSource(engine)) continue;
      if (input.isrc || (known.isrc && engine.doFindByIsrc) || input.known?.engine === engine.id) continue;
      if (input.ref && engine.doLookup && engine.lookupPlatforms.includes(input.ref.platform)) continue;
      if (known.artists.length === 0) continue;
      call(
        engine.id,
        'search',
        0,
        (signal) => engine.doSearch!({ track: trackQuery(known), limit: 5, signal, onLog }),
        (results) => {
          const ranked = [...results].sort((a, b) => describes(known, b) - describes(known, a));
          if (ranked[0]) metadataResult(engine, ranked[0]);
        },
      );
    }
    if (tierStarted[1]) tier1TrackWork();
    if (tierStarted[2]) tier2TrackWork();
  }

  function startTier1(): void {
    tierStarted[1] = true;
    emit({
      type: 'progress',
      phase: 'race',
      done: 1,
      total: 3,
      message: 'tier 1: cross-platform mapping, plain video search',
    });
    log('debug', 'tier 1 started');
    if (input.ref) {
      const ref = input.ref;
      for (const engine of engines.metadata) {
        if (
          engine.tier !== 1 ||
          !engine.doLookup ||
          isSource(engine) ||
          !engine.lookupPlatforms.includes(ref.platform)
        ) {
          continue;
        }
        call(
          engine.id,
          `look-up ${ref.platform}:${ref.id}`,
          1,
          (signal) => engine.doLookup!({ ref, signal, onLog }),
          (found) => {
            if (found?.kind === 'track') metadataResult(engine, found.result);
          },
        );
      }
    }
    tier1TrackWork();
    evaluate();
  }

  function tier1TrackWork(): void {
    if (!track) return;
    const known = track;
    if (input.query && known.artists.length === 0) {
      for (const video of engines.video)
        if (video.capabilities.includes('search')) searchVideos(video, input.query, 1, `${video.id}:search`);
      return;
    }
    for (const video of engines.video) {
      if (video.capabilities.includes('search'))
        searchVideos(video, plainVideoQuery(known), 1, `${video.id}:search`);
    }
  }

  function startTier2(): void {
    tierStarted[2] = true;
    emit({
      type: 'progress',
      phase: 'race',
      done: 2,
      total: 3,
      message: 'tier 2: LLM query synthesis → video search',
    });
    log('debug', 'tier 2 started');
    tier2TrackWork();
    evaluate();
  }

  let tier2Ran = false;
  function tier2TrackWork(): void {
    if (!track || tier2Ran) return;
    tier2Ran = true;
    const known = track;
    for (const engine of engines.query) {
      call(
        engine.id,
        'query synthesis',
        2,
        (signal) => engine.doSynthesizeQuery({ track: trackQuery(known), signal, onLog }),
        (synthesized) => {
          for (const video of engines.video) {
            if (video.capabilities.includes('search'))
              searchVideos(video, synthesized.query, 2, `${engine.id}→${video.id}`);
          }
        },
      );
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Settlement.

  function tierDone(tier: EngineTier): boolean {
    if (raceStartMs === undefined) return false;
    if (tierPending[tier] > 0) return false;
    if (tierStarted[tier]) return track !== undefined || tier === 0;
    // Not started yet: done only when it has nothing that could run.
    if (tier === 1)
      return engines.video.length === 0 && !engines.metadata.some((engine) => engine.tier === 1);
    return engines.query.length === 0;
  }

  function couldStillLearnTrack(): boolean {
    if (sourcePending > 0 || tierPending[0] > 0 || tierPending[1] > 0 || tierPending[2] > 0) return true;
    const ref = input.ref;
    return (
      !tierStarted[1] &&
      ref !== undefined &&
      engines.metadata.some(
        (engine) =>
          engine.tier === 1 && engine.doLookup !== undefined && engine.lookupPlatforms.includes(ref.platform),
      )
    );
  }

  function evaluate(): void {
    if (finished) return;
    const nowMs = now();
    const deadlinePassed = nowMs - context.startedAt >= timings.deadlineMs;
    const state: SettlementState = {
      nowMs,
      graceMs: timings.graceMs,
      tierDone: { 0: tierDone(0), 1: tierDone(1), 2: tierDone(2) },
      deadlinePassed,
    };
    if (best) state.bestGrade = best.grade;
    if (acceptableSinceMs !== undefined) state.acceptableSinceMs = acceptableSinceMs;
    // Without a track nothing can be scored: once no call that could name it is running or to come, give up.
    if (!track && raceStartMs !== undefined && !couldStillLearnTrack()) {
      state.tierDone = { 0: true, 1: true, 2: true };
    }
    const decision = settlementDecision(state);
    if (decision === 'wait') return;
    if (decision === 'settle' && best && track) {
      log(
        'info',
        `settled on ${best.candidate.mediaId} (${best.grade}, ${best.score.score}) after ${Math.round(nowMs - context.startedAt)} ms`,
      );
      const outcome: Extract<RaceOutcome<Shortcut>, { kind: 'settled' }> = {
        kind: 'settled',
        track,
        winner: best,
        candidates: [...pool.values()],
        failures,
      };
      if (authority) outcome.authority = authority;
      finish({ outcome });
      return;
    }
    finish({ error: noMatch(deadlinePassed) });
  }

  function noMatch(deadlinePassed: boolean): NexStreamError {
    const rejected = [...pool.values()]
      .sort((a, b) => b.score.score - a.score.score)
      .slice(0, 5)
      .map((entry) => ({
        mediaId: entry.candidate.mediaId,
        title: entry.candidate.title,
        channel: entry.candidate.channel,
        durationMs: entry.candidate.durationMs,
        url: entry.candidate.url,
        score: entry.score.score,
        grade: entry.grade,
        reasons: entry.score.reasons,
      }));
    const details = { bestRejected: rejected, failures, ...(track ? { track } : {}) };
    const what = track ? `"${plainVideoQuery(track)}"` : 'the input';
    if (succeededCalls === 0 && failures.length > 0) {
      const codes = new Set(failures.map((failure) => failure.code));
      // Nothing reached at all (DNS, refused connections; a deadline beside them is the same network): say so.
      const unreachable =
        codes.has(NexStreamErrorCode.Unreachable) &&
        [...codes].every(
          (value) => value === NexStreamErrorCode.Unreachable || value === NexStreamErrorCode.Timeout,
        );
      const code = unreachable
        ? NexStreamErrorCode.Unreachable
        : codes.size === 1
          ? ([...codes][0] as NexStreamErrorCode)
          : NexStreamErrorCode.Upstream;
      const list = failures.map((failure) => `${failure.engine} (${failure.operation}): ${failure.message}`);
      if (code === NexStreamErrorCode.Unreachable) {
        return new NexStreamError(
          code,
          `the server cannot reach the music services (${[...new Set(failures.map((failure) => failure.engine))].join(', ')}): check its internet access, DNS, firewall or proxy. ${list.join('; ')}`,
          { retryable: true, details },
        );
      }
      return new NexStreamError(code, `every engine failed while resolving ${what}: ${list.join('; ')}`, {
        retryable: true,
        details,
      });
    }
    const why = track
      ? pool.size === 0
        ? 'no video was found'
        : `none of ${pool.size} candidates was acceptable`
      : 'no engine knew the track';
    return new NexStreamError(
      NexStreamErrorCode.NoMatch,
      `no match for ${what}${deadlinePassed ? ` within ${timings.deadlineMs} ms` : ''}: ${why}. Try a more precise link or name the video with override`,
      { retryable: false, details },
    );
  }

  if (context.signal.aborted) {
    onSessionAbort();
    return { outcome, drained };
  }
  context.signal.addEventListener('abort', onSessionAbort, { once: true });
  later(timings.deadlineMs - (now() - context.startedAt), evaluate);
  startSource();
  return { outcome, drained };
}
