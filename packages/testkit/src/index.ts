/**
 * `@nexstream/testkit` (private): the test world every NexStream test uses: a replay server for the
 * outside services, a media origin, sample media made with ffmpeg, Chromium, process checks, and a sqld
 * launcher.
 *
 * @packageDocumentation
 */
export { bundleForBrowser } from './browser-bundle.js';
export { type ChromiumLaunchOptions, chromiumArgs, launchChromium } from './chromium.js';
export { type HlsViewersOptions, type HlsViewersResult, runHlsViewers } from './hls-viewers.js';
export {
  type MediaOrigin,
  type MediaOriginAddOptions,
  type MediaOriginFaultOptions,
  type MediaOriginRequest,
  mediaContentTypes,
  parseRange,
  type SignedUrlOptions,
  type StartMediaOriginOptions,
  startMediaOrigin,
} from './media-origin.js';
export { type ChildProcessIdsOptions, childProcessIds } from './processes.js';
export {
  type ReplayHandler,
  type ReplayReply,
  type ReplayRequest,
  type ReplayRouteOptions,
  type ReplayServer,
  readFixture,
  replies,
  startReplayServer,
} from './replay-server.js';
export {
  type ProbedMedia,
  type ProbedStream,
  probeMedia,
  type SampleDashOptions,
  type SampleKind,
  type SampleOptions,
  sampleCacheDirectory,
  sampleDash,
  sampleKinds,
  sampleMedia,
} from './sample-media.js';
export { freePort, type SqldServer, startSqld } from './sqld.js';
