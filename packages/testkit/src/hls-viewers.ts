// Simulated live-HLS viewers for the benchmarks: each polls a media playlist and fetches segments the way
// hls.js does at the live edge, through a bounded number of requests in flight (one loopback client cannot
// open thousands of sockets at once).

/** Options of {@link runHlsViewers}. */
export interface HlsViewersOptions {
  /** The live media playlist, e.g. `http://127.0.0.1:8080/api/channels/main/hls/index.m3u8`. */
  playlistUrl: string;
  /** How many viewers watch at once. */
  viewers: number;
  /** How long they watch, in ms. */
  durationMs: number;
  /** The stream's target segment duration in seconds: viewers poll every half of it (hls.js's live reload). */
  segmentDurationS: number;
  /** Requests in flight at most, across every viewer. Default 128. */
  concurrency?: number;
  /** The response header in which a caching proxy says how it answered (nginx `$upstream_cache_status`). */
  cacheStatusHeader?: string;
}

/** What {@link runHlsViewers} measured. */
export interface HlsViewersResult {
  /** Every request the viewers made (playlists and segments). */
  requests: number;
  /** Segment requests. */
  segments: number;
  /** Requests answered with an error status, or that failed. */
  errors: number;
  /** Segments not fetched because they were no longer in the viewer's newest playlist when their turn came. */
  skippedSegments: number;
  /** Counts by `"<status> <cache status>"`, e.g. `"200 HIT"` (`-` when the header is absent). */
  statuses: Record<string, number>;
  /** Wall time, in ms. */
  elapsedMs: number;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `viewers` simulated players against a live media playlist until `durationMs` has passed. Each one,
 * like hls.js: starts three segments from the live edge, reloads the playlist every half target duration,
 * and fetches each new segment once, in order. A segment whose turn comes after the viewer's newest
 * playlist stopped listing it is skipped (hls.js jumps back to the live edge when it falls behind the
 * window), so a client that cannot keep up shows as `skippedSegments`, not as the server's 404s.
 */
export async function runHlsViewers(options: HlsViewersOptions): Promise<HlsViewersResult> {
  const concurrency = options.concurrency ?? 128;
  const base = options.playlistUrl.slice(0, options.playlistUrl.lastIndexOf('/') + 1);
  const until = Date.now() + options.durationMs;
  const reloadMs = (options.segmentDurationS * 1000) / 2;
  const result: HlsViewersResult = {
    requests: 0,
    segments: 0,
    errors: 0,
    skippedSegments: 0,
    statuses: {},
    elapsedMs: 0,
  };
  let active = 0;
  const waiting: Array<() => void> = [];
  const limited = async <T>(run: () => Promise<T>): Promise<T> => {
    if (active >= concurrency) await new Promise<void>((resolve) => waiting.push(resolve));
    active += 1;
    try {
      return await run();
    } finally {
      active -= 1;
      waiting.shift()?.();
    }
  };
  const get = (url: string) =>
    limited(async () => {
      try {
        const response = await fetch(url);
        const body = await response.text();
        result.requests += 1;
        const cache = options.cacheStatusHeader
          ? (response.headers.get(options.cacheStatusHeader) ?? '-')
          : '-';
        const key = `${response.status} ${cache}`;
        result.statuses[key] = (result.statuses[key] ?? 0) + 1;
        if (!response.ok) result.errors += 1;
        return response.ok ? body : undefined;
      } catch {
        result.requests += 1;
        result.errors += 1;
        return undefined;
      }
    });

  const parse = (text: string) =>
    text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));

  const viewer = async () => {
    await delay(Math.random() * reloadMs);
    const fetched = new Set<string>();
    let first = true;
    while (Date.now() < until) {
      const started = Date.now();
      const text = await get(options.playlistUrl);
      if (text !== undefined) {
        const uris = parse(text);
        let listed = new Set(uris);
        let readAt = Date.now();
        const wanted = (first ? uris.slice(-3) : uris).filter((uri) => !fetched.has(uri));
        first = false;
        for (const uri of wanted) {
          fetched.add(uri);
          // A reload is due while segments are still queued (hls.js reloads on its own timer): a segment the
          // newer playlist no longer lists is skipped, as hls.js skips to the live edge.
          if (Date.now() - readAt >= reloadMs) {
            const fresh = await get(options.playlistUrl);
            if (fresh !== undefined) {
              listed = new Set(parse(fresh));
              readAt = Date.now();
            }
          }
          if (!listed.has(uri)) {
            result.skippedSegments += 1;
            continue;
          }
          result.segments += 1;
          await get(new URL(uri, base).href);
        }
      }
      await delay(Math.max(0, reloadMs - (Date.now() - started)));
    }
  };
  const startedAt = Date.now();
  await Promise.all(Array.from({ length: options.viewers }, () => viewer()));
  result.elapsedMs = Date.now() - startedAt;
  return result;
}
