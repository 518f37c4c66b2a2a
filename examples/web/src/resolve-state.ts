import type {
  CandidateEvent,
  LogEvent,
  MatchGrade,
  NexStreamEvent,
  SettledEvent,
  TrackMetadata,
} from '@nexstream/core';
import type { ApiError } from './api';
import type { PageMedia } from './download-options';

/**
 * Where a resolution is, as the page shows it:
 * - `idle`: nothing asked yet;
 * - `resolving`: the services are looking for the track and its video (Cancel + spinner);
 * - `finding-media`: the match is chosen, the download formats are being read (still Cancel + spinner);
 * - `ready`: the download panel is there (the finished state);
 * - `failed`: the error says what happened and what to do;
 * - `cancelled`: the person stopped it.
 */
export type ResolvePhase = 'idle' | 'resolving' | 'finding-media' | 'ready' | 'failed' | 'cancelled';

/** What a service did in this resolution, for the progress line. */
export type ServiceState = 'answered' | 'failed';

/** The page's view of one resolution, built from its events by {@link resolveReducer}. */
export interface ResolveState {
  phase: ResolvePhase;
  /** The input being resolved, and the video the person picked (an override), if any. */
  input: string;
  pick?: string;
  track?: TrackMetadata;
  /** Engines that gave metadata, in arrival order (`spotify`, `musicbrainz`, `registry`, …). */
  sources: string[];
  /** True once a source proved the ISRC (an authoritative `metadata` event). */
  isrcVerified: boolean;
  candidates: CandidateEvent[];
  settled?: SettledEvent;
  media?: PageMedia;
  /** Services (plain names) and what they did, in the order they were heard from. */
  services: Array<{ name: string; state: ServiceState }>;
  /** The race's current step (`tier N` progress events): 0 catalogues, 1 video search, 2 smarter search. */
  step?: number;
  /** Log events, numbered in arrival order (`seq`, the React key). */
  logs: Array<LogEvent & { seq: number }>;
  logSeq: number;
  error?: ApiError;
  /** A failed pick leaves the previous match in place; this says the pick failed. */
  pickError?: ApiError;
  elapsedMs?: number;
  /** The match before a pick, restored when the pick fails. */
  previous?: { settled?: SettledEvent; media?: PageMedia; elapsedMs?: number };
}

export const initialResolveState: ResolveState = {
  phase: 'idle',
  input: '',
  sources: [],
  isrcVerified: false,
  candidates: [],
  services: [],
  logs: [],
  logSeq: 0,
};

export type ResolveAction =
  | { type: 'start'; input: string }
  /** Another candidate: keeps the track, sources and candidates (only the match changes). */
  | { type: 'pick'; url: string }
  | { type: 'event'; event: NexStreamEvent }
  | { type: 'cancel' }
  /** The stream closed before `done`, with the reason when the server gave one. */
  | { type: 'connection-lost'; error?: ApiError };

/** Service names for people, by engine id (an engine id may carry a suffix: `youtube:isrc`). */
const serviceNames: Record<string, string> = {
  spotify: 'Spotify',
  deezer: 'Deezer',
  itunes: 'Apple Music',
  apple: 'Apple Music',
  musicbrainz: 'MusicBrainz',
  soundcharts: 'Soundcharts',
  odesli: 'Songlink',
  youtube: 'YouTube',
  'youtube-music': 'YouTube Music',
  youtubeMusic: 'YouTube Music',
  'yt-dlp': 'YouTube',
  groq: 'AI search helper',
  gemini: 'AI search helper',
  registry: 'NexStream registry',
  override: 'your pick',
};

/** The plain name of an engine (`youtube:isrc` → `YouTube`). */
export function serviceName(engine: string): string {
  return serviceNames[engine] ?? serviceNames[engine.split(':')[0] ?? ''] ?? engine;
}

/** A grade in words for people. */
export const gradeWords: Record<MatchGrade, string> = {
  verified: 'confirmed by its ISRC',
  exact: 'exact match',
  strong: 'good match',
  fuzzy: 'likely match',
  rejected: 'not a match',
};

/** What the race's steps are doing, for the progress line (`tier N` of the `progress` events). */
export const stepWords = [
  'checking the music catalogues',
  'searching for the video',
  'trying smarter searches for the video',
] as const;

/** Merges metadata from several engines: the first answer shows at once, later ones fill the gaps. */
function mergeTrack(current: TrackMetadata | undefined, next: TrackMetadata): TrackMetadata {
  if (!current) return next;
  return {
    ...next,
    ...current,
    album: current.album ?? next.album,
    isrc: current.isrc ?? next.isrc,
    durationMs: current.durationMs ?? next.durationMs,
    releaseDate: current.releaseDate ?? next.releaseDate,
    coverArt: { ...next.coverArt, ...current.coverArt },
    ids: { ...next.ids, ...current.ids },
  };
}

function heard(state: ResolveState, engine: string, serviceState: ServiceState): ResolveState['services'] {
  const name = serviceName(engine);
  const known = state.services.find((service) => service.name === name);
  // An answer wins over an earlier failure of another call of the same service.
  if (known && (known.state === 'answered' || serviceState === 'failed')) return state.services;
  if (known)
    return state.services.map((service) => (service.name === name ? { name, state: serviceState } : service));
  return [...state.services, { name, state: serviceState }];
}

/** `spotify look-up spotify:… failed: NXS_UNREACHABLE …` (the race's warning when a call fails). */
const failedCall = /^(\S+) .* failed: NXS_/;

/** True while the page waits for the server (Cancel and a spinner are shown). */
export function isBusy(phase: ResolvePhase): boolean {
  return phase === 'resolving' || phase === 'finding-media';
}

/** The state machine of one resolution (see {@link ResolvePhase}). */
export function resolveReducer(state: ResolveState, action: ResolveAction): ResolveState {
  switch (action.type) {
    case 'start':
      return { ...initialResolveState, phase: 'resolving', input: action.input };
    case 'pick': {
      const { track, sources, isrcVerified, candidates, services, settled, media, elapsedMs, logs, logSeq } =
        state;
      return {
        ...initialResolveState,
        phase: 'resolving',
        input: state.input,
        pick: action.url,
        sources,
        isrcVerified,
        candidates,
        services,
        logs,
        logSeq,
        ...(track ? { track } : {}),
        previous: {
          ...(settled ? { settled } : {}),
          ...(media ? { media } : {}),
          ...(elapsedMs !== undefined ? { elapsedMs } : {}),
        },
      };
    }
    case 'cancel':
      return isBusy(state.phase)
        ? fail(state, { code: 'NXS_ABORTED', message: 'cancelled' }, 'cancelled')
        : state;
    case 'connection-lost':
      return isBusy(state.phase)
        ? fail(
            state,
            action.error ?? { code: 'NXS_CONNECTION_LOST', message: 'the connection to the server was lost' },
          )
        : state;
    case 'event':
      return onEvent(state, action.event);
  }
}

/** A failure; a failed pick restores the match it was meant to replace. */
function fail(state: ResolveState, error: ApiError, phase: ResolvePhase = 'failed'): ResolveState {
  const previous = state.previous;
  if (state.pick && previous?.settled && previous.media) {
    const { elapsedMs } = previous;
    return {
      ...state,
      phase: 'ready',
      settled: previous.settled,
      media: previous.media,
      ...(elapsedMs !== undefined ? { elapsedMs } : {}),
      pickError: error,
      previous: undefined,
      pick: undefined,
    };
  }
  return { ...state, phase, error };
}

function onEvent(state: ResolveState, event: NexStreamEvent): ResolveState {
  switch (event.type) {
    case 'metadata':
      return {
        ...state,
        track: mergeTrack(state.track, event.track),
        sources: state.sources.includes(event.engine) ? state.sources : [...state.sources, event.engine],
        isrcVerified: state.isrcVerified || event.authoritative,
        services: heard(state, event.engine, 'answered'),
      };
    case 'candidate':
      return {
        ...state,
        candidates: [
          ...state.candidates.filter((item) => item.candidate.mediaId !== event.candidate.mediaId),
          event,
        ].sort((a, b) => b.score - a.score),
        services: event.engine === 'override' ? state.services : heard(state, event.engine, 'answered'),
      };
    case 'progress':
      if (event.phase !== 'race') return state;
      return { ...state, step: Math.max(state.step ?? 0, event.done) };
    case 'log': {
      const failed = event.level === 'warn' ? failedCall.exec(event.message)?.[1] : undefined;
      return {
        ...state,
        logs: [...state.logs.slice(-400), { ...event, seq: state.logSeq + 1 }],
        logSeq: state.logSeq + 1,
        ...(failed ? { services: heard(state, failed, 'failed') } : {}),
      };
    }
    case 'settled':
      return {
        ...state,
        phase: state.phase === 'resolving' ? 'finding-media' : state.phase,
        settled: event,
        // The settled track is the reference; what other sources added (album, ISRC, cover) stays.
        track: mergeTrack(event.track, state.track ?? event.track),
        services: event.via === 'registry' ? heard(state, 'registry', 'answered') : state.services,
      };
    case 'media':
      // The finished state: the download panel can plan with these formats.
      return {
        ...state,
        media: event.media,
        phase: isBusy(state.phase) ? 'ready' : state.phase,
        previous: undefined,
      };
    case 'error':
      return isBusy(state.phase) ? fail(state, event.error) : state;
    case 'done':
      if (!isBusy(state.phase)) return { ...state, elapsedMs: event.elapsedMs };
      return fail(state, { code: 'NXS_NO_MATCH', message: 'the resolution ended without a match' });
    default:
      return state;
  }
}
