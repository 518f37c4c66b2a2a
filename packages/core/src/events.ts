import type { SerializedError } from './errors.js';
import type { PublicMedia, TrackMetadata } from './types.js';

/** Severity of a {@link LogEvent}. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** How strongly a candidate matches the track: `verified` (ISRC-tied), `exact`, `strong`, `fuzzy`, or `rejected`. */
export type MatchGrade = 'verified' | 'exact' | 'strong' | 'fuzzy' | 'rejected';

const gradeRanks: Readonly<Record<MatchGrade, number>> = Object.freeze({
  verified: 4,
  exact: 3,
  strong: 2,
  fuzzy: 1,
  rejected: 0,
});

/** A grade's place in the order `verified` (4) > `exact` > `strong` > `fuzzy` > `rejected` (0), for sorting. */
export function gradeRank(grade: MatchGrade): number {
  return gradeRanks[grade];
}

/**
 * Whether a grade is at least as good as another (`verified` > `exact` > `strong` > `fuzzy` > `rejected`).
 * The race settles at once on `exact` or better and after the stronger tiers on `strong`.
 */
export function meetsGrade(grade: MatchGrade, minimum: MatchGrade): boolean {
  return gradeRanks[grade] >= gradeRanks[minimum];
}

/**
 * How close in duration a video must be to a track to be `verified` or `exact`, in milliseconds: the one
 * tolerance the scorer, the race and the registry's verified-match check share.
 */
export const verifiedDurationToleranceMs = 2000;

/**
 * Whether two durations agree closely enough for a verified or exact match (within
 * {@link verifiedDurationToleranceMs}): the one duration rule of the scorer, the race's ISRC authority check,
 * the verification step and the registry's write check.
 */
export function durationsAgree(aMs: number, bMs: number): boolean {
  return Math.abs(aMs - bMs) <= verifiedDurationToleranceMs;
}

/** Track metadata learned from one engine; the first one arrives before the race settles. */
export interface MetadataEvent {
  type: 'metadata';
  /** The engine that supplied it (e.g. `spotify`, `deezer`). */
  engine: string;
  track: TrackMetadata;
  /** True when the metadata carries an ISRC from an authoritative source. */
  authoritative: boolean;
}

/** A media candidate scored against the track. */
export interface CandidateEvent {
  type: 'candidate';
  engine: string;
  candidate: {
    /** Media id, e.g. `youtube:dQw4w9WgXcQ`. */
    mediaId: string;
    title: string;
    channel?: string;
    durationMs?: number;
    url: string;
  };
  /** Total score, 0–1. */
  score: number;
  /** The score's named parts, each 0–1 (or a negative penalty). */
  parts: Record<string, number>;
  grade: MatchGrade;
  /** Why it was kept or rejected, for people. */
  reason: string;
}

/** Progress of a long operation (a race, a download, a seed). */
export interface ProgressEvent {
  type: 'progress';
  /** What is progressing: `race`, `download`, `mux`, `seed`, … */
  phase: string;
  /** Units done so far (bytes, tracks, tiers). */
  done: number;
  /** Total units when known. */
  total?: number;
  /** Free-form message for people. */
  message?: string;
  /** Units that failed so far (a seed's tracks), counted in `done`. */
  failed?: number;
  /** The unit this event is about, when it reports one (a seed reports each track). */
  item?: ProgressItem;
}

/** One unit of a {@link ProgressEvent}: a seeded track and what became of it. */
export interface ProgressItem {
  /** A stable id for the unit (an ISRC or `platform:id`). */
  id: string;
  /** For people (`Artist - Title`). */
  label: string;
  /** `done`: finished as hoped; `skipped`: nothing to do; `failed`: see `reason`; `unverified`: found but not verified, so not stored. */
  status: 'done' | 'skipped' | 'failed' | 'unverified';
  /** Why it failed or was not verified. */
  reason?: string;
  /** The media it resolved to, when any. */
  mediaId?: string;
}

/** A log line for telemetry panels. Never contains secrets. */
export interface LogEvent {
  type: 'log';
  level: LogLevel;
  /** Who wrote it: an engine id, `yt-dlp`, `race`, `tunnel`. */
  source: string;
  message: string;
  /** Epoch milliseconds. */
  at: number;
}

/** The race settled on a track and a media source. */
export interface SettledEvent {
  type: 'settled';
  track: TrackMetadata;
  mediaId: string;
  grade: MatchGrade;
  /** Where the result came from: `registry`, `race`, `override`. */
  via: 'registry' | 'race' | 'override';
  /** Milliseconds since the operation started. */
  elapsedMs: number;
}

/** The media's formats are known. */
export interface MediaEvent {
  type: 'media';
  /** The media without origin URLs or headers: events are safe to forward to clients as they are. */
  media: PublicMedia;
}

/** The operation failed. */
export interface ErrorEvent {
  type: 'error';
  error: SerializedError;
}

/** The operation is over (after `settled`/`media`, or after `error`). Always the last event. */
export interface DoneEvent {
  type: 'done';
  /** Milliseconds since the operation started. */
  elapsedMs: number;
}

/**
 * The events of a resolution or a delivery, as a discriminated union on `type`. Later packages extend
 * it by union (`NexStreamEvent | MyEvent`); the SSE codec carries any `{ type: string }` object.
 */
export type NexStreamEvent =
  | MetadataEvent
  | CandidateEvent
  | ProgressEvent
  | LogEvent
  | SettledEvent
  | MediaEvent
  | ErrorEvent
  | DoneEvent;

/** The `type` strings of {@link NexStreamEvent}. */
export type NexStreamEventType = NexStreamEvent['type'];

/** The event of a given type. */
export type NexStreamEventOf<T extends NexStreamEventType> = Extract<NexStreamEvent, { type: T }>;

/** All event type names, in the order they usually occur. */
export const nexStreamEventTypes: readonly NexStreamEventType[] = [
  'metadata',
  'candidate',
  'progress',
  'log',
  'settled',
  'media',
  'error',
  'done',
];

/** True when `value` is an object whose `type` is one of {@link nexStreamEventTypes}. */
export function isNexStreamEvent(value: unknown): value is NexStreamEvent {
  return (
    typeof value === 'object' &&
    value !== null &&
    nexStreamEventTypes.includes((value as { type?: unknown }).type as NexStreamEventType)
  );
}
