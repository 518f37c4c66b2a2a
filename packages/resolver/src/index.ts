/**
 * `@nexstream/resolver`: what an application needs to resolve a link, an ISRC or free text to the right
 * recording and its media. `createDefaultEngines` builds the engines from the environment, `createResolver`
 * races them in staggered tiers (sessions of core's events with a `result`), `createLinkRefresher` keeps
 * stored links fresh, `resolver.seed` stores whole albums and artists, and the match scorer explains every
 * pick. Writing an engine of your own: `@nexstream/resolver/engines` (the engine contract and the built-in
 * engines one by one).
 *
 * @packageDocumentation
 */
export { createDefaultEngines, type DefaultEnginesOptions, type EngineSet } from './default-engines.js';
export type { VideoCandidate } from './engine.js';
export { defaultYoutubeExtractors } from './engines/youtube/youtube-engine.js';
export {
  type BackgroundRefreshOptions,
  createLinkRefresher,
  type LinkRefresher,
  type LinkRefresherOptions,
  type RefreshOptions,
  type RefreshPassReport,
} from './link-refresher.js';
export {
  type CandidateScore,
  type ChannelKind,
  defaultMatchThresholds,
  type MatchCandidate,
  type MatchThresholds,
  meetsGrade,
  type RankedCandidate,
  rankCandidates,
  type ScoreOptions,
  scoreCandidate,
  type VersionTag,
} from './match-scorer.js';
export type { FormatOrigin, MediaHandle } from './media-handles.js';
export { defaultRaceTimings, type EngineFailure, type RaceTimings } from './race.js';
export type { Resolution, ResolutionSession, ResolutionVerification } from './resolution.js';
export type { EventSession } from './resolution-session.js';
export {
  createResolver,
  defaultSourceEngines,
  parseOverride,
  type ResolveOptions,
  type Resolver,
  type ResolverOptions,
} from './resolver.js';
export type { SeedFailure, SeedOptions, SeedReport, SeedSession } from './seeder.js';
