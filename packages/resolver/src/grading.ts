import type { MatchGrade, TrackMetadata } from '@nexstream/core';
import type { VideoCandidate } from './engine.js';
import {
  type CandidateScore,
  defaultMatchThresholds,
  type MatchCandidate,
  type ScoreOptions,
  scoreCandidate,
} from './match-scorer.js';
import type { IsrcAuthority } from './verification.js';

// The one place where a video candidate is graded for a track under the race's ISRC authority: the race (each
// candidate as it arrives, and again when an authority or a merged search adds facts), an override, and the
// winner's full extraction all go through `gradeCandidate`.

/** A candidate's score, and the grade the race acts on. */
export interface CandidateGrading {
  /** The scorer's score, its parts, reasons and its own grade. */
  score: CandidateScore;
  /** The grade the race acts on ({@link raceGrade}): the scorer's, or lower without an authoritative ISRC. */
  grade: MatchGrade;
}

/**
 * The candidate as the scorer sees it under the race's current knowledge: `foundByIsrc` is kept only when the
 * video came from a search by the authoritative ISRC, so the scorer's `verified` grade for an ISRC hit always
 * means "tied to an ISRC we trust".
 */
export function toMatchCandidate(
  candidate: VideoCandidate,
  authority: IsrcAuthority | undefined,
): MatchCandidate {
  const { foundByIsrc, ...rest } = candidate;
  return authority && foundByIsrc === authority.isrc ? { ...rest, foundByIsrc } : rest;
}

/**
 * The grade the race acts on. The scorer also grades an art track `verified` from its catalogue fields alone;
 * without an authoritative ISRC that is only an excellent match, so it becomes `exact` (or `strong` under the
 * exact threshold) and is never written to the registry.
 */
export function raceGrade(score: CandidateScore, authority: IsrcAuthority | undefined): MatchGrade {
  if (score.grade !== 'verified' || authority) return score.grade;
  return score.score >= defaultMatchThresholds.exact ? 'exact' : 'strong';
}

/**
 * Grades a video candidate for a track under an authority (or none): the scorer's score of the candidate as
 * {@link toMatchCandidate} shows it, and the {@link raceGrade} of that score. Every grade the resolver acts on
 * or reports comes from here.
 */
export function gradeCandidate(
  track: TrackMetadata,
  candidate: VideoCandidate,
  authority: IsrcAuthority | undefined,
  scoreOptions?: ScoreOptions,
): CandidateGrading {
  const score = scoreCandidate(track, toMatchCandidate(candidate, authority), scoreOptions);
  return { score, grade: raceGrade(score, authority) };
}

/** The race's winner as {@link gradeExtractedWinner} leaves it. */
export interface ExtractedWinner extends CandidateGrading {
  /** The candidate the resolution reports (and verifies): the search entry, or the extraction's fuller view. */
  candidate: VideoCandidate;
  /** The extraction's facts tied the video to the authoritative ISRC: promoted to `verified`. */
  promoted: boolean;
}

/**
 * The race's winner once `yt-dlp -J` has extracted it, graded a second time. This is not the same candidate
 * scored twice: a search entry (flat search, YouTube Music) lacks the art-track fields that only the full
 * extraction parses from a "Provided to YouTube by …" description (`track`, `artists`, `album`), and those new
 * facts can tie the video to the authoritative ISRC, which no search entry could. So:
 *
 * - a winner graded below `verified` that the extraction grades `verified` is promoted: its candidate and
 *   score become the extraction's;
 * - a `verified` winner keeps its grade and score (it is not graded again) and takes the extraction's fields,
 *   keeping its own art-track fields when it had them;
 * - any other winner stays as the race graded it: the extraction only adds evidence for verification, and a
 *   lower grade from it does not undo the race's settlement.
 *
 * The extraction keeps the winner's media id, its ISRC tie (`foundByIsrc`) and, when yt-dlp gives none, its
 * duration.
 */
export function gradeExtractedWinner(
  winner: { candidate: VideoCandidate } & CandidateGrading,
  extracted: VideoCandidate,
  track: TrackMetadata,
  authority: IsrcAuthority | undefined,
  scoreOptions?: ScoreOptions,
): ExtractedWinner {
  const searched = winner.candidate;
  const full: VideoCandidate = {
    ...extracted,
    mediaId: searched.mediaId,
    ...(searched.foundByIsrc ? { foundByIsrc: searched.foundByIsrc } : {}),
    ...(extracted.durationMs || !searched.durationMs ? {} : { durationMs: searched.durationMs }),
  };
  if (winner.grade === 'verified') {
    const candidate = { ...full, ...(searched.artTrack ? { artTrack: searched.artTrack } : {}) };
    return { candidate, score: winner.score, grade: winner.grade, promoted: false };
  }
  const graded = gradeCandidate(track, full, authority, scoreOptions);
  if (graded.grade === 'verified') return { candidate: full, ...graded, promoted: true };
  return { candidate: searched, score: winner.score, grade: winner.grade, promoted: false };
}
