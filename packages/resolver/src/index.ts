/**
 * `@nexstream/resolver`: metadata engines raced in staggered tiers, the match scorer, yt-dlp media
 * extraction, just-in-time link refresh and the bulk seeder. The engines and the race land with their
 * issues; until then this entry exports nothing.
 *
 * @packageDocumentation
 */
export {};
