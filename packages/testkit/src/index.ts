/**
 * `@nexstream/testkit` (private): the test world every NexStream test uses: a replay server for the
 * outside services, a media origin, sample media made with ffmpeg, and a sqld launcher.
 *
 * @packageDocumentation
 */
export {};
