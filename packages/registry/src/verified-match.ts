import {
  durationsAgree,
  type MediaFormat,
  NexStreamError,
  NexStreamErrorCode,
  type Platform,
  type PlatformIds,
  parseIsrc,
  type ResolvedMedia,
  type TrackMetadata,
  verifiedDurationToleranceMs,
} from '@nexstream/core';

/**
 * How far apart the track's and the video's durations may be for a match to count as verified, in
 * milliseconds: core's `verifiedDurationToleranceMs`, the resolver's rule (ARCHITECTURE.md: "within 2 s of
 * duration"). The registry checks it again on every write so that a match built by hand cannot slip in.
 */
export { verifiedDurationToleranceMs };

/** The shortest recording the registry accepts, in milliseconds; anything shorter is a duration in seconds by mistake. */
export const minimumDurationMs = 1000;

/** The longest recording the registry accepts, in milliseconds (24 hours). */
export const maximumDurationMs = 24 * 60 * 60 * 1000;

/**
 * Epoch milliseconds below this (2001-09-09) are taken for epoch *seconds* passed by mistake: every timestamp
 * the registry stores (`expiresAt`, `verifiedAt`) is in milliseconds.
 */
const earliestEpochMs = 1_000_000_000_000;

/**
 * How the video was tied to the recording's ISRC. `isrc-search`: the video came back from a search by the ISRC
 * itself. `art-track`: an auto-generated YouTube art track whose parsed metadata (title, artists, album,
 * duration) matches the ISRC's recording.
 */
export type VerificationMethod = 'isrc-search' | 'art-track';

/** The evidence behind a verified match, stored with it for audits. */
export interface Verification {
  /** How the video was tied to the ISRC. */
  method: VerificationMethod;
  /** The engine that supplied the authoritative ISRC and metadata (for example `deezer`, `spotify`, `musicbrainz`). */
  isrcSource: string;
}

/**
 * A track as the registry stores it: `TrackMetadata` (from `@nexstream/core`) whose ISRC and duration are known. `ids` holds one
 * id per platform (the canonical one); the registry also remembers every other id it was given for the ISRC.
 */
export interface RegistryTrack extends TrackMetadata {
  /** International Standard Recording Code, normalized: 12 characters, upper case, no hyphens. */
  isrc: string;
  /** Duration of the recording in milliseconds. */
  durationMs: number;
}

/**
 * The media of a verified match: a YouTube video (`ResolvedMedia` from `@nexstream/core`) whose duration is known.
 * Only YouTube media can be verified: its identity comes from yt-dlp's YouTube extractor, where a page read by
 * any other extractor could claim any title, uploader or description. Its `formats` are the volatile links,
 * valid until `expiresAt` (epoch milliseconds).
 */
export interface RegistryMedia extends ResolvedMedia {
  /** Always `youtube`; the id is `youtube:<11-character video id>` (checked on every write). */
  platform: 'youtube';
  /** Duration of the video in milliseconds. */
  durationMs: number;
}

/** What {@link createVerifiedMatch} takes: the verified track, its media, and the evidence. */
export interface VerifiedMatchInput {
  /** The recording, with its ISRC from an authoritative source. */
  track: RegistryTrack;
  /** The video tied to that ISRC, with its current formats (links). */
  media: RegistryMedia;
  /** How the match was verified. */
  verification: Verification;
  /** When the match was verified, epoch milliseconds. Defaults to now. */
  verifiedAt?: number;
}

/**
 * The registry's mark on matches built by {@link createVerifiedMatch}. A global symbol, so that a match built by
 * one copy of this package is accepted by another copy in the same process.
 */
const verifiedMatchMarker: unique symbol = Symbol.for('@nexstream/registry/VerifiedMatch');

/**
 * An ISRC-verified match, the only thing the registry writes. Built only by {@link createVerifiedMatch} (from
 * `@nexstream/registry/verification`, which the resolver's verification step calls): the brand property keeps a
 * hand-made object literal from type-checking, and the registry checks the brand and the content again at run
 * time. Frozen: it cannot be changed after it was checked.
 */
export interface VerifiedMatch {
  readonly track: Readonly<RegistryTrack>;
  readonly media: Readonly<RegistryMedia>;
  readonly verification: Readonly<Verification>;
  /** When the match was verified, epoch milliseconds. */
  readonly verifiedAt: number;
  readonly [verifiedMatchMarker]: true;
}

const isrcPattern = /^[A-Z]{2}[A-Z0-9]{3}\d{7}$/;

/** Validates one platform's id format (Spotify base62, Deezer and Apple numeric, YouTube 11 characters). */
export const platformIdPatterns: Readonly<Record<Platform, RegExp>> = {
  spotify: /^[0-9A-Za-z]{22}$/,
  deezer: /^\d{1,20}$/,
  apple: /^\d{1,20}$/,
  youtube: /^[A-Za-z0-9_-]{11}$/,
};

const verificationMethods = new Set<string>(['isrc-search', 'art-track']);

/** True for a YouTube media id (`youtube:<11 characters>`); returns the video id, or `undefined`. */
export function youtubeVideoId(mediaId: string): string | undefined {
  if (!mediaId.startsWith('youtube:')) return undefined;
  const id = mediaId.slice(8);
  return platformIdPatterns.youtube.test(id) ? id : undefined;
}

function isDuration(value: unknown): value is number {
  return (
    Number.isInteger(value) &&
    (value as number) >= minimumDurationMs &&
    (value as number) <= maximumDurationMs
  );
}

function isEpochMs(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= earliestEpochMs;
}

function isHttpUrl(value: unknown): value is string {
  return typeof value === 'string' && (value.startsWith('https://') || value.startsWith('http://'));
}

function isText(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

/** Problems with a list of formats (links), as sentences; `[]` when they can be stored. */
export function formatProblems(formats: unknown, where = 'media.formats'): string[] {
  if (!Array.isArray(formats)) return [`${where} must be an array of formats`];
  const problems: string[] = [];
  for (let index = 0; index < formats.length; index += 1) {
    const format = formats[index] as Partial<MediaFormat> | null;
    if (typeof format !== 'object' || format === null) {
      problems.push(`${where}[${index}] must be an object`);
      continue;
    }
    if (!isText(format.id)) problems.push(`${where}[${index}].id must be the source's format id`);
    if (!isHttpUrl(format.url)) problems.push(`${where}[${index}].url must be an http(s) URL`);
    if (format.expiresAt !== undefined && !isEpochMs(format.expiresAt)) {
      problems.push(
        `${where}[${index}].expiresAt must be epoch milliseconds (got ${String(format.expiresAt)})`,
      );
    }
  }
  return problems;
}

/** Problems with a would-be match, as sentences; `[]` when it can be stored. */
export function matchProblems(input: VerifiedMatchInput): string[] {
  const problems: string[] = [];
  if (typeof input !== 'object' || input === null) return ['the match must be an object'];
  const { track, media, verification } = input;
  if (typeof track !== 'object' || track === null) {
    problems.push('track is missing');
  } else {
    if (typeof track.isrc !== 'string' || !isrcPattern.test(track.isrc)) {
      problems.push(
        `track.isrc must be a normalized ISRC (12 characters, like USRC17607839), got ${JSON.stringify(track.isrc)}`,
      );
    }
    if (!isText(track.title)) problems.push('track.title is missing');
    if (!Array.isArray(track.artists) || track.artists.length === 0 || !track.artists.every(isText)) {
      problems.push('track.artists must list at least one artist');
    }
    if (!isDuration(track.durationMs)) {
      problems.push(
        `track.durationMs must be whole milliseconds between ${minimumDurationMs} and ${maximumDurationMs}, got ${String(track.durationMs)}`,
      );
    }
    const ids = track.ids as PlatformIds | undefined;
    if (typeof ids !== 'object' || ids === null) {
      problems.push('track.ids is missing: a verified track has an id on at least one platform');
    } else {
      let count = 0;
      for (const [platform, id] of Object.entries(ids)) {
        if (id === undefined) continue;
        const pattern = platformIdPatterns[platform as Platform];
        if (pattern === undefined) problems.push(`track.ids.${platform}: unknown platform`);
        else if (typeof id !== 'string' || !pattern.test(id)) {
          problems.push(`track.ids.${platform} is not a valid ${platform} id: ${JSON.stringify(id)}`);
        } else count += 1;
      }
      if (count === 0)
        problems.push('track.ids is empty: a verified track has an id on at least one platform');
    }
  }
  if (typeof media !== 'object' || media === null) {
    problems.push('media is missing');
  } else {
    const separator = typeof media.id === 'string' ? media.id.indexOf(':') : -1;
    if (separator <= 0 || separator === media.id.length - 1 || /\s/.test(media.id)) {
      problems.push(`media.id must look like "youtube:<video id>", got ${JSON.stringify(media.id)}`);
    } else if (media.platform !== 'youtube' || media.id.slice(0, separator) !== 'youtube') {
      problems.push(
        `media ${media.id} (platform ${JSON.stringify(media.platform)}) is not a YouTube video: only YouTube media identified by yt-dlp's YouTube extractor can be verified`,
      );
    } else if (youtubeVideoId(media.id) === undefined) {
      problems.push(`media.id ${media.id} does not hold an 11-character YouTube video id`);
    }
    if (!isHttpUrl(media.pageUrl)) problems.push('media.pageUrl must be an http(s) URL');
    if (!isText(media.title)) problems.push('media.title is missing');
    if (!isDuration(media.durationMs)) {
      problems.push(`media.durationMs must be whole milliseconds, got ${String(media.durationMs)}`);
    } else if (
      track !== null &&
      typeof track === 'object' &&
      isDuration(track.durationMs) &&
      !durationsAgree(track.durationMs, media.durationMs)
    ) {
      problems.push(
        `the video lasts ${media.durationMs} ms and the track ${track.durationMs} ms: more than ${verifiedDurationToleranceMs} ms apart`,
      );
    }
    if (media.expiresAt !== undefined && !isEpochMs(media.expiresAt)) {
      problems.push(`media.expiresAt must be epoch milliseconds, got ${String(media.expiresAt)}`);
    }
    problems.push(...formatProblems(media.formats));
  }
  if (typeof verification !== 'object' || verification === null) {
    problems.push('verification is missing: say how the video was tied to the ISRC');
  } else {
    if (!verificationMethods.has(verification.method)) {
      problems.push(
        `verification.method must be "isrc-search" or "art-track", got ${JSON.stringify(verification.method)}`,
      );
    }
    if (!isText(verification.isrcSource))
      problems.push('verification.isrcSource must name the engine that gave the ISRC');
  }
  if (input.verifiedAt !== undefined && !isEpochMs(input.verifiedAt)) {
    problems.push(`verifiedAt must be epoch milliseconds, got ${String(input.verifiedAt)}`);
  }
  return problems;
}

function unverified(problems: string[], where: string): NexStreamError {
  return new NexStreamError(
    NexStreamErrorCode.UnverifiedMatch,
    `${where}: the match is not verified: ${problems.join('; ')}. Only ISRC-verified matches built by createVerifiedMatch are stored`,
    { details: { problems } },
  );
}

/**
 * Builds a {@link VerifiedMatch} from a match the resolver's verification accepted. Checks it (normalized ISRC,
 * at least one valid platform id, a media id, durations in whole milliseconds no more than
 * {@link verifiedDurationToleranceMs} apart, links as http(s) URLs with expiries in epoch milliseconds) and
 * returns a frozen copy carrying the registry's brand.
 *
 * Import it from `@nexstream/registry/verification`: only the code that verifies matches should.
 *
 * @throws NexStreamError `NXS_UNVERIFIED_MATCH` listing every problem (also in `details.problems`).
 */
export function createVerifiedMatch(input: VerifiedMatchInput, now: number = Date.now()): VerifiedMatch {
  const candidate = input as Partial<VerifiedMatchInput> | null;
  const isrc =
    typeof candidate?.track?.isrc === 'string'
      ? (parseIsrc(candidate.track.isrc) ?? candidate.track.isrc)
      : undefined;
  const normalized: VerifiedMatchInput =
    candidate?.track && typeof candidate.track === 'object'
      ? { ...input, track: { ...input.track, isrc: isrc as string } }
      : input;
  const problems = matchProblems(normalized);
  if (problems.length > 0) throw unverified(problems, 'createVerifiedMatch');
  const { track, media, verification } = normalized;
  const match = {
    track: Object.freeze({
      ...structuredClone(track),
      ids: Object.freeze({ ...track.ids }),
    }),
    media: Object.freeze({
      ...structuredClone(media),
      formats: Object.freeze(
        media.formats.map((format) => Object.freeze(structuredClone(format))),
      ) as MediaFormat[],
    }),
    verification: Object.freeze({ method: verification.method, isrcSource: verification.isrcSource }),
    verifiedAt: normalized.verifiedAt ?? now,
  };
  Object.defineProperty(match, verifiedMatchMarker, { value: true, enumerable: false });
  return Object.freeze(match) as VerifiedMatch;
}

/**
 * The registry's write-time check: `value` must carry the brand of {@link createVerifiedMatch} and still pass
 * every content check.
 *
 * @throws NexStreamError `NXS_UNVERIFIED_MATCH`; nothing is written.
 */
export function assertVerifiedMatch(value: unknown, where: string): asserts value is VerifiedMatch {
  if (
    typeof value !== 'object' ||
    value === null ||
    (value as Record<symbol, unknown>)[verifiedMatchMarker] !== true
  ) {
    throw unverified(
      ['it was not built by createVerifiedMatch (from @nexstream/registry/verification)'],
      where,
    );
  }
  const problems = matchProblems(value as VerifiedMatchInput);
  if (problems.length > 0) throw unverified(problems, where);
}
