/**
 * `@nexstream/registry`: the store of ISRC-verified mappings (Spotify track X = ISRC Y = YouTube video Z)
 * on libSQL. Its API (`createRegistry`) lands with the registry issue; until then this entry exports nothing.
 *
 * @packageDocumentation
 */
export {};
