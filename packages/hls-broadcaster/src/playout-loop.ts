import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import type { ChannelLifecycle, SlateReason } from './channel-lifecycle.js';
import { type Decoder, startDecoder } from './decoder.js';
import type { Playlist, PlaylistChange, PlaylistItem, PlaylistSnapshot, PlayoutState } from './playlist.js';
import { isSafeFileName } from './playlist-store.js';
import type { PlayoutSources } from './playout-sources.js';
import type { ChannelProfile } from './profile.js';
import type { ProgramSchedule } from './program-schedule.js';
import type { Relay } from './relay.js';

/** What feeds the encoder: an item from a position (milliseconds), or the slate for a reason. */
export type PlayoutEntry =
  | { kind: 'item'; item: PlaylistItem; startMs: number }
  | { kind: 'slate'; reason: SlateReason };

/** The entry on air and its decoder. */
export interface ActiveEntry {
  entry: PlayoutEntry;
  decoder: Decoder;
  /** Epoch milliseconds its decoder started. */
  startedAt: number;
}

/** What the playout loop reports; the channel turns these into its events. */
export interface PlayoutLoopEvents {
  itemStarted(event: { item: PlaylistItem; startMs: number; prefetched: boolean }): void;
  itemEnded(event: { item: PlaylistItem; reason: 'finished' | 'cut' | 'failed'; playedMs: number }): void;
  itemFailed(event: { item: PlaylistItem; reason: string }): void;
  /** An entry went on air (the schedule changed). */
  scheduled(): void;
  error(error: unknown): void;
}

/** Options for {@link createPlayoutLoop}. */
export interface PlayoutLoopOptions {
  channelId: string;
  profile: ChannelProfile;
  lifecycle: ChannelLifecycle;
  /** The channel's playlist (loaded before the loop first runs). */
  playlist: () => Playlist;
  relay: Relay;
  sources: PlayoutSources;
  schedule: ProgramSchedule;
  /** The located ffmpeg (set before the loop first runs). */
  ffmpegPath: () => string;
  /** How long to show the slate after every item failed before trying again. */
  failureBackoffMs: number;
  on: PlayoutLoopEvents;
}

/**
 * The playout loop: one decoder at a time feeds the relay (the next item's decoder is prefetched), natural
 * transitions follow the playlist, and edits, pause, resume and a crash restart cut to a new entry. Items
 * that fail to decode are skipped; when every item fails, the slate is shown for a while instead of
 * spinning.
 */
export interface PlayoutLoop {
  /** The entry feeding the encoder, if any. */
  readonly active: ActiveEntry | undefined;
  /** The position reached in `current` (milliseconds; 0 for the slate). */
  positionOf(current: ActiveEntry | undefined): number;
  /** Starts a run: at `resumeAt` when given (paused there when it says so), else at the current item. */
  start(resumeAt: PlayoutState['resumeAt']): void;
  /** Ends the run: the decoders are stopped; resolves once they exited and the loop returned. */
  halt(): Promise<void>;
  /** Resolves once the current run's loop returned. */
  idle(): Promise<void>;
  /** Where a restart of the server should carry on: the paused position or the item on air. */
  resumePoint(): PlayoutState['resumeAt'];
  /** Puts the slate on air and remembers the position. */
  pause(): void;
  /** Continues the paused item where it was paused. */
  resume(): void;
  /** Follows an edit of the playlist (cuts to another entry when the one on air is affected). */
  playlistChanged(change: PlaylistChange, snapshot: PlaylistSnapshot): void;
  /**
   * After an encoder crash: replays the paced lead the dead encoder had not written (`respawn` starts the
   * new encoder in between).
   */
  restartAfterCrash(respawn: () => Promise<void>): Promise<void>;
}

/** Creates the playout loop of one channel. */
export function createPlayoutLoop(options: PlayoutLoopOptions): PlayoutLoop {
  const { lifecycle, relay, sources, schedule, profile, on } = options;
  let generation = 0;
  let active: ActiveEntry | undefined;
  let prefetched: { item: PlaylistItem; decoder: Decoder } | undefined;
  let pendingEntry: PlayoutEntry | undefined;
  let pausedAt: { itemId: string; positionMs: number } | undefined;
  let failureStreak = 0;
  let slateUntil = 0;
  let endedAtRevision = -1;
  let lastScheduledKey: string | undefined;
  let done: Promise<void> = Promise.resolve();

  const positionOf = (current: ActiveEntry | undefined): number => {
    if (current?.entry.kind !== 'item') return 0;
    const elapsedMs = current === active ? relay.sourceMediaMs : Date.now() - current.startedAt;
    return Math.min(current.entry.startMs + Math.round(elapsedMs), current.entry.item.durationMs);
  };

  const dropPrefetched = () => {
    prefetched?.decoder.stop();
    prefetched = undefined;
  };

  const refreshPrefetch = () => {
    if (lifecycle.winding || !active || active.entry.kind !== 'item') {
      dropPrefetched();
      return;
    }
    const next = options.playlist().nextAfter(active.entry.item.id);
    if (prefetched && prefetched.item.id !== next?.id) dropPrefetched();
    if (next && !prefetched && isSafeFileName(next.filename)) {
      prefetched = {
        item: next,
        decoder: startDecoder(
          options.ffmpegPath(),
          sources.sourceFor({ kind: 'item', item: next, startMs: 0 }),
          profile,
        ),
      };
    }
  };

  const nextEntry = (previous: PlayoutEntry | undefined): PlayoutEntry => {
    if (lifecycle.state === 'paused') return { kind: 'slate', reason: 'paused' };
    const playlist = options.playlist();
    const snapshot = playlist.list();
    if (snapshot.items.length === 0) return { kind: 'slate', reason: 'empty' };
    if (Date.now() < slateUntil) return { kind: 'slate', reason: 'failing' };
    // The end of a non-looping playlist stays on air until the playlist is edited.
    if (previous?.kind === 'slate' && previous.reason === 'ended' && snapshot.revision === endedAtRevision) {
      return previous;
    }
    let item: PlaylistItem | undefined;
    if (previous?.kind === 'item') {
      item = playlist.nextAfter(previous.item.id);
      if (!item) {
        endedAtRevision = snapshot.revision;
        return { kind: 'slate', reason: 'ended' };
      }
    } else {
      item = snapshot.items[snapshot.currentIndex] ?? snapshot.items[0];
    }
    return item ? { kind: 'item', item, startMs: 0 } : { kind: 'slate', reason: 'empty' };
  };

  /** Adds `entry` to the schedule at the relay's media position (a slate chunk continuing a slate is not new). */
  const recordOnAir = (entry: PlayoutEntry) => {
    const key = entry.kind === 'slate' ? `slate:${entry.reason}` : undefined;
    if (key !== undefined && key === lastScheduledKey) return;
    lastScheduledKey = key;
    schedule.add(
      entry.kind === 'item'
        ? {
            kind: 'item',
            itemId: entry.item.id,
            originalName: entry.item.originalName,
            startMs: entry.startMs,
          }
        : { kind: 'slate', slateReason: entry.reason, startMs: 0 },
      relay.mediaPositionMs,
    );
    on.scheduled();
  };

  const cutTo = (entry: PlayoutEntry) => {
    pendingEntry = entry;
    relay.cut();
  };

  /** Starts the decoder for `entry` (the prefetched one when it fits) and reports it on air. */
  const putOnAir = (entry: PlayoutEntry): ActiveEntry => {
    let decoder: Decoder;
    let wasPrefetched = false;
    if (entry.kind === 'item' && entry.startMs === 0 && prefetched?.item.id === entry.item.id) {
      decoder = prefetched.decoder;
      prefetched = undefined;
      wasPrefetched = true;
    } else {
      decoder = startDecoder(options.ffmpegPath(), sources.sourceFor(entry), profile);
    }
    const current: ActiveEntry = { entry, decoder, startedAt: Date.now() };
    active = current;
    if (entry.kind === 'item') {
      lifecycle.set('playing');
      on.itemStarted({ item: entry.item, startMs: entry.startMs, prefetched: wasPrefetched });
      const playlist = options.playlist();
      if (playlist.list().currentId !== entry.item.id) playlist.advance(entry.item.id).catch(on.error);
    } else {
      lifecycle.set(entry.reason === 'paused' ? 'paused' : 'slate', entry.reason);
    }
    refreshPrefetch();
    recordOnAir(entry);
    return current;
  };

  /** Counts a failed item; after every item failed in a row, the slate stays on for the backoff. */
  const noteFailure = (playedMs: number) => {
    failureStreak = playedMs < 1000 ? failureStreak + 1 : 0;
    if (failureStreak < Math.max(1, options.playlist().list().items.length)) return;
    failureStreak = 0;
    slateUntil = Date.now() + options.failureBackoffMs;
    on.error(
      new NexStreamError(
        NexStreamErrorCode.ProcessFailed,
        `channel ${options.channelId}: every playlist item failed to decode; showing the slate for ${options.failureBackoffMs} ms before trying again`,
      ),
    );
  };

  async function run(runGeneration: number): Promise<void> {
    let previous: PlayoutEntry | undefined;
    while (runGeneration === generation) {
      const entry = pendingEntry ?? nextEntry(previous);
      pendingEntry = undefined;
      if (entry.kind === 'item' && !isSafeFileName(entry.item.filename)) {
        previous = entry;
        continue;
      }
      const current = putOnAir(entry);
      const outcome = await relay.play(current.decoder.stdout);
      const playedMs = Date.now() - current.startedAt;
      if (outcome === 'cut') {
        current.decoder.stop();
        if (entry.kind === 'item') on.itemEnded({ item: entry.item, reason: 'cut', playedMs });
        previous = entry;
        continue;
      }
      const exit = await current.decoder.closed;
      if (runGeneration !== generation) break;
      if (entry.kind === 'item') {
        const expectedMs = entry.item.durationMs - entry.startMs;
        const failed =
          (exit.exitCode !== 0 && !exit.stoppedByUs) ||
          (playedMs < 300 && expectedMs > 1500 && !pendingEntry);
        if (failed) {
          const reason = exit.stderrTail || `decoder exited with ${exit.exitCode ?? exit.signal}`;
          on.itemFailed({ item: entry.item, reason });
          on.itemEnded({ item: entry.item, reason: 'failed', playedMs });
          noteFailure(playedMs);
        } else {
          failureStreak = 0;
          on.itemEnded({ item: entry.item, reason: 'finished', playedMs });
        }
      }
      previous = entry;
    }
  }

  /** Where a resume starts: the recorded item at its position, unless it is gone or nearly over. */
  const resumeEntry = (resumeAt: PlayoutState['resumeAt']): PlayoutEntry | undefined => {
    const item = resumeAt && options.playlist().get(resumeAt.itemId);
    if (!item || !resumeAt || resumeAt.positionMs > item.durationMs - 1000) return undefined;
    return { kind: 'item', item, startMs: Math.max(0, Math.round(resumeAt.positionMs)) };
  };

  return {
    get active() {
      return active;
    },
    positionOf,
    start(resumeAt) {
      generation += 1;
      const runGeneration = generation;
      failureStreak = 0;
      slateUntil = 0;
      lastScheduledKey = undefined;
      pendingEntry = resumeEntry(resumeAt);
      if (resumeAt?.paused && pendingEntry?.kind === 'item') {
        // Paused when the server stopped: back on the slate, and resume() continues where it was.
        pausedAt = { itemId: pendingEntry.item.id, positionMs: pendingEntry.startMs };
        lifecycle.set('paused', 'paused');
        pendingEntry = { kind: 'slate', reason: 'paused' };
      }
      done = run(runGeneration).catch((error: unknown) => on.error(error));
    },
    async halt() {
      generation += 1;
      const decoders = [active?.decoder, prefetched?.decoder].filter((d): d is Decoder => d !== undefined);
      relay.cut();
      for (const decoder of decoders) decoder.stop();
      prefetched = undefined;
      await Promise.all([...decoders.map((decoder) => decoder.closed), done]);
      active = undefined;
      pausedAt = undefined;
    },
    idle: () => done,
    resumePoint() {
      if (lifecycle.state === 'paused' && pausedAt) return { ...pausedAt, paused: true };
      if (active?.entry.kind === 'item')
        return { itemId: active.entry.item.id, positionMs: positionOf(active) };
      return undefined;
    },
    pause() {
      const current = active;
      if (current?.entry.kind !== 'item') {
        throw new NexStreamError(
          NexStreamErrorCode.Conflict,
          `channel ${options.channelId} cannot pause while ${lifecycle.state}`,
        );
      }
      pausedAt = { itemId: current.entry.item.id, positionMs: positionOf(current) };
      lifecycle.set('paused', 'paused');
      cutTo({ kind: 'slate', reason: 'paused' });
      dropPrefetched();
    },
    resume() {
      const playlist = options.playlist();
      const snapshot = playlist.list();
      const item = (pausedAt && playlist.get(pausedAt.itemId)) ?? snapshot.items[snapshot.currentIndex];
      const positionMs = item && pausedAt?.itemId === item.id ? pausedAt.positionMs : 0;
      pausedAt = undefined;
      lifecycle.set('playing');
      cutTo(item ? { kind: 'item', item, startMs: positionMs } : { kind: 'slate', reason: 'empty' });
    },
    playlistChanged(change, snapshot) {
      if (!lifecycle.onAir) return;
      const state = lifecycle.state;
      const current = active?.entry;
      const currentItem = snapshot.items[snapshot.currentIndex];
      switch (change.kind) {
        case 'jumped': {
          const item = options.playlist().get(change.id);
          if (!item) break;
          slateUntil = 0;
          if (state === 'paused') pausedAt = { itemId: item.id, positionMs: 0 };
          else cutTo({ kind: 'item', item, startMs: 0 });
          break;
        }
        case 'removed':
        case 'cleared': {
          const removedIds = new Set(
            change.kind === 'removed' ? [change.item.id] : change.items.map((i) => i.id),
          );
          if (current?.kind === 'item' && removedIds.has(current.item.id) && state !== 'paused') {
            cutTo(
              currentItem
                ? { kind: 'item', item: currentItem, startMs: 0 }
                : { kind: 'slate', reason: 'empty' },
            );
          }
          if (pausedAt && removedIds.has(pausedAt.itemId)) {
            pausedAt = currentItem ? { itemId: currentItem.id, positionMs: 0 } : undefined;
          }
          break;
        }
        case 'added':
        case 'imported':
          if (current?.kind === 'slate' && (current.reason === 'empty' || current.reason === 'ended')) {
            slateUntil = 0;
            const item = currentItem ?? snapshot.items[0];
            if (item) cutTo({ kind: 'item', item, startMs: 0 });
          }
          break;
        default:
          break;
      }
      refreshPrefetch();
    },
    async restartAfterCrash(respawn) {
      const runGeneration = generation;
      const resume: PlayoutEntry | undefined =
        active?.entry.kind === 'item'
          ? {
              kind: 'item',
              item: active.entry.item,
              // The killed encoder lost what it had not yet written as a segment: replay the paced lead.
              startMs: Math.max(0, positionOf(active) - profile.segmentDurationS * 1000),
            }
          : active?.entry;
      await respawn();
      if (runGeneration !== generation) return;
      lastScheduledKey = undefined;
      dropPrefetched();
      cutTo(resume ?? nextEntry(undefined));
    },
  };
}
