/**
 * `@nexstream/core`: what every NexStream package and app shares. This entry runs anywhere (browsers,
 * workers, Node); Node-only helpers live under `@nexstream/core/node`.
 *
 * @packageDocumentation
 */

export {
  type AudioCodecFamily,
  audioCodecFamily,
  containerCodecs,
  type DeliveryClient,
  type DeliveryContainer,
  type DeliveryPlan,
  type DeliveryReason,
  type DeliveryRoute,
  type DeliverySaveTarget,
  defaultEdgeThresholdBytes,
  type PlanDeliveryOptions,
  planDelivery,
  type VideoCodecFamily,
  videoCodecFamily,
} from './delivery-plan.js';
export {
  httpStatusFor,
  isAbortError,
  NexStreamError,
  NexStreamErrorCode,
  type NexStreamErrorOptions,
  type SerializedError,
  toNexStreamError,
} from './errors.js';
export {
  type CandidateEvent,
  type DoneEvent,
  durationsAgree,
  type ErrorEvent,
  gradeRank,
  isNexStreamEvent,
  type LogEvent,
  type LogLevel,
  type MatchGrade,
  type MediaEvent,
  type MetadataEvent,
  meetsGrade,
  type NexStreamEvent,
  type NexStreamEventOf,
  type NexStreamEventType,
  nexStreamEventTypes,
  type ProgressEvent,
  type ProgressItem,
  type SettledEvent,
  verifiedDurationToleranceMs,
} from './events.js';
export { isValidIsrc, maxInputLength, normalizeIsrc, parseInput, parseIsrc } from './parse-input.js';
export {
  encodeNexStreamEvent,
  encodeSseEvent,
  type ReadNexStreamEventsOptions,
  type ReadSseEventsOptions,
  readNexStreamEvents,
  readSseEvents,
  type SseEventInit,
  type SseMessage,
  type SseReplayGap,
  sseReplayGapEvent,
} from './sse.js';
export {
  type CoverArt,
  formatSizeBytes,
  type MediaContainer,
  type MediaFormat,
  type MediaSource,
  type Platform,
  type PlatformIds,
  type PublicMedia,
  type PublicMediaFormat,
  type ResolvedMedia,
  type TrackMetadata,
  type TrackRef,
  type TrackRefKind,
  toPublicFormat,
  toPublicMedia,
} from './types.js';
