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
  VideoCandidate,
  VideoEngine,
} from './engine.js';
import { uniqueNames } from './engines/shared/track-fields.js';
import { type CandidateGrading, gradeCandidate } from './grading.js';
import { meetsGrade, type ScoreOptions } from './match-scorer.js';
import {
  aliasedArtistAgreement,
  checkIsrcAuthority,
  type IsrcAuthority,
  titleAgreement,
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

/** A candidate in the race, graded against the current track (`gradeCandidate`). */
export interface ScoredCandidate extends CandidateGrading {
  candidate: VideoCandidate;
  /** Engines (and how: `youtube:isrc`, `youtube:search`, `groq→youtube`) that found it. */
  foundBy: string[];
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
  const race = new Race<Shortcut>(context);
  race.start();
  return { outcome: race.outcome, drained: () => race.drained() };
}

/**
 * One race, as a class: its state in named fields, each step a small method. {@link runRace} creates it and
 * returns its {@link RaceRun}.
 */
class Race<Shortcut> {
  readonly outcome: Promise<RaceOutcome<Shortcut>>;
  private readonly engines: RaceEngines;
  private readonly timings: RaceTimings;
  private readonly input: RaceInput;
  private readonly raceController = new AbortController();
  /** Every engine call still running (awaited by `drained`). */
  private readonly running = new Set<Promise<unknown>>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly failures: EngineFailure[] = [];
  /** Every candidate seen, scored against what is known now, by media id. */
  private readonly pool = new Map<string, ScoredCandidate>();
  /** Candidates that arrived before the track was known; scored when it is. */
  private readonly unscored: Array<{ candidate: VideoCandidate; foundBy: string }> = [];
  private readonly tierStarted: Record<EngineTier, boolean> = { 0: false, 1: false, 2: false };
  private readonly tierPending: Record<EngineTier, number> = { 0: 0, 1: 0, 2: 0 };
  private readonly searchedIsrcs = new Set<string>();
  private readonly searchedQueries = new Set<string>();
  private readonly searchLimit: number;
  private succeededCalls = 0;
  /** What the race looks for: the first metadata, completed by the authoritative source. */
  private track: TrackMetadata | undefined;
  /** The first metadata as it came, to check later ISRC sources against. */
  private reference: TrackMetadata | undefined;
  private authority: IsrcAuthority | undefined;
  /** When the first candidate good enough to settle on after the grace period arrived. */
  private acceptableSinceMs: number | undefined;
  private raceStartMs: number | undefined;
  private sourcePending = 0;
  private tier2Ran = false;
  private finished = false;
  private best: ScoredCandidate | undefined;
  private settle!: (outcome: RaceOutcome<Shortcut>) => void;
  private fail!: (error: unknown) => void;
  /** Aborts the race when the session's signal aborts (removed when the race ends). */
  private readonly onAbort = (): void => this.onSessionAbort();
  private readonly onLog = (event: LogEvent): void => {
    if (!this.finished) this.emit(event);
  };

  constructor(private readonly context: RaceContext<Shortcut>) {
    this.engines = context.engines;
    this.timings = context.timings;
    this.input = context.input;
    this.searchLimit = context.searchLimit ?? 10;
    this.outcome = new Promise<RaceOutcome<Shortcut>>((resolve, reject) => {
      this.settle = resolve;
      this.fail = reject;
    });
    this.outcome.catch(() => {});
  }

  /** Starts the race: the deadline, then the source stage. */
  start(): void {
    if (this.context.signal.aborted) {
      this.onSessionAbort();
      return;
    }
    this.context.signal.addEventListener('abort', this.onAbort, { once: true });
    this.later(this.timings.deadlineMs - (this.now() - this.context.startedAt), () => this.evaluate());
    this.startSource();
  }

  private now(): number {
    return performance.now();
  }

  private emit(event: NexStreamEvent): void {
    this.context.emit(event);
  }

  private log(level: LogEvent['level'], message: string): void {
    this.emit({ type: 'log', level, source: 'race', message, at: Date.now() });
  }

  drained(): Promise<void> {
    return Promise.allSettled([...this.running]).then(() => undefined);
  }

  private finish(result: { outcome: RaceOutcome<Shortcut> } | { error: unknown }): void {
    if (this.finished) return;
    this.finished = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.context.signal.removeEventListener('abort', this.onAbort);
    this.raceController.abort(
      new NexStreamError(NexStreamErrorCode.Aborted, 'the race is over', { retryable: false }),
    );
    if ('error' in result) this.fail(result.error);
    else this.settle(result.outcome);
  }

  private onSessionAbort(): void {
    this.finish({
      error: new NexStreamError(NexStreamErrorCode.Aborted, 'the resolution was aborted by its caller', {
        cause: this.context.signal.reason,
        retryable: false,
      }),
    });
  }

  private later(delayMs: number, action: () => void): void {
    if (this.finished) return;
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        if (!this.finished) action();
      },
      Math.max(0, delayMs),
    );
    this.timers.add(timer);
  }

  /** Runs one engine call with its own AbortController linked to the race; failures are logged, never thrown. */

  private call<T>(
    engine: string,
    operation: string,
    tier: EngineTier | 'source',
    run: (signal: AbortSignal) => Promise<T>,
    then: (value: T) => void,
  ): void {
    if (this.finished) return;
    const controller = new AbortController();
    const onAbort = () => controller.abort(this.raceController.signal.reason);
    this.raceController.signal.addEventListener('abort', onAbort, { once: true });
    if (tier === 'source') this.sourcePending += 1;
    else this.tierPending[tier] += 1;
    const task = (async () => {
      try {
        const value = await run(controller.signal);
        if (this.finished) return;
        this.succeededCalls += 1;
        then(value);
      } catch (error) {
        if (this.finished) return;
        const failure = failureOf(engine, operation, error);
        this.failures.push(failure);
        this.log('warn', `${engine} ${operation} failed: ${failure.code} ${failure.message}`);
      } finally {
        this.raceController.signal.removeEventListener('abort', onAbort);
        if (tier === 'source') this.sourcePending -= 1;
        else this.tierPending[tier] -= 1;
        if (!this.finished) {
          if (tier === 'source' && this.sourcePending === 0) this.startRace();
          this.evaluate();
        }
      }
    })();
    this.running.add(task);
    void task.then(() => this.running.delete(task));
  }

  // ---------------------------------------------------------------------------------------------------

  // Knowledge: the track, the authoritative ISRC, the candidates.

  private metadataEvent(result: MetadataResult, authoritative: boolean): void {
    this.emit({ type: 'metadata', engine: result.engine, track: result.track, authoritative });
  }

  private adoptTrack(result: MetadataResult): void {
    const first = this.track === undefined;
    if (first) {
      this.track = { ...result.track, ids: { ...result.track.ids } };
      this.reference = result.track;
    }
    this.considerAuthority(result);
    if (first) {
      for (const pending of this.unscored.splice(0)) this.addCandidate(pending.candidate, pending.foundBy);
      this.startTrackWork();
    }
  }

  private considerAuthority(result: MetadataResult): void {
    if (!this.track || !this.reference) return;
    const check = checkIsrcAuthority(this.reference, result);
    if (!check.authority) {
      this.metadataEvent(result, false);
      if (result.track.isrc) this.log('debug', check.reasons.join('; '));
      this.mergeIds(result);
      return;
    }
    if (this.authority) {
      this.metadataEvent(result, this.authority.isrc === check.authority.isrc);
      if (this.authority.isrc !== check.authority.isrc) {
        this.log(
          'warn',
          `${result.engine} gives ISRC ${check.authority.isrc}, ${this.authority.source} gave ${this.authority.isrc}`,
        );
      }
      this.mergeIds(result);
      return;
    }
    this.authority = check.authority;
    const aliases = uniqueNames([
      ...(this.track.artistAliases ?? []),
      ...result.track.artists,
      ...(result.track.artistAliases ?? []),
    ]).filter((name) => !this.track!.artists.some((artist) => artist.toLowerCase() === name.toLowerCase()));
    this.track = {
      ...this.track,
      ...(aliases.length > 0 ? { artistAliases: aliases } : {}),
      isrc: this.authority.isrc,
      ids: { ...this.authority.track.ids, ...this.track.ids },
      ...(this.track.durationMs
        ? {}
        : this.authority.track.durationMs
          ? { durationMs: this.authority.track.durationMs }
          : {}),
      ...(this.track.album || !this.authority.track.album ? {} : { album: this.authority.track.album }),
    };
    this.emit({ type: 'metadata', engine: result.engine, track: this.track, authoritative: true });
    this.log('info', check.reasons.join('; '));
    this.rescoreAll();
    const found = this.authority;
    if (this.context.onAuthority) {
      this.call(
        'registry',
        'lookup',
        0,
        () => this.context.onAuthority!(found),
        (value) => {
          if (value !== undefined) {
            this.finish({ outcome: { kind: 'shortcut', value, track: this.track!, authority: found } });
          }
        },
      );
    }
    if (this.tierStarted[0]) this.searchVideosByIsrc(this.authority.isrc);
  }

  private mergeIds(result: MetadataResult): void {
    if (!this.track) return;
    const ids = { ...result.track.ids, ...this.track.ids };
    if (Object.keys(ids).length !== Object.keys(this.track.ids).length) this.track = { ...this.track, ids };
  }

  /** Grades a candidate against what the race knows now (a merged search or a new authority: new facts). */
  private score(candidate: VideoCandidate, foundBy: string[]): ScoredCandidate {
    const graded = gradeCandidate(this.track!, candidate, this.authority, this.context.scoreOptions);
    return { candidate, foundBy, ...graded };
  }

  private report(entry: ScoredCandidate): void {
    this.emit(candidateEvent(entry));
  }

  private consider(entry: ScoredCandidate): void {
    if (better(entry, this.best)) this.best = entry;
    if (this.acceptableSinceMs === undefined && meetsGrade(entry.grade, 'fuzzy')) {
      this.acceptableSinceMs = this.now();
      this.later(this.timings.graceMs, () => this.evaluate());
    }
  }

  private addCandidate(candidate: VideoCandidate, foundBy: string): void {
    if (!this.track) {
      this.unscored.push({ candidate, foundBy });
      return;
    }
    const existing = this.pool.get(candidate.mediaId);
    if (existing) {
      if (existing.foundBy.includes(foundBy) && (existing.candidate.foundByIsrc || !candidate.foundByIsrc))
        return;
      const merged: VideoCandidate = {
        ...existing.candidate,
        ...(candidate.foundByIsrc ? { foundByIsrc: candidate.foundByIsrc } : {}),
        ...(candidate.artTrack && !existing.candidate.artTrack ? { artTrack: candidate.artTrack } : {}),
      };
      const entry = this.score(merged, [...new Set([...existing.foundBy, foundBy])]);
      this.pool.set(candidate.mediaId, entry);
      if (entry.grade !== existing.grade) this.report(entry);
      this.recomputeBest();
      return;
    }
    const entry = this.score(candidate, [foundBy]);
    this.pool.set(candidate.mediaId, entry);
    this.report(entry);
    this.consider(entry);
  }

  private rescoreAll(): void {
    for (const [mediaId, existing] of this.pool) {
      const entry = this.score(existing.candidate, existing.foundBy);
      this.pool.set(mediaId, entry);
      if (entry.grade !== existing.grade || entry.score.score !== existing.score.score) this.report(entry);
    }
    this.recomputeBest();
  }

  private recomputeBest(): void {
    this.best = undefined;
    for (const entry of this.pool.values()) this.consider(entry);
  }

  // ---------------------------------------------------------------------------------------------------

  // Work.

  private searchVideos(video: VideoEngine, query: string, tier: EngineTier, via: string): void {
    const key = `${video.id}\n${query.toLowerCase()}`;
    if (this.searchedQueries.has(key)) return;
    this.searchedQueries.add(key);
    this.call(
      video.id,
      `search "${query}"`,
      tier,
      (signal) => video.doSearchVideos({ query, limit: this.searchLimit, signal, onLog: this.onLog }),
      (candidates) => {
        for (const candidate of candidates) this.addCandidate(candidate, via);
      },
    );
  }

  private searchVideosByIsrc(isrc: string): void {
    if (this.searchedIsrcs.has(isrc)) return;
    this.searchedIsrcs.add(isrc);
    for (const video of this.engines.video) {
      if (!video.capabilities.includes('isrc-search')) continue;
      this.call(
        video.id,
        `ISRC search ${isrc}`,
        0,
        (signal) => video.doSearchByIsrc({ isrc, signal, onLog: this.onLog }),
        (candidates) => {
          for (const candidate of candidates) this.addCandidate(candidate, `${video.id}:isrc`);
        },
      );
    }
  }

  private metadataResult(engine: MetadataEngine, result: MetadataResult | null | undefined): void {
    if (!result) return;
    if (!this.track) this.adoptTrack(result);
    else this.considerAuthority(result);
    // A search hit without an authoritative ISRC: the engine's own full record may have one (Deezer).
    if (!result.isrcAuthoritative && engine.provesIsrc && engine.doLookup) {
      const platform = engine.lookupPlatforms.find((candidate) => result.track.ids[candidate]);
      const id = platform ? result.track.ids[platform] : undefined;
      if (platform && id && !this.authority) {
        this.call(
          engine.id,
          `look-up ${platform}:${id}`,
          0,
          (signal) => engine.doLookup!({ ref: { platform, kind: 'track', id }, signal, onLog: this.onLog }),
          (found) => {
            if (found?.kind === 'track') this.metadataResult(engine, found.result);
          },
        );
      }
    }
  }

  private isSource(engine: MetadataEngine): boolean {
    return (
      this.input.ref !== undefined &&
      (this.context.sourceEngines[this.input.ref.platform] ?? []).includes(engine.id)
    );
  }

  /** Source stage: the link's own platform (or a free-text search) gives the first metadata. */

  private startSource(): void {
    if (this.input.known) {
      const known = this.input.known;
      const engine = this.engines.metadata.find((candidate) => candidate.id === known.engine);
      if (engine) this.metadataResult(engine, known);
      else this.adoptTrack(known);
      this.startRace();
      return;
    }
    if (this.input.ref) {
      const ref = this.input.ref;
      for (const engine of this.engines.metadata) {
        if (!engine.doLookup || !this.isSource(engine) || !engine.lookupPlatforms.includes(ref.platform))
          continue;
        this.call(
          engine.id,
          `look-up ${ref.platform}:${ref.id}`,
          'source',
          (signal) => engine.doLookup!({ ref, signal, onLog: this.onLog }),
          (found) => {
            if (found?.kind === 'track') this.metadataResult(engine, found.result);
          },
        );
      }
    } else if (this.input.query) {
      const query = this.input.query;
      for (const engine of this.engines.metadata) {
        if (!engine.doSearch || engine.tier !== 0) continue;
        this.call(
          engine.id,
          `search "${query}"`,
          'source',
          (signal) => engine.doSearch!({ query, limit: 5, signal, onLog: this.onLog }),
          (results) => {
            if (!this.track && results[0]) this.metadataResult(engine, results[0]);
          },
        );
      }
    }
    if (this.sourcePending === 0) this.startRace();
  }

  /** The tiers, from the moment the race knows what to look for. */

  private startRace(): void {
    if (this.raceStartMs !== undefined || this.finished) return;
    this.raceStartMs = this.now();
    if (!this.track && this.input.query) {
      // No catalogue knows the text: race on the text itself (the scorer caps an unknown artist at fuzzy).
      this.track = { title: this.input.query, artists: [], ids: {} };
      this.reference = this.track;
      for (const pending of this.unscored.splice(0)) this.addCandidate(pending.candidate, pending.foundBy);
    }
    this.startTier0();
    this.later(this.timings.tier1DelayMs, () => this.startTier1());
    this.later(this.timings.tier2DelayMs, () => this.startTier2());
    if (this.track) this.startTrackWork();
    this.evaluate();
  }

  private startTier0(): void {
    this.tierStarted[0] = true;
    this.emit({
      type: 'progress',
      phase: 'race',
      done: 0,
      total: 3,
      message: 'tier 0: ISRC sources and ISRC video search',
    });
    const isrc = this.input.isrc ?? this.track?.isrc;
    if (isrc) this.searchVideosByIsrc(isrc);
    for (const engine of this.engines.metadata) {
      if (engine.tier !== 0 || !engine.provesIsrc || this.isSource(engine)) continue;
      if (isrc && engine.doFindByIsrc) {
        this.call(
          engine.id,
          `ISRC look-up ${isrc}`,
          0,
          (signal) => engine.doFindByIsrc!({ isrc, signal, onLog: this.onLog }),
          (result) => this.metadataResult(engine, result),
        );
      } else if (
        this.input.ref &&
        engine.doLookup &&
        engine.lookupPlatforms.includes(this.input.ref.platform)
      ) {
        const ref = this.input.ref;
        this.call(
          engine.id,
          `look-up ${ref.platform}:${ref.id}`,
          0,
          (signal) => engine.doLookup!({ ref, signal, onLog: this.onLog }),
          (found) => {
            if (found?.kind === 'track') this.metadataResult(engine, found.result);
          },
        );
      }
    }
  }

  /** Tier-0 and later work that needs a track (a search by title): started once the track is known. */

  private startTrackWork(): void {
    if (!this.track || !this.tierStarted[0]) return;
    const known = this.track;
    if (known.isrc) this.searchVideosByIsrc(known.isrc);
    for (const engine of this.engines.metadata) {
      if (engine.tier !== 0 || !engine.provesIsrc || !engine.doSearch || this.isSource(engine)) continue;
      if (this.input.isrc || (known.isrc && engine.doFindByIsrc) || this.input.known?.engine === engine.id)
        continue;
      if (this.input.ref && engine.doLookup && engine.lookupPlatforms.includes(this.input.ref.platform))
        continue;
      if (known.artists.length === 0) continue;
      this.call(
        engine.id,
        'search',
        0,
        (signal) => engine.doSearch!({ track: known, limit: 5, signal, onLog: this.onLog }),
        (results) => {
          const ranked = [...results].sort((a, b) => describes(known, b) - describes(known, a));
          if (ranked[0]) this.metadataResult(engine, ranked[0]);
        },
      );
    }
    if (this.tierStarted[1]) this.tier1TrackWork();
    if (this.tierStarted[2]) this.tier2TrackWork();
  }

  private startTier1(): void {
    this.tierStarted[1] = true;
    this.emit({
      type: 'progress',
      phase: 'race',
      done: 1,
      total: 3,
      message: 'tier 1: cross-platform mapping, plain video search',
    });
    this.log('debug', 'tier 1 started');
    if (this.input.ref) {
      const ref = this.input.ref;
      for (const engine of this.engines.metadata) {
        if (
          engine.tier !== 1 ||
          !engine.doLookup ||
          this.isSource(engine) ||
          !engine.lookupPlatforms.includes(ref.platform)
        ) {
          continue;
        }
        this.call(
          engine.id,
          `look-up ${ref.platform}:${ref.id}`,
          1,
          (signal) => engine.doLookup!({ ref, signal, onLog: this.onLog }),
          (found) => {
            if (found?.kind === 'track') this.metadataResult(engine, found.result);
          },
        );
      }
    }
    this.tier1TrackWork();
    this.evaluate();
  }

  private tier1TrackWork(): void {
    if (!this.track) return;
    const known = this.track;
    if (this.input.query && known.artists.length === 0) {
      for (const video of this.engines.video)
        if (video.capabilities.includes('search'))
          this.searchVideos(video, this.input.query, 1, `${video.id}:search`);
      return;
    }
    for (const video of this.engines.video) {
      if (video.capabilities.includes('search'))
        this.searchVideos(video, plainVideoQuery(known), 1, `${video.id}:search`);
    }
  }

  private startTier2(): void {
    this.tierStarted[2] = true;
    this.emit({
      type: 'progress',
      phase: 'race',
      done: 2,
      total: 3,
      message: 'tier 2: LLM query synthesis → video search',
    });
    this.log('debug', 'tier 2 started');
    this.tier2TrackWork();
    this.evaluate();
  }

  private tier2TrackWork(): void {
    if (!this.track || this.tier2Ran) return;
    this.tier2Ran = true;
    const known = this.track;
    for (const engine of this.engines.query) {
      this.call(
        engine.id,
        'query synthesis',
        2,
        (signal) => engine.doSynthesizeQuery({ track: known, signal, onLog: this.onLog }),
        (synthesized) => {
          for (const video of this.engines.video) {
            if (video.capabilities.includes('search'))
              this.searchVideos(video, synthesized.query, 2, `${engine.id}→${video.id}`);
          }
        },
      );
    }
  }

  // ---------------------------------------------------------------------------------------------------

  // Settlement.

  private tierDone(tier: EngineTier): boolean {
    if (this.raceStartMs === undefined) return false;
    if (this.tierPending[tier] > 0) return false;
    if (this.tierStarted[tier]) return this.track !== undefined || tier === 0;
    // Not started yet: done only when it has nothing that could run.
    if (tier === 1)
      return this.engines.video.length === 0 && !this.engines.metadata.some((engine) => engine.tier === 1);
    return this.engines.query.length === 0;
  }

  private couldStillLearnTrack(): boolean {
    if (
      this.sourcePending > 0 ||
      this.tierPending[0] > 0 ||
      this.tierPending[1] > 0 ||
      this.tierPending[2] > 0
    )
      return true;
    const ref = this.input.ref;
    return (
      !this.tierStarted[1] &&
      ref !== undefined &&
      this.engines.metadata.some(
        (engine) =>
          engine.tier === 1 && engine.doLookup !== undefined && engine.lookupPlatforms.includes(ref.platform),
      )
    );
  }

  private evaluate(): void {
    if (this.finished) return;
    const nowMs = this.now();
    const deadlinePassed = nowMs - this.context.startedAt >= this.timings.deadlineMs;
    const state: SettlementState = {
      nowMs,
      graceMs: this.timings.graceMs,
      tierDone: { 0: this.tierDone(0), 1: this.tierDone(1), 2: this.tierDone(2) },
      deadlinePassed,
    };
    if (this.best) state.bestGrade = this.best.grade;
    if (this.acceptableSinceMs !== undefined) state.acceptableSinceMs = this.acceptableSinceMs;
    // Without a track nothing can be scored: once no call that could name it is running or to come, give up.
    if (!this.track && this.raceStartMs !== undefined && !this.couldStillLearnTrack()) {
      state.tierDone = { 0: true, 1: true, 2: true };
    }
    const decision = settlementDecision(state);
    if (decision === 'wait') return;
    if (decision === 'settle' && this.best && this.track) {
      this.log(
        'info',
        `settled on ${this.best.candidate.mediaId} (${this.best.grade}, ${this.best.score.score}) after ${Math.round(nowMs - this.context.startedAt)} ms`,
      );
      const outcome: Extract<RaceOutcome<Shortcut>, { kind: 'settled' }> = {
        kind: 'settled',
        track: this.track,
        winner: this.best,
        candidates: [...this.pool.values()],
        failures: this.failures,
      };
      if (this.authority) outcome.authority = this.authority;
      this.finish({ outcome });
      return;
    }
    this.finish({ error: this.noMatch(deadlinePassed) });
  }

  private noMatch(deadlinePassed: boolean): NexStreamError {
    const rejected = [...this.pool.values()]
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
    const details = {
      bestRejected: rejected,
      failures: this.failures,
      ...(this.track ? { track: this.track } : {}),
    };
    const what = this.track ? `"${plainVideoQuery(this.track)}"` : 'the input';
    if (this.succeededCalls === 0 && this.failures.length > 0) {
      const codes = new Set(this.failures.map((failure) => failure.code));
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
      const list = this.failures.map(
        (failure) => `${failure.engine} (${failure.operation}): ${failure.message}`,
      );
      if (code === NexStreamErrorCode.Unreachable) {
        return new NexStreamError(
          code,
          `the server cannot reach the music services (${[...new Set(this.failures.map((failure) => failure.engine))].join(', ')}): check its internet access, DNS, firewall or proxy. ${list.join('; ')}`,
          { retryable: true, details },
        );
      }
      return new NexStreamError(code, `every engine failed while resolving ${what}: ${list.join('; ')}`, {
        retryable: true,
        details,
      });
    }
    const why = this.track
      ? this.pool.size === 0
        ? 'no video was found'
        : `none of ${this.pool.size} candidates was acceptable`
      : 'no engine knew the track';
    return new NexStreamError(
      NexStreamErrorCode.NoMatch,
      `no match for ${what}${deadlinePassed ? ` within ${this.timings.deadlineMs} ms` : ''}: ${why}. Try a more precise link or name the video with override`,
      { retryable: false, details },
    );
  }
}
