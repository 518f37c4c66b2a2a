import type {
  CoverArt,
  LogEvent,
  MediaFormat,
  Platform,
  PlatformIds,
  ResolvedMedia,
  TrackMetadata,
  TrackRef,
} from '@nexstream/core';

/**
 * When the race starts an engine: tier 0 at T+0 (ISRC sources, ISRC video search), tier 1 at T+1500 ms
 * (cross-platform mapping, fuzzy metadata, plain video search), tier 2 at T+6000 ms (LLM query synthesis).
 * The delays themselves belong to the race; an engine only states where it fits.
 */
export type EngineTier = 0 | 1 | 2;

/**
 * What a metadata engine can do; each capability maps to one optional `do…` method (`isrc` →
 * `doFindByIsrc`, `search` → `doSearch`, `lookup` → `doLookup`), and an engine lists exactly the methods it
 * has. The race calls a metadata engine's method when it is present; `capabilities` says the same thing as
 * data, for applications and logs that list what an engine set can do.
 */
export type MetadataCapability = 'isrc' | 'search' | 'lookup';

/**
 * What a video engine can do. The race reads it: `isrc-search` engines run the tier-0 ISRC search, `search`
 * engines the plain searches, and the resolver extracts media with the first `extract` engine.
 */
export type VideoCapability = 'search' | 'isrc-search' | 'extract';

/** Options every engine call takes. */
export interface EngineCallOptions {
  /** Aborts the call: the HTTP request is cancelled, a child process is killed. */
  signal?: AbortSignal;
  /**
   * Receives log lines for telemetry panels (request retries, rate-limit waits, yt-dlp stderr).
   * Never receives secrets.
   */
  onLog?: (event: LogEvent) => void;
}

/**
 * A track as the race knows it, used to build searches: the fields of core's `TrackMetadata` a search may use
 * (`artists` main artist first, `durationMs` in milliseconds). The race passes its own `TrackMetadata`, which
 * is a `TrackQuery` as it is, so a search sees the same facts as the scorer; an engine reads these fields and
 * never changes them.
 */
export type TrackQuery = Pick<
  TrackMetadata,
  'title' | 'artists' | 'album' | 'durationMs' | 'isrc' | 'explicit'
>;

/** Track metadata from one engine, with where it came from and how far its ISRC can be trusted. */
export interface MetadataResult {
  /** The engine id that produced it (`deezer`, `musicbrainz`, …). */
  engine: string;
  track: TrackMetadata;
  /**
   * True only when `track.isrc` belongs to this very recording according to a source that holds ISRCs:
   * Deezer full track objects (`/track/{id}`, `/track/isrc:`), MusicBrainz ISRC look-ups and recordings with
   * a single ISRC, Soundcharts. False when the ISRC is absent or only a hint (Spotify's Web API). The race
   * must still check that title, artists and duration agree before calling a match ISRC-verified.
   */
  isrcAuthoritative: boolean;
  /** The item's page on the service, for people. */
  url?: string;
  /** The service's own relevance for search results, 0–1, when it reports one (MusicBrainz `score`). */
  relevance?: number;
  /**
   * `false` when the service lists the item but says it cannot be played (Deezer `readable: false`, a
   * track withdrawn or not licensed in the storefront). The metadata is still the catalogue's; absent means
   * the service said nothing against playing it.
   */
  playable?: false;
  /**
   * `true` when the service files the item as a video recording, not audio (MusicBrainz `video: true`):
   * its length and version may be the video's, so it should not stand in for the audio recording.
   */
  video?: true;
  /**
   * The id the service actually served when it swapped in another copy of the item (Spotify track
   * relinking: the Web API answers with another id and names the requested one in `linked_from`).
   * `track.ids` keeps the requested id, so the id and `url` agree with what the caller asked for.
   */
  relinkedId?: string;
}

/**
 * A platform item to look up: the identifying fields of the `platform` variant of core's `TrackRef`
 * (`platform`, `kind`, `id`, the storefront `region` that iTunes reads as `country` and Odesli as
 * `userCountry`). A parsed link is a `LookupRef` as it is, and the resolver and the seeder pass it so; an
 * engine's own follow-up look-ups build one from a platform id.
 */
export interface LookupRef
  extends Pick<Extract<TrackRef, { type: 'platform' }>, 'platform' | 'kind' | 'id' | 'region'> {
  /** The canonical URL, when known (Odesli can look up by URL). */
  url?: string;
}

/** A single track found by {@link MetadataEngine.doLookup}. */
export interface TrackLookupResult {
  kind: 'track';
  result: MetadataResult;
}

/** An album, playlist or artist found by {@link MetadataEngine.doLookup}, with its tracks (what the seeder lists). */
export interface CollectionLookupResult {
  kind: 'album' | 'playlist' | 'artist';
  engine: string;
  /** Album or playlist title, or the artist's name. */
  title: string;
  artists: string[];
  coverArt?: CoverArt;
  ids: PlatformIds;
  /** The tracks the service listed (an artist: its top tracks). */
  tracks: MetadataResult[];
  /** The service's total when it has more tracks than listed. */
  total?: number;
  url?: string;
}

/** What {@link MetadataEngine.doLookup} returns. */
export type LookupResult = TrackLookupResult | CollectionLookupResult;

/** Options for {@link MetadataEngine.doFindByIsrc}. */
export interface FindByIsrcOptions extends EngineCallOptions {
  /** Any spelling (`GB-DUW-00-00059`, lower case); engines normalize it. */
  isrc: string;
}

/** Options for {@link MetadataEngine.doSearch}: a structured track (preferred) or free text. */
export type SearchOptions = EngineCallOptions & { limit?: number } & (
    | { track: TrackQuery; query?: undefined }
    | { query: string; track?: undefined }
  );

/** Options for {@link MetadataEngine.doLookup}. */
export interface LookupOptions extends EngineCallOptions {
  ref: LookupRef;
}

/**
 * One adapter to one metadata service. Methods the race calls are prefixed `do…` (as in the AI SDK) so
 * applications don't call them by accident; an engine that lacks a capability omits the method and its
 * entry in `capabilities`.
 *
 * The conventions every engine follows (the built-in ones live in `src/engines/<provider>/`):
 *
 * - **Not found is an answer, not an error.** `doFindByIsrc` and `doLookup` return `null`, `doSearch`
 *   returns `[]`, when the service has no such item: an HTTP 404 for the item or search asked about, or the
 *   service's own spelling of it (Deezer error 800, Soundcharts 410, Odesli 400). The race counts an empty
 *   answer as "this engine found nothing" and keeps racing; a thrown error is an engine failure, reported
 *   in `EngineFailure` and, when every engine fails, in the race's error. Built-in engines do this with one
 *   helper (`unlessNotFound` in `src/engines/shared/not-found.ts`).
 * - **Every other failure is a `NexStreamError`** with a stable code, and `retryable` / `retryAfterMs`
 *   saying whether and when to try again. A service's HTTP status and JSON error body are read in one
 *   place, the shared HTTP client's `serviceStatusError` (401 `NXS_UNAUTHORIZED`, 403 `NXS_FORBIDDEN`,
 *   429 `NXS_RATE_LIMITED` with `retryAfterMs`, 5xx retryable `NXS_UPSTREAM`); errors a service reports
 *   inside a 200 body are the engine's own check. Input the engine cannot take (a malformed ISRC, a
 *   platform it does not cover) is `NXS_INVALID_INPUT`.
 * - **Credentials** come from the engine's settings, falling back to documented env vars (`settings.env`,
 *   default `process.env`). An engine that cannot work without them (Soundcharts, Groq, Gemini) throws
 *   `NXS_INVALID_INPUT` naming the options and env vars from its factory, so a misconfiguration shows at
 *   start-up; `createDefaultEngines` leaves such an engine out when its keys are not set. Optional
 *   credentials (Spotify's Web API, Odesli's key) only switch features on, and never fail construction.
 */
export interface MetadataEngine {
  readonly kind: 'metadata';
  /** Stable id used in events and logs (`deezer`, `itunes`, …). */
  readonly id: string;
  readonly tier: EngineTier;
  readonly capabilities: readonly MetadataCapability[];
  /** Platforms whose ids `doLookup` accepts (empty when it cannot look up). */
  readonly lookupPlatforms: readonly Platform[];
  /** Whether any result of this engine can carry an authoritative ISRC (see {@link MetadataResult}). */
  readonly provesIsrc: boolean;
  /** The recording with this ISRC, or `null`. */
  doFindByIsrc?(options: FindByIsrcOptions): Promise<MetadataResult | null>;
  /** Recordings matching a track or a query, best first (the service's order). */
  doSearch?(options: SearchOptions): Promise<MetadataResult[]>;
  /** A track, album, playlist or artist by platform id, or `null`. */
  doLookup?(options: LookupOptions): Promise<LookupResult | null>;
  /** Releases the engine's connection pools; in-flight calls are aborted. */
  close(): Promise<void>;
}

/** Track fields yt-dlp parsed from an auto-generated ("… - Topic") upload: exact catalogue strings. */
export interface ArtTrack {
  title: string;
  artists: string[];
  album?: string;
  /** `YYYY-MM-DD` or `YYYY`. */
  releaseDate?: string;
}

/** A video found by a search or an extraction, before scoring. */
export interface VideoCandidate {
  engine: string;
  /** `youtube:<id>` (or `generic:<id>` for other sites). */
  mediaId: string;
  /** The site's own id. */
  id: string;
  /** Watch page URL. */
  url: string;
  title: string;
  channel?: string;
  channelId?: string;
  /** The channel has the verified badge. */
  channelVerified?: boolean;
  durationMs?: number;
  viewCount?: number;
  /** A live stream or a premiere, not a recording. */
  live?: boolean;
  thumbnailUrl?: string;
  /** Present when the upload is an art track (a "… - Topic" channel or parsed catalogue fields). */
  artTrack?: ArtTrack;
  /** The ISRC whose search found this video; ties the video to that ISRC for verification. */
  foundByIsrc?: string;
  /**
   * What kind of upload the result is, from the search service's own marker (YouTube Music's `musicVideoType`;
   * absent for yt-dlp results): `art-track` (ATV, the label's audio with the release's catalogue fields),
   * `official-video` (OMV, the artist's music video), `user-upload` (UGC, anyone's upload), `episode` (a
   * podcast episode).
   */
  resultType?: 'art-track' | 'official-video' | 'user-upload' | 'episode';
  /**
   * Every credited artist, in the service's order, with the artist's (or, for a user upload, the uploader's)
   * channel id when the credit links to one. `channel` / `channelId` repeat the first credit.
   */
  credits?: Array<{ name: string; channelId?: string }>;
  /** The release the result belongs to, with the service's album id (YouTube Music `MPREb_…`) when known. */
  album?: { title: string; id?: string };
  /** The service shows the explicit badge; `false` when it labels songs and this one has no badge. */
  explicit?: boolean;
  /** Plays of a song as YouTube Music counts them (rounded as displayed: `3.6M` → 3,600,000). `viewCount` stays views. */
  plays?: number;
  /** 1-based position among the playable results of the search that found it. */
  rank?: number;
  /** Came from the search's top-result shelf (YouTube Music's top-result card). */
  topResult?: boolean;
}

/** A media format with yt-dlp's transport details, which the tunnel needs for fragmented protocols. */
export interface VideoFormat extends MediaFormat {
  /** yt-dlp `protocol`: `https`, `http_dash_segments`, `m3u8_native`, … */
  protocol?: string;
  /** The manifest the format came from (DASH/HLS), when any. */
  manifestUrl?: string;
}

/** The result of a full extraction: the media with its formats, and the candidate view of the video. */
export interface ExtractedMedia {
  media: ResolvedMedia & { formats: VideoFormat[] };
  candidate: VideoCandidate;
}

/** Options for {@link VideoEngine.doSearchVideos}. */
export interface VideoSearchOptions extends EngineCallOptions {
  query: string;
  /** Number of results, 1–50. */
  limit?: number;
}

/** Options for {@link VideoEngine.doSearchByIsrc}. */
export interface VideoIsrcSearchOptions extends EngineCallOptions {
  isrc: string;
  limit?: number;
}

/** Options for {@link VideoEngine.doExtract}: a video id (of the engine's site) or a URL. */
export interface ExtractOptions extends EngineCallOptions {
  id?: string;
  url?: string;
  /** A yt-dlp format selector; defaults to the engine's (`bv*+ba/b`). */
  format?: string;
}

/**
 * A media source (YouTube through yt-dlp, YouTube Music): searches videos and extracts their formats. The
 * conventions of {@link MetadataEngine} hold: a search that finds nothing (a 404 included) is `[]`. The one
 * exception is `doExtract`: extracting a video that does not exist is `NXS_NOT_FOUND`, because the caller
 * named that very video and has nothing else to fall back to.
 */
export interface VideoEngine {
  readonly kind: 'video';
  readonly id: string;
  /** 0: its ISRC search runs in the first tier (the race runs plain searches later). */
  readonly tier: EngineTier;
  readonly capabilities: readonly VideoCapability[];
  doSearchVideos(options: VideoSearchOptions): Promise<VideoCandidate[]>;
  doSearchByIsrc(options: VideoIsrcSearchOptions): Promise<VideoCandidate[]>;
  doExtract(options: ExtractOptions): Promise<ExtractedMedia>;
  /** Kills the engine's running processes. */
  close(): Promise<void>;
}

/** A search query an LLM built for a track. */
export interface SynthesizedQuery {
  engine: string;
  /** The query to run first. */
  query: string;
  /** Other queries worth trying, best first. */
  alternatives: string[];
}

/** Options for {@link QueryEngine.doSynthesizeQuery}. */
export interface SynthesizeQueryOptions extends EngineCallOptions {
  track: TrackQuery;
}

/**
 * An LLM that turns a track into a precise video search query (the race's last tier). It has no "not found":
 * every failure, a 404 for an unknown model included, is a `NexStreamError` (see {@link MetadataEngine}).
 */
export interface QueryEngine {
  readonly kind: 'query';
  readonly id: string;
  readonly tier: EngineTier;
  readonly capabilities: readonly ['query'];
  doSynthesizeQuery(options: SynthesizeQueryOptions): Promise<SynthesizedQuery>;
  close(): Promise<void>;
}

/** Any engine; discriminate on `kind`. */
export type Engine = MetadataEngine | VideoEngine | QueryEngine;
