/**
 * The match-scorer evaluation: loads the labeled cases in `eval/cases/*.json` and measures a ranking
 * function on them. Shared by `run-eval.ts` (which scores with the built package) and the regression test in
 * `src/match-scorer.test.ts` (which scores with the sources). Plain erasable TypeScript so Node runs it as is.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { type MatchGrade, meetsGrade, type TrackMetadata } from '@nexstream/core';
import type { MusicSearchEntry, MusicTextRun } from '../src/engines/youtube-music/youtube-music-format.js';
import type { MatchCandidate, ScoreOptions } from '../src/match-scorer.js';

/** The track of a case: what the metadata engines would have found. */
export interface EvalTrack {
  title: string;
  artists: string[];
  album?: string;
  durationMs?: number;
  isrc?: string;
  explicit?: boolean;
  /** Other spellings of the artists, as MusicBrainz sort names and aliases give them (`TrackMetadata.artistAliases`). */
  artistAliases?: string[];
}

/**
 * One YouTube Music search result as a case file writes it, compactly. {@link musicEntryOf} expands it into
 * the {@link MusicSearchEntry} InnerTube's list item would give (credit runs linked to `UC…` channels, the album
 * run linked to `MPRE…`, `•` separators, the duration, the plays or views column), and the engine's own
 * `mapMusicSearch` turns the entries into candidates: the case's candidates are exactly what the engine
 * produces from such a search.
 */
export interface CompactMusicResult {
  /** Video id (11 characters). */
  v: string;
  /** Title as YouTube Music shows it. */
  t: string;
  /** `musicVideoType`: art track, official video, user upload, podcast episode. */
  type: 'ATV' | 'OMV' | 'UGC' | 'PODCAST_EPISODE';
  /** Credited artists (or the uploading channel), each `[name, channelId]`; channel id may be omitted. */
  by: Array<[string] | [string, string]>;
  /** Album `[title, browseId]` (songs only). */
  album?: [string] | [string, string];
  /** Duration as shown: `3:32`, `1:02:03`. */
  dur: string;
  /** Count as shown: `1.2M plays` (songs), `35M views` (videos). */
  count?: string;
  explicit?: boolean;
  /** Came from the top-result card. */
  top?: boolean;
}

/** The {@link MusicSearchEntry} InnerTube's list item would give for a {@link CompactMusicResult}. */
export function musicEntryOf(result: CompactMusicResult): MusicSearchEntry {
  const dot: MusicTextRun = { text: ' • ' };
  const credits: MusicTextRun[] = [];
  result.by.forEach(([name, channelId], index) => {
    if (index > 0) credits.push({ text: index === result.by.length - 1 ? ' & ' : ', ' });
    credits.push(
      channelId
        ? {
            text: name,
            browseId: channelId,
            pageType: result.type === 'UGC' ? 'MUSIC_PAGE_TYPE_USER_CHANNEL' : 'MUSIC_PAGE_TYPE_ARTIST',
          }
        : { text: name },
    );
  });
  const detailRuns: MusicTextRun[] = [...credits];
  const extraRuns: MusicTextRun[] = [];
  if (result.album) {
    const [title, browseId] = result.album;
    detailRuns.push(
      dot,
      browseId ? { text: title, browseId, pageType: 'MUSIC_PAGE_TYPE_ALBUM' } : { text: title },
    );
  }
  if (result.count && !result.album) detailRuns.push(dot, { text: result.count });
  detailRuns.push(dot, { text: result.dur });
  if (result.count && result.album) extraRuns.push({ text: result.count });
  return {
    videoId: result.v,
    title: result.t,
    musicVideoType: `MUSIC_VIDEO_TYPE_${result.type}`,
    detailRuns,
    extraRuns,
    badges: result.explicit ? ['MUSIC_EXPLICIT_BADGE'] : [],
    thumbnails: [],
    topResult: result.top === true,
  };
}

/** The engine's mapping of a search (`mapMusicSearch` of `@nexstream/resolver`), passed in by the caller. */
export type MapMusicSearch = (entries: MusicSearchEntry[], options: { engine: string }) => MatchCandidate[];

/** One labeled case: a track, the search results in their search order, and which of them are right or wrong. */
export interface EvalCase {
  id: string;
  note: string;
  track: EvalTrack;
  /** The search results in search order. Filled from {@link EvalCase.ytmusic} when the file gives that instead. */
  candidates: MatchCandidate[];
  /** A YouTube Music search, in InnerTube's order; the loader maps it with the engine's own mapping. */
  ytmusic?: CompactMusicResult[];
  /** Ids of videos that carry the requested recording. Empty: accepting nothing is the right answer. */
  acceptable: string[];
  /** Ids of videos that must never be accepted (another recording, an altered copy, another song). */
  wrong: string[];
}

/** A file of cases that share one trap. */
export interface EvalGroup {
  group: string;
  description: string;
  /**
   * Set on a group scored only after the scorer's rules were frozen: the commit whose rules it was first
   * scored with, and when. Its figures are reported on their own (`frozen_precision_at_1`), and tuning the
   * rules to it afterwards is what the field exists to make visible.
   */
  frozen?: { rulesCommit: string; date: string };
  cases: EvalCase[];
}

/** The slice of the scorer the evaluation needs (`rankCandidates` of `@nexstream/resolver`). */
export type RankFunction = (
  track: TrackMetadata,
  candidates: readonly MatchCandidate[],
  options?: ScoreOptions,
) => ReadonlyArray<{ candidate: MatchCandidate; grade: MatchGrade; score: number; reasons: string[] }>;

/** Figures for a set of cases. Rates are fractions (0–1), rounded to 4 decimals. */
export interface EvalFigures {
  cases: number;
  /** Cases with at least one acceptable video. */
  answerable: number;
  /** Answerable cases whose first-ranked video is acceptable. */
  precision_at_1: number;
  /** All cases where the accepted video (first-ranked, grade ≥ the settle grade) is a wrong one. */
  wrong_accept_rate: number;
  /** Answerable cases where a video was accepted at the settle grade. */
  coverage: number;
  /** The same two figures when fuzzy matches are accepted too (the race does so after the grace period). */
  fuzzy_wrong_accept_rate: number;
  fuzzy_coverage: number;
  /** Accepted videos that are in neither list (not counted as wrong). */
  unlabeled_accepts: number;
  /** Of all wrong-labeled candidates (not only the picks), the fraction graded at the settle grade or better. */
  wrong_candidates_at_settle: number;
  /** Of all acceptable candidates, the fraction graded at the settle grade or better. */
  acceptable_candidates_at_settle: number;
  baseline_precision_at_1: number;
  baseline_wrong_accept_rate: number;
  baseline_coverage: number;
  /**
   * The trivial baseline of YouTube Music: the first song result (an art track: `resultType: 'art-track'`,
   * catalogue fields, or a "- Topic" channel) is the answer. Over answerable cases.
   */
  baseline_first_song_precision_at_1: number;
}

/** Coverage at the settle grade per writing system of the track (its title and lead artist). */
export interface ScriptGroupFigures {
  answerable: number;
  covered: number;
  coverage: number;
}

/** One case that went wrong, for the report. */
export interface EvalMiss {
  group: string;
  caseId: string;
  kind: 'wrong-accept' | 'top-not-acceptable' | 'not-covered';
  pick: string;
  grade: MatchGrade;
  score: number;
  reasons: string[];
}

/** The report of {@link evaluate}. */
export interface EvalReport {
  overall: EvalFigures;
  groups: Array<{ group: string; figures: EvalFigures }>;
  /** The groups marked `frozen`, together; `undefined` when there are none. */
  frozen?: EvalFigures;
  /** Coverage by the track's writing system (`latin`, `japanese`, `hangul`, `han`, `cyrillic`, …). */
  scripts: Record<string, ScriptGroupFigures>;
  misses: EvalMiss[];
}

const scriptPatterns: ReadonlyArray<readonly [string, RegExp]> = [
  ['japanese', /[\p{Script=Hiragana}\p{Script=Katakana}]/u],
  ['hangul', /\p{Script=Hangul}/u],
  ['han', /\p{Script=Han}/u],
  ['hebrew', /\p{Script=Hebrew}/u],
  ['arabic', /\p{Script=Arabic}/u],
  ['cyrillic', /\p{Script=Cyrillic}/u],
  ['devanagari', /\p{Script=Devanagari}/u],
  ['thai', /\p{Script=Thai}/u],
  ['greek', /\p{Script=Greek}/u],
];

/** The writing system a case is filed under: the first non-Latin one of its title and lead artist, else `latin`. */
export function scriptOf(track: EvalTrack): string {
  const text = `${track.title} ${track.artists[0] ?? ''}`;
  return scriptPatterns.find(([, pattern]) => pattern.test(text))?.[0] ?? 'latin';
}

/** YouTube Music's song results: art tracks. */
function isSong(candidate: MatchCandidate): boolean {
  return (
    candidate.resultType === 'art-track' ||
    (candidate.resultType === undefined &&
      (candidate.artTrack !== undefined || /\s-\sTopic$/i.test(candidate.channel ?? '')))
  );
}

/**
 * Reads every `*.json` group in the cases folder, sorted by file name, and checks the labels are consistent.
 * Cases written as a YouTube Music search (`ytmusic`) get their candidates from `mapMusicSearch`.
 */
export function loadEvalGroups(
  mapMusicSearch: MapMusicSearch,
  directory: URL = new URL('./cases/', import.meta.url),
): EvalGroup[] {
  const files = readdirSync(directory)
    .filter((name) => name.endsWith('.json'))
    .sort();
  const groups = files.map((name) => JSON.parse(readFileSync(new URL(name, directory), 'utf8')) as EvalGroup);
  for (const group of groups) {
    for (const evalCase of group.cases) {
      if (evalCase.ytmusic) {
        const entries = evalCase.ytmusic.map(musicEntryOf);
        if (entries.some((entry) => entry.videoId.length !== 11)) {
          throw new Error(`eval case ${group.group}/${evalCase.id}: a video id is not 11 characters`);
        }
        evalCase.candidates = mapMusicSearch(entries, { engine: 'youtube-music' });
        if (evalCase.candidates.length !== entries.length) {
          throw new Error(`eval case ${group.group}/${evalCase.id}: a result did not map to a candidate`);
        }
      }
      const ids = new Set(evalCase.candidates.map((candidate) => candidate.id));
      const problem =
        ids.size !== evalCase.candidates.length
          ? 'duplicate candidate ids'
          : [...evalCase.acceptable, ...evalCase.wrong].find((id) => !ids.has(id))
            ? 'a labeled id is not among the candidates'
            : evalCase.acceptable.some((id) => evalCase.wrong.includes(id))
              ? 'an id is both acceptable and wrong'
              : evalCase.candidates.some((candidate) => !/^[A-Za-z0-9_-]{11}$/.test(candidate.id))
                ? 'a video id is not 11 characters'
                : undefined;
      if (problem) throw new Error(`eval case ${group.group}/${evalCase.id}: ${problem}`);
    }
  }
  return groups;
}

function rate(count: number, total: number): number {
  return total === 0 ? 0 : Math.round((count / total) * 10_000) / 10_000;
}

interface Tally {
  cases: number;
  answerable: number;
  top: number;
  wrong: number;
  covered: number;
  fuzzyWrong: number;
  fuzzyCovered: number;
  unlabeled: number;
  baselineTop: number;
  baselineWrong: number;
  baselineCovered: number;
  baselineSongTop: number;
  wrongCandidates: number;
  wrongCandidatesAtSettle: number;
  acceptableCandidates: number;
  acceptableCandidatesAtSettle: number;
}

function emptyTally(): Tally {
  return {
    cases: 0,
    answerable: 0,
    top: 0,
    wrong: 0,
    covered: 0,
    fuzzyWrong: 0,
    fuzzyCovered: 0,
    unlabeled: 0,
    baselineTop: 0,
    baselineWrong: 0,
    baselineCovered: 0,
    baselineSongTop: 0,
    wrongCandidates: 0,
    wrongCandidatesAtSettle: 0,
    acceptableCandidates: 0,
    acceptableCandidatesAtSettle: 0,
  };
}

function figures(tally: Tally): EvalFigures {
  return {
    cases: tally.cases,
    answerable: tally.answerable,
    precision_at_1: rate(tally.top, tally.answerable),
    wrong_accept_rate: rate(tally.wrong, tally.cases),
    coverage: rate(tally.covered, tally.answerable),
    fuzzy_wrong_accept_rate: rate(tally.fuzzyWrong, tally.cases),
    fuzzy_coverage: rate(tally.fuzzyCovered, tally.answerable),
    unlabeled_accepts: tally.unlabeled,
    wrong_candidates_at_settle: rate(tally.wrongCandidatesAtSettle, tally.wrongCandidates),
    acceptable_candidates_at_settle: rate(tally.acceptableCandidatesAtSettle, tally.acceptableCandidates),
    baseline_precision_at_1: rate(tally.baselineTop, tally.answerable),
    baseline_wrong_accept_rate: rate(tally.baselineWrong, tally.cases),
    baseline_coverage: rate(tally.baselineCovered, tally.answerable),
    baseline_first_song_precision_at_1: rate(tally.baselineSongTop, tally.answerable),
  };
}

/** Converts a case's track to core's `TrackMetadata`. */
export function trackOf(evalCase: EvalCase): TrackMetadata {
  return { ...evalCase.track, ids: {} };
}

/**
 * Runs every case through `rank` and measures it. The pick is the first-ranked candidate; it is accepted
 * when its grade is at least `settleGrade` (default `strong`: what the race settles on without waiting for
 * the grace period). The baseline takes the first search result and always accepts it.
 */
export function evaluate(
  groups: readonly EvalGroup[],
  rank: RankFunction,
  options: { settleGrade?: MatchGrade; scoreOptions?: ScoreOptions } = {},
): EvalReport {
  const settle = options.settleGrade ?? 'strong';
  const total = emptyTally();
  const frozen = emptyTally();
  let anyFrozen = false;
  const scripts: Record<string, ScriptGroupFigures> = {};
  const report: EvalReport = { overall: figures(total), groups: [], scripts, misses: [] };
  for (const group of groups) {
    const tally = emptyTally();
    for (const evalCase of group.cases) {
      const ranked = rank(trackOf(evalCase), evalCase.candidates, options.scoreOptions);
      const pick = ranked[0];
      const first = evalCase.candidates[0];
      const answerable = evalCase.acceptable.length > 0;
      const accepted = pick !== undefined && meetsGrade(pick.grade, settle);
      const fuzzyAccepted = pick !== undefined && meetsGrade(pick.grade, 'fuzzy');
      const pickId = pick?.candidate.id ?? '';
      const isAcceptable = evalCase.acceptable.includes(pickId);
      const isWrong = evalCase.wrong.includes(pickId);
      tally.cases++;
      if (answerable) tally.answerable++;
      if (answerable && isAcceptable) tally.top++;
      if (accepted && isWrong) tally.wrong++;
      if (answerable && accepted) tally.covered++;
      if (fuzzyAccepted && isWrong) tally.fuzzyWrong++;
      if (answerable && fuzzyAccepted) tally.fuzzyCovered++;
      if (accepted && !isAcceptable && !isWrong) tally.unlabeled++;
      for (const entry of ranked) {
        const atSettle = meetsGrade(entry.grade, settle);
        if (evalCase.wrong.includes(entry.candidate.id)) {
          tally.wrongCandidates++;
          if (atSettle) tally.wrongCandidatesAtSettle++;
        } else if (evalCase.acceptable.includes(entry.candidate.id)) {
          tally.acceptableCandidates++;
          if (atSettle) tally.acceptableCandidatesAtSettle++;
        }
      }
      const firstSong = evalCase.candidates.find(isSong);
      if (answerable && firstSong && evalCase.acceptable.includes(firstSong.id)) tally.baselineSongTop++;
      if (answerable) {
        const script = scriptOf(evalCase.track);
        const entry = scripts[script] ?? { answerable: 0, covered: 0, coverage: 0 };
        scripts[script] = entry;
        entry.answerable++;
        if (accepted) entry.covered++;
        entry.coverage = rate(entry.covered, entry.answerable);
      }
      if (first) {
        if (answerable && evalCase.acceptable.includes(first.id)) tally.baselineTop++;
        if (evalCase.wrong.includes(first.id)) tally.baselineWrong++;
        if (answerable) tally.baselineCovered++;
      }
      const kind: EvalMiss['kind'] | undefined =
        accepted && isWrong
          ? 'wrong-accept'
          : answerable && !isAcceptable
            ? 'top-not-acceptable'
            : answerable && !accepted
              ? 'not-covered'
              : undefined;
      if (kind && pick) {
        report.misses.push({
          group: group.group,
          caseId: evalCase.id,
          kind,
          pick: `${pick.candidate.title} [${pick.candidate.channel ?? ''}]`,
          grade: pick.grade,
          score: pick.score,
          reasons: pick.reasons,
        });
      }
    }
    for (const key of Object.keys(tally) as Array<keyof Tally>) total[key] += tally[key];
    if (group.frozen) {
      anyFrozen = true;
      for (const key of Object.keys(tally) as Array<keyof Tally>) frozen[key] += tally[key];
    }
    report.groups.push({ group: group.group, figures: figures(tally) });
  }
  report.overall = figures(total);
  if (anyFrozen) report.frozen = figures(frozen);
  return report;
}
