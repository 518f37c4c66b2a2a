/**
 * `@nexstream/resolver`: metadata engines raced in staggered tiers, the match scorer, yt-dlp media
 * extraction, just-in-time link refresh and the bulk seeder. This release ships the engines: one adapter
 * per outside service, the YouTube source through yt-dlp, and the LLM query synthesizers.
 *
 * @packageDocumentation
 */
export {
  createDeezerEngine,
  type DeezerSettings,
  deezerAdvancedQuery,
  deezerBodyError,
  deezerErrorCodes,
  mapDeezerTrack,
} from './deezer-engine.js';
export { createDefaultEngines, type DefaultEnginesOptions, type EngineSet } from './default-engines.js';
export type {
  ArtTrack,
  CollectionLookupResult,
  Engine,
  EngineCallOptions,
  EngineTier,
  ExtractedMedia,
  ExtractOptions,
  FindByIsrcOptions,
  LookupOptions,
  LookupRef,
  LookupResult,
  MetadataCapability,
  MetadataEngine,
  MetadataResult,
  QueryEngine,
  SearchOptions,
  SynthesizedQuery,
  SynthesizeQueryOptions,
  TrackLookupResult,
  TrackQuery,
  VideoCandidate,
  VideoCapability,
  VideoEngine,
  VideoFormat,
  VideoIsrcSearchOptions,
  VideoSearchOptions,
} from './engine.js';
export { createGeminiEngine, type GeminiSettings, geminiQuerySchema } from './gemini-engine.js';
export { createGroqEngine, type GroqSettings } from './groq-engine.js';
export {
  createHttpClient,
  type FetchFunction,
  type HttpClient,
  type HttpClientOptions,
  type HttpEngineSettings,
  type HttpRequestOptions,
  type HttpResponse,
  parseGoogleRetryDelay,
  parseRetryAfter,
  type RetryPolicy,
  redactUrl,
} from './http-client.js';
export { createItunesEngine, type ItunesSettings, itunesArtwork, mapItunesTrack } from './itunes-engine.js';
export {
  type BackgroundRefreshOptions,
  createLinkRefresher,
  type LinkRefresher,
  type LinkRefresherOptions,
  type RefreshOptions,
  type RefreshPassReport,
} from './link-refresher.js';
export { describeTrack, parseSynthesizedQuery, queryInstructions } from './llm-query.js';
export {
  type CandidateScore,
  type ChannelKind,
  channelKindScores,
  defaultMatchThresholds,
  durationCloseness,
  durationRejectLimitMs,
  explicitMismatchPenalty,
  extraGuestPenalty,
  type MatchCandidate,
  type MatchThresholds,
  matchWeights,
  maxVersionPenalty,
  maxViewsBonus,
  meetsGrade,
  missingArtistPenalty,
  missingVersionPenalty,
  musicVideoGapPenalty,
  type RankedCandidate,
  radioEditPenalty,
  rankCandidates,
  remasterConflictPenalty,
  type ScoreOptions,
  scoreCandidate,
  strongDurationGapMs,
  unexplainedBracketPenalty,
  type VersionTag,
  verifiedDurationToleranceMs,
  versionPenalty,
} from './match-scorer.js';
export {
  createMusicBrainzEngine,
  type MusicBrainzSettings,
  mapMusicBrainzRecording,
  musicBrainzRecordingQuery,
  musicBrainzUserAgent,
} from './musicbrainz-engine.js';
export { createOdesliEngine, mapOdesliLinks, type OdesliSettings } from './odesli-engine.js';
export {
  defaultRaceTimings,
  type EngineFailure,
  plainVideoQuery,
  type RaceContext,
  type RaceEngines,
  type RaceInput,
  type RaceOutcome,
  type RaceRun,
  type RaceTimings,
  runRace,
  type ScoredCandidate,
  type SettlementDecision,
  type SettlementState,
  settlementDecision,
} from './race.js';
export {
  type Clock,
  createRateLimiter,
  type RateLimit,
  type RateLimiter,
  type RateLimiterOptions,
  serviceRateLimits,
  systemClock,
} from './rate-limiter.js';
export {
  createEventSession,
  type EventSession,
  type EventSessionOptions,
  type SessionRunner,
} from './resolution-session.js';
export {
  createResolver,
  defaultSourceEngines,
  parseOverride,
  type Resolution,
  type ResolutionRequest,
  type ResolutionRunner,
  type ResolutionSession,
  type ResolutionVerification,
  type ResolveOptions,
  type Resolver,
  type ResolverOptions,
} from './resolver.js';
export {
  createSeeder,
  type Seeder,
  type SeederDependencies,
  type SeedFailure,
  type SeedOptions,
  type SeedReport,
  type SeedSession,
} from './seeder.js';
export {
  createSoundchartsEngine,
  hasSoundchartsCredentials,
  mapSoundchartsIdentifiers,
  mapSoundchartsSong,
  type SoundchartsSettings,
} from './soundcharts-engine.js';
export {
  createSpotifyEngine,
  mapSpotifyApiTrack,
  mapSpotifyEmbedTrack,
  type SpotifySettings,
  spotifyEmbedEntity,
  spotifySearchQuery,
} from './spotify-engine.js';
export {
  compactText,
  containsWords,
  foldText,
  indelRatio,
  minimumCompactNeedle,
  scriptsOf,
  sharesScript,
  splitArtistCredit,
  textSimilarity,
  tokenize,
  tokenSortRatio,
  type WritingScript,
} from './text-normalize.js';
export { coverArtFromImages, normalizeIsrc, type SizedImage } from './track-fields.js';
export {
  artistAgreement,
  buildVerifiedMatch,
  checkIsrcAuthority,
  type IsrcAuthority,
  type IsrcAuthorityCheck,
  isrcArtistAgreement,
  isrcDurationAgreementMs,
  isrcTitleAgreement,
  raceGrade,
  titleAgreement,
  toMatchCandidate,
  type VerifiedMatchOutcome,
  type VerifiedMatchParts,
  verificationMethodOf,
} from './verification.js';
export {
  createYoutubeEngine,
  defaultYoutubeExtractors,
  type YoutubeSettings,
  ytDlpError,
} from './youtube-engine.js';
export {
  artTrackOf,
  expiryFromUrl,
  mapVideoCandidate,
  mapYtDlpFormat,
  parseArtTrackDescription,
  parseYtDlpSearch,
  parseYtDlpVideo,
} from './youtube-format.js';
export {
  createYoutubeMusicEngine,
  type YoutubeMusicSettings,
} from './youtube-music-engine.js';
export {
  type MapMusicEntryOptions,
  type MusicSearchEntry,
  type MusicTextRun,
  mapMusicSearch,
  mapMusicSearchEntry,
  musicCount,
  musicCredits,
  musicDurationMs,
  musicResultType,
  type YoutubeMusicResultType,
} from './youtube-music-format.js';
