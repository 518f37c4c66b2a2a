/** One segment as read from a live media playlist. */
export interface SegmentRecord {
  sequence: number;
  durationS: number;
  discontinuity: boolean;
  uri: string;
}

/** Parses a live media playlist into its media sequence and segments. */
export function parseMediaPlaylist(text: string): { mediaSequence: number; segments: SegmentRecord[] } {
  const mediaSequence = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? 0);
  const segments: SegmentRecord[] = [];
  let durationS = Number.NaN;
  let discontinuity = false;
  for (const line of text.split('\n').map((entry) => entry.trim())) {
    if (line.startsWith('#EXTINF:')) durationS = Number.parseFloat(line.slice(8));
    else if (line === '#EXT-X-DISCONTINUITY') discontinuity = true;
    else if (line && !line.startsWith('#')) {
      segments.push({ sequence: mediaSequence + segments.length, durationS, discontinuity, uri: line });
      durationS = Number.NaN;
      discontinuity = false;
    }
  }
  return { mediaSequence, segments };
}

/** Polls a live playlist and remembers every segment it ever listed (by media sequence number). */
export function watchPlaylist(url: string, intervalMs = 700) {
  const segments = new Map<number, SegmentRecord & { firstSeenAt: number }>();
  const mediaSequences: number[] = [];
  const errors: string[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const response = await fetch(url);
        if (response.ok) {
          const parsed = parseMediaPlaylist(await response.text());
          mediaSequences.push(parsed.mediaSequence);
          for (const segment of parsed.segments) {
            const known = segments.get(segment.sequence);
            if (known && known.uri !== segment.uri) errors.push(`sequence ${segment.sequence} changed uri`);
            if (!known) segments.set(segment.sequence, { ...segment, firstSeenAt: Date.now() });
          }
        } else {
          await response.arrayBuffer();
        }
      } catch (error) {
        errors.push(String(error));
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    segments,
    mediaSequences,
    errors,
    /** Resolves with the first time (epoch ms) a segment appeared after `since` (or waits for one). */
    async nextSegmentAfter(since: number, timeoutMs = 20_000): Promise<number> {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const found = [...segments.values()].find((segment) => segment.firstSeenAt > since);
        if (found) return found.firstSeenAt;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`no new segment within ${timeoutMs} ms`);
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
