/**
 * `@nexstream/resolver/engines`: for people who write or tune engines. The engine contract (metadata, video
 * and query engines, their options and results), each built-in engine's factory and settings, the HTTP
 * client and rate limiter they share, and the YouTube Music result mapping. An application needs none of
 * this: `createDefaultEngines` and `createResolver` from `@nexstream/resolver` build and race them.
 *
 * @packageDocumentation
 */
export { createDeezerEngine, type DeezerSettings } from './deezer-engine.js';
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
export { createGeminiEngine, type GeminiSettings } from './gemini-engine.js';
export { createGroqEngine, type GroqSettings } from './groq-engine.js';
export {
  createHttpClient,
  type FetchFunction,
  type HttpClient,
  type HttpClientOptions,
  type HttpEngineSettings,
  type HttpRequestOptions,
  type HttpResponse,
  type RetryPolicy,
} from './http-client.js';
export { createItunesEngine, type ItunesSettings } from './itunes-engine.js';
export { describeTrack, parseSynthesizedQuery, queryInstructions } from './llm-query.js';
export { createMusicBrainzEngine, type MusicBrainzSettings } from './musicbrainz-engine.js';
export { createOdesliEngine, type OdesliSettings } from './odesli-engine.js';
export {
  type Clock,
  createRateLimiter,
  type RateLimit,
  type RateLimiter,
  type RateLimiterOptions,
  serviceRateLimits,
} from './rate-limiter.js';
export { createSoundchartsEngine, type SoundchartsSettings } from './soundcharts-engine.js';
export { createSpotifyEngine, type SpotifySettings } from './spotify-engine.js';
export { createYoutubeEngine, defaultYoutubeExtractors, type YoutubeSettings } from './youtube-engine.js';
export { createYoutubeMusicEngine, type YoutubeMusicSettings } from './youtube-music-engine.js';
export {
  type MusicSearchEntry,
  type MusicTextRun,
  mapMusicSearch,
  type YoutubeMusicResultType,
} from './youtube-music-format.js';
