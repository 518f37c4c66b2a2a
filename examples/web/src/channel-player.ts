import type { HlsConfig } from 'hls.js';

/**
 * The channel page's hls.js settings, in one place so the cluster test plays with exactly these.
 *
 * - Start three segments behind the live edge (hls.js's default), retry the multivariant playlist for ~10 s.
 * - Media playlists: retry errors 20 times, 0.5-1 s apart. A failover (the owner's lease expiring and
 *   another instance taking the channel, 5-9 s in which playlist requests get 502/503) outlasts hls.js's
 *   default of two retries in ~3 s, which ends in a fatal `levelLoadError`; with these the player rides
 *   through with one discontinuity (examples/server/test/cluster.browser.test.ts).
 */
export const channelPlayerConfig: Partial<HlsConfig> = {
  liveSyncDurationCount: 3,
  manifestLoadingMaxRetry: 10,
  manifestLoadingRetryDelay: 1000,
  playlistLoadPolicy: {
    default: {
      maxTimeToFirstByteMs: 10_000,
      maxLoadTimeMs: 20_000,
      timeoutRetry: { maxNumRetry: 2, retryDelayMs: 0, maxRetryDelayMs: 0 },
      errorRetry: { maxNumRetry: 20, retryDelayMs: 500, maxRetryDelayMs: 1000 },
    },
  },
};
