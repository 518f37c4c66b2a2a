import type { MatchGrade, NexStreamEvent, PublicMedia, TrackMetadata } from '@nexstream/core';
import type { RegistryKey, VerificationMethod, VerifiedMatch } from '@nexstream/registry';
import type { VideoCandidate } from './engine.js';
import type { CandidateScore } from './match-scorer.js';
import type { EngineFailure, RaceInput } from './race.js';
import type { EventSession } from './resolution-session.js';

// The shapes of one resolution, shared by the resolver and the seeder (which runs resolutions in bulk), so that
// neither imports the other.

/** The verification behind a stored match. */
export interface ResolutionVerification {
  method: VerificationMethod;
  /** The authoritative ISRC. */
  isrc: string;
  /** The engine that gave it. */
  isrcSource: string;
}

/** The final result of a resolution. */
export interface Resolution {
  track: TrackMetadata;
  /**
   * The media with its formats (empty when extraction was skipped, as the seeder does), without origin URLs
   * or headers: safe to send to clients. Where the bytes are is the server's business:
   * the resolver's `media(mediaId)` gives the handle the tunnel reads.
   */
  media: PublicMedia;
  mediaId: string;
  grade: MatchGrade;
  via: 'registry' | 'race' | 'override';
  /** The winning candidate and its score (absent for registry hits). */
  candidate?: VideoCandidate;
  score?: CandidateScore;
  /** Present when the match is ISRC-verified. */
  verification?: ResolutionVerification;
  /** The registry's verified match, when one was built. */
  verifiedMatch?: VerifiedMatch;
  /** True when this resolution wrote the match to the registry. */
  written: boolean;
  /** Engine calls that failed on the way (the race went on without them). */
  failures: EngineFailure[];
  /** Milliseconds from the start to the `settled` event. */
  settledMs: number;
  /** Milliseconds from the start to the end. */
  elapsedMs: number;
}

/** A resolution in progress: an async iterable of core's events and a promise of the {@link Resolution}. */
export type ResolutionSession = EventSession<NexStreamEvent, Resolution>;

/** What the resolver runs for one request (also used by the seeder). */
export interface ResolutionRequest {
  input: RaceInput;
  /** The registry key of the input, when it has one. */
  registryKey?: RegistryKey;
  override?: string;
  /** Extract the winner's formats (yt-dlp `-J`). Default true. */
  extract?: boolean;
  /** Write a verified match to the registry. Default: the resolver's `writeVerified`. */
  write?: boolean;
}

/** Internal: runs one request and reports through `emit`. */
export type ResolutionRunner = (
  request: ResolutionRequest,
  context: { emit(event: NexStreamEvent): void; signal: AbortSignal; startedAt: number },
) => Promise<Resolution>;
