/**
 * `@nexstream/core/node`: the Node-only half of core: the SSE response writer with its replay buffer, and
 * locating external programs (ffmpeg, ffprobe, yt-dlp). The tunnel joins it in a later issue.
 *
 * @packageDocumentation
 */
export {
  type LocatedProgram,
  type LocateProgramOptions,
  locateProgram,
  type ProgramName,
  parseVersion,
  programEnvVars,
} from './programs.js';
export {
  createSseReplayBuffer,
  type SseReplayBuffer,
  type SseReplayBufferOptions,
  type SseReplayEntry,
  type SseReplayResult,
} from './sse-replay-buffer.js';
export { createSseStream, type SseStream, type SseStreamOptions } from './sse-writer.js';
