/** Why the slate is on air (the same values as a channel's `SlateReason`). */
/** Why the slate is on air: paused, nothing to play, the playlist ended, or the items are failing. */
export type ScheduleSlateReason = 'paused' | 'empty' | 'ended' | 'failing';

/**
 * One thing that went on air, and when it appears in the stream: players map their playhead's
 * `EXT-X-PROGRAM-DATE-TIME` (hls.js `playingDate`, Safari `getStartDate()`) to the last entry that started
 * at or before it, so a "now playing" label follows the picture instead of the encoder's input, which runs
 * one live latency (6-9 s) ahead.
 */
export interface ScheduleEntry {
  /** An item of the playlist, or the slate. */
  kind: 'item' | 'slate';
  /** The item's id (items only). */
  itemId?: string;
  /** The item's original file name, for display (items only). */
  originalName?: string;
  /** Why the slate is on air (slate only). */
  slateReason?: ScheduleSlateReason;
  /** Where in the item playback started, in milliseconds: 0, or the offset of a resume. */
  startMs: number;
  /**
   * The program date-time of the entry's first frame, in epoch milliseconds, on the clock of the stream's
   * `EXT-X-PROGRAM-DATE-TIME` tags; `null` until the encoder has written the first segment of its run.
   */
  programDateTime: number | null;
}

/** One segment of a media playlist, as {@link parseMediaPlaylist} reads it. */
export interface MediaPlaylistSegment {
  /** Media sequence number. */
  sequence: number;
  /** `EXT-X-PROGRAM-DATE-TIME` of the segment in epoch milliseconds, when tagged. */
  programDateTime?: number;
  /** `EXTINF` duration in milliseconds. */
  durationMs: number;
  /** The segment URI as written. */
  uri: string;
}

/** Reads the segments of an HLS media playlist (sequence numbers, program date-times, durations). */
export function parseMediaPlaylist(text: string): MediaPlaylistSegment[] {
  const segments: MediaPlaylistSegment[] = [];
  let sequence = 0;
  let programDateTime: number | undefined;
  let durationMs = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) {
      sequence = Number.parseInt(line.slice('#EXT-X-MEDIA-SEQUENCE:'.length), 10) || 0;
    } else if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) {
      // ffmpeg writes the zone as `+0000`; ISO 8601 as Date.parse reads it wants `+00:00`.
      const iso = line.slice('#EXT-X-PROGRAM-DATE-TIME:'.length).replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
      const parsed = Date.parse(iso);
      programDateTime = Number.isNaN(parsed) ? undefined : parsed;
    } else if (line.startsWith('#EXTINF:')) {
      durationMs = Math.round(Number.parseFloat(line.slice('#EXTINF:'.length)) * 1000) || 0;
    } else if (line.length > 0 && !line.startsWith('#')) {
      segments.push({
        sequence,
        ...(programDateTime === undefined ? {} : { programDateTime }),
        durationMs,
        uri: line,
      });
      sequence += 1;
      programDateTime = undefined;
      durationMs = 0;
    }
  }
  return segments;
}

/**
 * The channel's record of what went on air and when it appears in the stream.
 *
 * Each encoder run (a start, or a restart after a crash) writes media time from 0; the relay knows where on
 * its continuous media clock every entry began. Once the run's first segment is in the live playlist, its
 * program date-time anchors the run, and every entry of the run gets `anchor + (entry - run start)`.
 */
export interface ProgramSchedule {
  /**
   * A new encoder run starts; `lastSequence` is the highest media sequence number already written (-1
   * after a fresh start), so the run's first segment is the first one above it.
   */
  beginRun(lastSequence: number): void;
  /** An entry goes on air, starting at `mediaPositionMs` on the relay's media clock. */
  add(entry: Omit<ScheduleEntry, 'programDateTime'>, mediaPositionMs: number): void;
  /** Reads the live media playlist; true when an entry's program date-time became known. */
  observePlaylist(text: string): boolean;
  /** True while the current run still waits for its first segment (its entries have no time yet). */
  readonly waiting: boolean;
  /** The recent entries, oldest first (copies). */
  entries(): ScheduleEntry[];
  /** Forgets every entry and run (the channel stopped). */
  clear(): void;
}

interface Run {
  lastSequence: number;
  /** Relay media position of the run's first entry: the encoder's media time 0. */
  mediaStartMs?: number;
  /** Program date-time of media time 0 of the run. */
  anchor?: number;
}

/** Creates a {@link ProgramSchedule} keeping the last `limit` entries (default 50). */
export function createProgramSchedule(options: {
  segmentDurationMs: number;
  limit?: number;
}): ProgramSchedule {
  const limit = options.limit ?? 50;
  let runs: Run[] = [];
  let list: Array<{ entry: Omit<ScheduleEntry, 'programDateTime'>; run: Run; mediaPositionMs: number }> = [];

  const timeOf = (item: (typeof list)[number]): number | null =>
    item.run.anchor === undefined || item.run.mediaStartMs === undefined
      ? null
      : Math.round(item.run.anchor + item.mediaPositionMs - item.run.mediaStartMs);

  return {
    beginRun(lastSequence) {
      runs.push({ lastSequence });
      runs = runs.slice(-10);
    },
    add(entry, mediaPositionMs) {
      const run = runs.at(-1);
      if (!run) return;
      run.mediaStartMs ??= mediaPositionMs;
      list.push({ entry: { ...entry }, run, mediaPositionMs });
      list = list.slice(-limit);
    },
    observePlaylist(text) {
      const run = runs.at(-1);
      if (!run || run.anchor !== undefined || run.mediaStartMs === undefined) return false;
      const first = parseMediaPlaylist(text).find(
        (segment) => segment.sequence > run.lastSequence && segment.programDateTime !== undefined,
      );
      if (!first || first.programDateTime === undefined) return false;
      // Segments of this run that already slid out of the window lasted one segment duration each.
      const skipped = first.sequence - (run.lastSequence + 1);
      run.anchor = first.programDateTime - skipped * options.segmentDurationMs;
      // What an earlier run was fed but never wrote (lost in a crash) was never on air: the new run's
      // segments take its place in the stream.
      const anchor = run.anchor;
      list = list.filter((item) => {
        if (item.run === run) return true;
        const time = timeOf(item);
        return time === null ? false : time < anchor;
      });
      return list.some((item) => item.run === run);
    },
    get waiting() {
      const run = runs.at(-1);
      return run !== undefined && run.anchor === undefined;
    },
    entries: () => list.map((item) => ({ ...item.entry, programDateTime: timeOf(item) })),
    clear() {
      runs = [];
      list = [];
    },
  };
}
