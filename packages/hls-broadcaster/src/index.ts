/**
 * `@nexstream/hls-broadcaster`: a 24/7 live HLS channel from a playlist of uploaded videos, embeddable in
 * any Node server. One long-running encoder per channel is fed through a Node relay by one decoder per
 * item, so item changes, edits and pauses never break the stream.
 *
 * @packageDocumentation
 */
export {
  type Broadcaster,
  type BroadcasterOptions,
  createBroadcaster,
  defaultMaxChannels,
} from './broadcaster.js';
export type {
  Channel,
  ChannelEvents,
  ChannelState,
  ChannelStatus,
  SlateReason,
} from './channel.js';
export type { StateChange } from './channel-lifecycle.js';
export { type ClientLimits, createClientLimits, type ReleaseSlot } from './client-limits.js';
export {
  type Decoder,
  type DecoderExit,
  type DecoderSource,
  decoderArguments,
  normalizeArguments,
} from './decoder.js';
export type { Emitter, Listener } from './emitter.js';
export {
  type EncoderArgumentsOptions,
  type EncoderStats,
  encoderArguments,
  variantPlaylistName,
} from './encoder.js';
export {
  type CorsOptions,
  createHttpHandler,
  type HttpHandler,
  type HttpHandlerOptions,
  type RouteKind,
  type UploadFileResult,
  type UploadResponse,
} from './http-handler.js';
export {
  createIngest,
  defaultMaxUploadBytes,
  type Ingest,
  type IngestFileOptions,
  type IngestOptions,
  sanitizeOriginalName,
  sweepTempFiles,
} from './ingest.js';
export {
  defaultAllowedContainers,
  isAllowedContainer,
  mediaInputArguments,
} from './media-input.js';
export type {
  EditOptions,
  MediaProbe,
  Playlist,
  PlaylistChange,
  PlaylistDocument,
  PlaylistEvents,
  PlaylistItem,
  PlaylistSnapshot,
  PlayoutState,
} from './playlist.js';
export {
  createFilePlaylistStorage,
  createPlaylistStore,
  type FilePlaylistStore,
  type PlaylistLoadResult,
  type PlaylistStorage,
  type PlaylistStore,
  type StoredChannel,
} from './playlist-store.js';
export {
  createFfprobeProber,
  type FfprobeProberOptions,
  type Prober,
  type UnsupportedMediaReason,
} from './prober.js';
export { type ChannelProfile, defaultChannelProfile, type Rendition } from './profile.js';
export {
  createProgramSchedule,
  type MediaPlaylistSegment,
  type ProgramSchedule,
  parseMediaPlaylist,
  type ScheduleEntry,
  type ScheduleSlateReason,
} from './program-schedule.js';
export { createRelay, lastVideoPts, type Relay, type RelayOptions, type RelayOutcome } from './relay.js';
