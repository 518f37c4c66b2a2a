/**
 * `@nexstream/hls-broadcaster`: a 24/7 live HLS channel from a playlist of uploaded videos, embeddable in
 * any Node server. Lands with its issue; until then this entry exports nothing.
 *
 * @packageDocumentation
 */
export {};
