/**
 * `@nexstream/edge-muxer`: stream-copy muxing of separate video and audio in the browser (libav.js in a
 * dedicated Worker) with a Service Worker download pump. Lands with its issue; until then this entry
 * exports nothing.
 *
 * @packageDocumentation
 */
export {};
