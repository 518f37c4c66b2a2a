import { describe, expect, it } from 'vitest';
import { createProgramSchedule, parseMediaPlaylist } from './program-schedule.js';

// The shape ffmpeg 5.1's hls muxer writes with `program_date_time` (zone as +0000), after a restart with
// `append_list` (a discontinuity, the sequence carries on).
const playlist = (from: number, dates: string[]) =>
  [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    '#EXT-X-TARGETDURATION:2',
    `#EXT-X-MEDIA-SEQUENCE:${from}`,
    ...dates.flatMap((date, index) => [
      ...(date.startsWith('!') ? ['#EXT-X-DISCONTINUITY'] : []),
      `#EXT-X-PROGRAM-DATE-TIME:${date.replace('!', '')}`,
      '#EXTINF:2.000000,',
      `seg-${from + index}.ts`,
    ]),
    '',
  ].join('\n');

describe('program schedule', () => {
  it('reads sequence numbers, program date-times with a +0000 zone, and durations', () => {
    const segments = parseMediaPlaylist(
      playlist(7, ['2026-12-03T13:00:00.000+0000', '2026-12-03T13:00:02.000+0000']),
    );
    expect(segments).toEqual([
      {
        sequence: 7,
        programDateTime: Date.parse('2026-12-03T13:00:00.000Z'),
        durationMs: 2000,
        uri: 'seg-7.ts',
      },
      {
        sequence: 8,
        programDateTime: Date.parse('2026-12-03T13:00:02.000Z'),
        durationMs: 2000,
        uri: 'seg-8.ts',
      },
    ]);
  });

  it('dates entries once the run has a segment, relative to the first entry of the run', () => {
    const schedule = createProgramSchedule({ segmentDurationMs: 2000 });
    schedule.beginRun(-1);
    schedule.add({ kind: 'item', itemId: 'a', startMs: 0 }, 10_000);
    schedule.add({ kind: 'item', itemId: 'b', startMs: 0 }, 13_500);
    expect(schedule.waiting).toBe(true);
    expect(schedule.entries().map((entry) => entry.programDateTime)).toEqual([null, null]);
    expect(schedule.observePlaylist(playlist(0, ['2026-12-03T13:00:00.000+0000']))).toBe(true);
    const start = Date.parse('2026-12-03T13:00:00.000Z');
    expect(schedule.entries().map((entry) => entry.programDateTime)).toEqual([start, start + 3500]);
    expect(schedule.waiting).toBe(false);
  });

  it('anchors a run after a crash at its own first segment, past the ones the old encoder wrote', () => {
    const schedule = createProgramSchedule({ segmentDurationMs: 2000 });
    schedule.beginRun(-1);
    schedule.add({ kind: 'item', itemId: 'a', startMs: 0 }, 0);
    schedule.observePlaylist(playlist(0, ['2026-12-03T13:00:00.000+0000']));
    schedule.beginRun(4);
    schedule.add({ kind: 'item', itemId: 'a', startMs: 8000 }, 9000);
    // The new run's segment 5 is in the list, its segment 6 not yet; 3 and 4 were the old run's.
    schedule.observePlaylist(
      playlist(3, [
        '2026-12-03T13:00:06.000+0000',
        '2026-12-03T13:00:08.000+0000',
        '!2026-12-03T13:00:12.500+0000',
      ]),
    );
    expect(schedule.entries().map((entry) => entry.programDateTime)).toEqual([
      Date.parse('2026-12-03T13:00:00.000Z'),
      Date.parse('2026-12-03T13:00:12.500Z'),
    ]);
  });
});
