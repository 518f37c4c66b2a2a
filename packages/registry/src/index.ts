/**
 * `@nexstream/registry`: the store of ISRC-verified mappings ("Spotify track X = ISRC Y = YouTube video Z"),
 * the tracks' metadata and the media's volatile links, on libSQL: an embedded file by default, Turso or sqld
 * over the network, or an embedded replica. Matches are built by `createVerifiedMatch` from
 * `@nexstream/registry/verification`.
 *
 * @packageDocumentation
 */
export { schemaVersion } from './migrations/index.js';
export { createRegistry, defaultDatabaseFileName, type RegistryOptions } from './registry.js';
export type {
  DeepReadonly,
  DueLink,
  LinkState,
  RefreshOutcome,
  RefreshRecord,
  Registry,
  RegistryConnectionOptions,
  RegistryEntry,
  RegistryKey,
  RegistryStats,
} from './types.js';
export {
  maximumDurationMs,
  minimumDurationMs,
  platformIdPatterns,
  type RegistryMedia,
  type RegistryTrack,
  type Verification,
  type VerificationMethod,
  type VerifiedMatch,
  verifiedDurationToleranceMs,
} from './verified-match.js';
