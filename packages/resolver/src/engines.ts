/**
 * `@nexstream/resolver/engines`: for people who write or tune engines. The engine contract (metadata, video
 * and query engines, their options and results), each built-in engine's factory and settings, the HTTP
 * client and rate limiter they share, and the YouTube Music result mapping. An application needs none of
 * this: `createDefaultEngines` and `createResolver` from `@nexstream/resolver` build and race them.
 *
 * @packageDocumentation
 */

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
export { createDeezerEngine, type DeezerSettings } from './engines/deezer/deezer-engine.js';
export { createGeminiEngine, type GeminiSettings } from './engines/gemini/gemini-engine.js';
export { createGroqEngine, type GroqSettings } from './engines/groq/groq-engine.js';
export { createItunesEngine, type ItunesSettings } from './engines/itunes/itunes-engine.js';
export {
  createMusicBrainzEngine,
  type MusicBrainzSettings,
} from './engines/musicbrainz/musicbrainz-engine.js';
export { createOdesliEngine, type OdesliSettings } from './engines/odesli/odesli-engine.js';
export {
  createHttpClient,
  type FetchFunction,
  type HttpClient,
  type HttpClientOptions,
  type HttpEngineSettings,
  type HttpRequestOptions,
  type HttpResponse,
  type RetryPolicy,
} from './engines/shared/http-client.js';
export { describeTrack, parseSynthesizedQuery, queryInstructions } from './engines/shared/llm-query.js';
export {
  type Clock,
  createRateLimiter,
  type RateLimit,
  type RateLimiter,
  type RateLimiterOptions,
  serviceRateLimits,
} from './engines/shared/rate-limiter.js';
export {
  createSoundchartsEngine,
  type SoundchartsSettings,
} from './engines/soundcharts/soundcharts-engine.js';
export { createSpotifyEngine, type SpotifySettings } from './engines/spotify/spotify-engine.js';
export {
  createYoutubeEngine,
  defaultYoutubeExtractors,
  type YoutubeSettings,
} from './engines/youtube/youtube-engine.js';
export {
  createYoutubeMusicEngine,
  type YoutubeMusicSettings,
} from './engines/youtube-music/youtube-music-engine.js';
export {
  type MusicSearchEntry,
  type MusicTextRun,
  mapMusicSearch,
  type YoutubeMusicResultType,
} from './engines/youtube-music/youtube-music-format.js';
