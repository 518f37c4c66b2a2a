import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Options for {@link createSegmentCleaner}. */
export interface SegmentCleanerOptions {
  /** The channel's HLS folder. */
  hlsDirectory: string;
  /** The target segment duration in seconds: the cleaner runs once per segment. */
  segmentDurationS: number;
  /** Segments in the live playlist: an orphan stays as long as a listed segment would after leaving it. */
  listSize: number;
}

/**
 * Removes what ffmpeg's own `delete_segments` misses: segments no playlist references any more (left by a
 * crashed encoder, whose successor appends under a new name prefix) and stale temp files.
 */
export interface SegmentCleaner {
  /** Cleans once per segment duration until {@link SegmentCleaner.stop}. */
  start(): void;
  stop(): void;
  /** One pass. */
  clean(): Promise<void>;
}

const segmentPattern = /^(.*?)(\d+)\.ts$/;

/** Creates the cleaner of one channel's HLS folder. */
export function createSegmentCleaner(options: SegmentCleanerOptions): SegmentCleaner {
  const { hlsDirectory } = options;
  // A segment dropped from the playlist stays this long: players (and caches) holding an older playlist
  // may still ask for it (RFC 8216 §6.2.2: its duration plus the playlist's, as ffmpeg's delete threshold).
  const staleMs = (options.listSize + 1) * options.segmentDurationS * 1000;
  let timer: NodeJS.Timeout | undefined;

  const clean = async () => {
    let names: string[];
    try {
      names = await readdir(hlsDirectory);
    } catch {
      return;
    }
    // The oldest segment number each media playlist still lists, by segment name prefix.
    const oldestByPrefix = new Map<string, number>();
    for (const name of names.filter((entry) => entry.endsWith('.m3u8'))) {
      const text = await readFile(join(hlsDirectory, name), 'utf8').catch(() => '');
      for (const line of text.split('\n')) {
        const segment = segmentPattern.exec(line.trim());
        if (!segment) continue;
        const [, prefix = '', number = '0'] = segment;
        oldestByPrefix.set(
          prefix,
          Math.min(oldestByPrefix.get(prefix) ?? Number.POSITIVE_INFINITY, Number(number)),
        );
      }
    }
    const now = Date.now();
    const isStale = async (path: string) => {
      const info = await stat(path).catch(() => undefined);
      return info !== undefined && now - info.mtimeMs > staleMs;
    };
    await Promise.all(
      names.map(async (name) => {
        const path = join(hlsDirectory, name);
        const segment = segmentPattern.exec(name);
        if (segment) {
          const oldest = oldestByPrefix.get(segment[1] ?? '');
          // Behind the window of its run, or of a run no playlist lists any more.
          const orphan = oldest === undefined ? await isStale(path) : Number(segment[2]) < oldest - 3;
          if (orphan) await rm(path, { force: true });
        } else if (name.endsWith('.tmp') && (await isStale(path))) {
          await rm(path, { force: true });
        }
      }),
    );
  };

  return {
    start() {
      if (timer) return;
      timer = setInterval(() => void clean(), options.segmentDurationS * 1000);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
    clean,
  };
}
