import type Hls from 'hls.js';
import { type RefObject, useEffect, useRef, useState } from 'react';

/**
 * One thing that went on air and when it appears in the stream (the broadcaster's `ScheduleEntry`):
 * `programDateTime` is on the clock of the stream's EXT-X-PROGRAM-DATE-TIME tags, in epoch milliseconds.
 */
export interface ScheduleEntry {
  kind: 'item' | 'slate';
  itemId?: string;
  originalName?: string;
  slateReason?: string;
  startMs: number;
  programDateTime: number | null;
}

/** The entry on screen at the stream date `atMs`: the last one that started at or before it. */
export function entryAt(schedule: readonly ScheduleEntry[], atMs: number): ScheduleEntry | undefined {
  let found: ScheduleEntry | undefined;
  for (const entry of schedule) {
    if (entry.programDateTime !== null && entry.programDateTime <= atMs) found = entry;
  }
  return found;
}

/**
 * The program date-time of the picture shown, in epoch milliseconds: hls.js's `playingDate` (the playing
 * fragment's EXT-X-PROGRAM-DATE-TIME plus the playhead's offset in it), corrected to the frame on screen
 * when `frameMediaTime` is known; Safari's native player gives `getStartDate()`.
 */
export function playheadDate(
  video: HTMLVideoElement,
  player: Hls | null,
  frameMediaTime?: number,
): number | undefined {
  const correction = frameMediaTime === undefined ? 0 : (frameMediaTime - video.currentTime) * 1000;
  if (player) {
    const date = player.playingDate;
    return date ? date.getTime() + correction : undefined;
  }
  const start = (video as HTMLVideoElement & { getStartDate?: () => Date }).getStartDate?.();
  const startMs = start?.getTime();
  return startMs !== undefined && Number.isFinite(startMs) ? startMs + video.currentTime * 1000 : undefined;
}

const sameEntry = (a: ScheduleEntry | undefined, b: ScheduleEntry | undefined) =>
  a === b ||
  (a !== undefined &&
    b !== undefined &&
    a.kind === b.kind &&
    a.itemId === b.itemId &&
    a.programDateTime === b.programDateTime);

/**
 * What the player shows now, from the broadcaster's schedule: checked on every presented frame
 * (`requestVideoFrameCallback`, else `timeupdate`), so a "now playing" label changes with the picture and
 * not when the encoder starts the next item (one live latency, 6-9 s, earlier). `undefined` while the
 * player shows nothing it can date.
 */
export function useOnScreen(
  video: RefObject<HTMLVideoElement | null>,
  player: RefObject<Hls | null>,
  schedule: readonly ScheduleEntry[],
  active: boolean,
): ScheduleEntry | undefined {
  const [entry, setEntry] = useState<ScheduleEntry | undefined>();
  const scheduleRef = useRef(schedule);
  scheduleRef.current = schedule;
  const lastFrame = useRef<number | undefined>(undefined);

  useEffect(() => {
    const element = video.current;
    if (!element || !active) {
      setEntry(undefined);
      return;
    }
    let stopped = false;
    let handle = 0;
    const update = (frameMediaTime?: number) => {
      const at = playheadDate(element, player.current, frameMediaTime);
      const next = at === undefined ? undefined : entryAt(scheduleRef.current, at);
      setEntry((previous) => (sameEntry(previous, next) ? previous : next));
    };
    const onTimeUpdate = () => update(lastFrame.current);
    const frames = typeof element.requestVideoFrameCallback === 'function';
    if (frames) {
      const onFrame = (_now: number, metadata: VideoFrameCallbackMetadata) => {
        if (stopped) return;
        lastFrame.current = metadata.mediaTime;
        update(metadata.mediaTime);
        handle = element.requestVideoFrameCallback(onFrame);
      };
      handle = element.requestVideoFrameCallback(onFrame);
    }
    element.addEventListener('timeupdate', onTimeUpdate);
    return () => {
      stopped = true;
      if (frames) element.cancelVideoFrameCallback(handle);
      element.removeEventListener('timeupdate', onTimeUpdate);
      lastFrame.current = undefined;
    };
  }, [video, player, active]);

  // A schedule update can date the frame on screen already (the first segment of a run was just written).
  useEffect(() => {
    const element = video.current;
    if (!element || !active) return;
    const at = playheadDate(element, player.current, lastFrame.current);
    if (at === undefined) return;
    const next = entryAt(schedule, at);
    setEntry((previous) => (sameEntry(previous, next) ? previous : next));
  }, [schedule, video, player, active]);

  return entry;
}
