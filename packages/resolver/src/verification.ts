import {
  durationsAgree,
  type ResolvedMedia,
  type TrackMetadata,
  verifiedDurationToleranceMs,
} from '@nexstream/core';
import {
  createVerifiedMatch,
  type VerificationMethod,
  type VerifiedMatch,
  youtubeVideoId,
} from '@nexstream/registry/verification';
import type { MetadataResult, VideoCandidate } from './engine.js';
import { type CandidateScore, catalogueTitles } from './match-scorer.js';
import { containsWords, textSimilarity } from './text-normalize.js';

/**
 * The lowest title similarity (0–1, `textSimilarity` after bracketed parts and feat. credits are dropped) at
 * which an authoritative source's recording counts as the input's. Deezer writes "Harder, Better, Faster,
 * Stronger" where Spotify writes "Harder Better Faster Stronger" (1.0 folded); a remaster suffix is dropped
 * with the brackets; a different song of the same artist scores well under 0.7.
 */
export const isrcTitleAgreement = 0.85;

/** The lowest similarity between the input's main artist and one of the source's artists. */
export const isrcArtistAgreement = 0.85;

/** An ISRC the race may rely on: authoritative at its source, and that source describes the input's recording. */
export interface IsrcAuthority {
  /** Normalized ISRC. */
  isrc: string;
  /** The engine that gave it (`deezer`, `musicbrainz`, `soundcharts`). */
  source: string;
  /** The source's view of the recording. */
  track: TrackMetadata;
}

/** The outcome of {@link checkIsrcAuthority}. */
export interface IsrcAuthorityCheck {
  /** Set when the ISRC can be relied on. */
  authority?: IsrcAuthority;
  /** Why it can or cannot, for logs. */
  reasons: string[];
}

/** How alike two catalogue titles are, 0–1, ignoring bracketed parts, feat. credits and ` - Remastered` suffixes. */
export function titleAgreement(a: string, b: string): number {
  let best = 0;
  for (const left of catalogueTitles(a))
    for (const right of catalogueTitles(b)) best = Math.max(best, textSimilarity(left, right));
  return best;
}

/** How well a source's artists cover the input's main artist, 0–1. */
export function artistAgreement(reference: readonly string[], artists: readonly string[]): number {
  const main = reference[0];
  if (!main) return 0;
  let best = 0;
  for (const artist of artists) {
    if (containsWords(artist, main) || containsWords(main, artist)) return 1;
    best = Math.max(best, textSimilarity(main, artist));
  }
  return best;
}

/**
 * {@link artistAgreement} that also takes each side's other names (`artistAliases`: sort names, aliases,
 * names in other scripts), so `Kenshi Yonezu` on one service agrees with `米津玄師` (sort name `Yonezu,
 * Kenshi`) on MusicBrainz.
 */
export function aliasedArtistAgreement(reference: TrackMetadata, source: TrackMetadata): number {
  const names = [...source.artists, ...(source.artistAliases ?? [])];
  let best = artistAgreement(reference.artists, names);
  for (const alias of reference.artistAliases ?? []) best = Math.max(best, artistAgreement([alias], names));
  return best;
}

/**
 * Decides whether a metadata result's ISRC can be relied on for `reference` (the input's track): the result
 * must be authoritative (`isrcAuthoritative`: Deezer full tracks, MusicBrainz, Soundcharts) and agree with the
 * reference's title ({@link isrcTitleAgreement}), main artist ({@link isrcArtistAgreement}) and, when both
 * know it, duration (core's `durationsAgree`: services round differently, Deezer to whole seconds, but the same master never differs by more than a second or two). A Spotify hint or a Deezer answer for another
 * recording never passes.
 */
export function checkIsrcAuthority(reference: TrackMetadata, result: MetadataResult): IsrcAuthorityCheck {
  const reasons: string[] = [];
  const isrc = result.track.isrc;
  if (!isrc) return { reasons: [`${result.engine} gave no ISRC`] };
  if (!result.isrcAuthoritative) {
    return { reasons: [`${result.engine}'s ISRC ${isrc} is a hint, not authoritative`] };
  }
  if (reference.isrc && reference.isrc !== isrc && reference !== result.track) {
    reasons.push(`the input names ISRC ${reference.isrc}, ${result.engine} ${isrc}`);
  }
  const title = titleAgreement(reference.title, result.track.title);
  if (title < isrcTitleAgreement) {
    reasons.push(
      `title "${result.track.title}" does not agree with "${reference.title}" (${title.toFixed(2)})`,
    );
  }
  const artist = aliasedArtistAgreement(reference, result.track);
  if (reference.artists.length > 0 && artist < isrcArtistAgreement) {
    reasons.push(
      `artists ${result.track.artists.join(', ')} do not agree with ${reference.artists.join(', ')} (${artist.toFixed(2)})`,
    );
  }
  if (reference.durationMs && result.track.durationMs) {
    if (!durationsAgree(reference.durationMs, result.track.durationMs)) {
      const gapMs = Math.abs(reference.durationMs - result.track.durationMs);
      reasons.push(`duration differs by ${gapMs} ms (more than ${verifiedDurationToleranceMs} ms)`);
    }
  }
  if (reasons.length > 0) return { reasons };
  return {
    authority: { isrc, source: result.engine, track: result.track },
    reasons: [`${result.engine}'s ISRC ${isrc} is authoritative and agrees with the input`],
  };
}

/**
 * How a candidate graded `verified` under an authority was tied to its ISRC: by the ISRC search, or as an art
 * track whose catalogue fields match. `undefined` when it is not tied within
 * {@link verifiedDurationToleranceMs} of the authoritative duration, or when the candidate is not a YouTube
 * video identified by yt-dlp's YouTube extractor (`youtube:<id>`): a page read by any other extractor can
 * claim any title, uploader ("… - Topic") or description ("Provided to YouTube by …").
 */
export function verificationMethodOf(
  candidate: VideoCandidate,
  score: CandidateScore,
  authority: IsrcAuthority | undefined,
  trackDurationMs: number | undefined,
): VerificationMethod | undefined {
  if (!authority || score.grade !== 'verified') return undefined;
  if (!youtubeVideoId(candidate.mediaId)) return undefined;
  if (!trackDurationMs || !candidate.durationMs) return undefined;
  if (!durationsAgree(trackDurationMs, candidate.durationMs)) return undefined;
  if (candidate.foundByIsrc === authority.isrc) return 'isrc-search';
  if (candidate.artTrack) return 'art-track';
  return undefined;
}

/** What {@link buildVerifiedMatch} needs. */
export interface VerifiedMatchParts {
  track: TrackMetadata;
  authority: IsrcAuthority;
  method: VerificationMethod;
  /** The extracted media (formats and expiry); its duration falls back to the candidate's. */
  media: ResolvedMedia;
  candidate: VideoCandidate;
  /**
   * Who picked the video: only the race's own pick can be verified. The type admits `'race'` alone, so a
   * video named by a caller (`via: 'override'`) cannot be passed; the value is checked at run time too.
   */
  via: 'race';
  /** Epoch milliseconds. Default now. */
  verifiedAt?: number;
}

/** A verified match for the registry, or the reasons the registry's own checks refused it. */
export type VerifiedMatchOutcome = { match: VerifiedMatch } | { problems: string[] };

/**
 * Builds the registry's verified match (through `createVerifiedMatch`, which checks it again) for the race's
 * pick of a YouTube video (anything else comes back as `problems`): the track with
 * the authoritative ISRC and a duration, the media with a duration in whole milliseconds, and the evidence
 * (method, ISRC source). Never throws: a refused match comes back as `problems`.
 */
export function buildVerifiedMatch(parts: VerifiedMatchParts): VerifiedMatchOutcome {
  if ((parts.via as string) !== 'race') {
    return {
      problems: [`a video picked by ${String(parts.via)} is never verified: only the race's pick is`],
    };
  }
  if (parts.media.platform !== 'youtube' || !youtubeVideoId(parts.media.id)) {
    return {
      problems: [
        `${parts.media.id} was not identified by yt-dlp's YouTube extractor: only YouTube videos are verified`,
      ],
    };
  }
  const durationMs = parts.track.durationMs ?? parts.authority.track.durationMs;
  const mediaDurationMs = parts.media.durationMs ?? parts.candidate.durationMs;
  try {
    const match = createVerifiedMatch({
      track: {
        ...parts.track,
        isrc: parts.authority.isrc,
        durationMs: Math.round(durationMs ?? 0),
        ids: { ...parts.authority.track.ids, ...parts.track.ids },
      },
      media: { ...parts.media, platform: 'youtube', durationMs: Math.round(mediaDurationMs ?? 0) },
      verification: { method: parts.method, isrcSource: parts.authority.source },
      ...(parts.verifiedAt === undefined ? {} : { verifiedAt: parts.verifiedAt }),
    });
    return { match };
  } catch (error) {
    const details = (error as { details?: { problems?: string[] } }).details;
    return { problems: details?.problems ?? [error instanceof Error ? error.message : String(error)] };
  }
}
