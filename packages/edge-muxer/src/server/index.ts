/**
 * `@nexstream/edge-muxer/server`: the server-side ("turbo") muxer on native ffmpeg: the same job
 * description as the browser muxer, streamed to the client as a Node `Readable`, with nothing on disk.
 *
 * @packageDocumentation
 */
export { type Id3TagInput, id3v2Tag } from './id3-tag.js';
export {
  muxOnServer,
  type ServerMuxCover,
  type ServerMuxInput,
  type ServerMuxMetadata,
  type ServerMuxOptions,
  type ServerMuxStream,
  serverMuxArguments,
} from './server-muxer.js';
