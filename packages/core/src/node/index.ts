/**
 * `@nexstream/core/node`: the Node-only half of core: the SSE response writer with its replay buffer,
 * locating external programs (ffmpeg, ffprobe, yt-dlp), and the delivery tunnel (signed tokens, parallel
 * range fetching, the outbound-request guard).
 *
 * @packageDocumentation
 */
export {
  type LocatedProgram,
  type LocateProgramOptions,
  locateProgram,
  type ProgramFreshness,
  type ProgramInstall,
  type ProgramName,
  parseVersion,
  programEnvVars,
  programFreshness,
  ytDlpMaxAgeDays,
} from './programs.js';
export {
  defaultTunnelChunkBytes,
  defaultTunnelParallel,
  fetchRanges,
  type RangeFetchEvent,
  type RangeFetchOptions,
} from './range-fetcher.js';
export {
  createSseReplayBuffer,
  type SseReplayBuffer,
  type SseReplayBufferOptions,
  type SseReplayEntry,
  type SseReplayResult,
} from './sse-replay-buffer.js';
export { createSseStream, type SseStream, type SseStreamOptions } from './sse-writer.js';
export {
  contentDisposition,
  createTunnel,
  parseByteRange,
  type Tunnel,
  type TunnelEvent,
  type TunnelLookupContext,
  type TunnelOptions,
  type TunnelTarget,
  tokenFrom,
} from './tunnel.js';
export {
  createTunnelGuard,
  defaultTunnelAllowedHosts,
  type GuardedTarget,
  type TunnelGuard,
  type TunnelGuardOptions,
  type TunnelLookup,
  type TunnelLookupAddress,
} from './tunnel-guard.js';
export {
  type MintTunnelTokenInput,
  maximumTunnelTokenLength,
  minimumTunnelSecretBytes,
  mintTunnelToken,
  type TunnelDisposition,
  type TunnelTokenClaims,
  type TunnelTokenOptions,
  tunnelSecretBytes,
  verifyTunnelToken,
} from './tunnel-token.js';
export {
  createTunnelUpstream,
  safeUrl,
  type TunnelOrigin,
  type TunnelUpstream,
  type TunnelUpstreamOptions,
  type UpstreamResponse,
} from './tunnel-upstream.js';
