/**
 * `@nexstream/registry/verification`: the one way to build a {@link VerifiedMatch}, for the resolver's
 * verification step. Kept out of the main entry on purpose: code that merely reads or writes the registry
 * should hold matches, not make them.
 *
 * @packageDocumentation
 */
export {
  createVerifiedMatch,
  type RegistryMedia,
  type RegistryTrack,
  type Verification,
  type VerificationMethod,
  type VerifiedMatch,
  type VerifiedMatchInput,
  verifiedDurationToleranceMs,
  youtubeVideoId,
} from './verified-match.js';
