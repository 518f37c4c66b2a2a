/**
 * `@nexstream/edge-muxer/server`: the server-side ("turbo") muxer on native ffmpeg, streaming to the
 * client with nothing on disk. Lands with the delivery issue; until then this entry exports nothing.
 *
 * @packageDocumentation
 */
export {};
