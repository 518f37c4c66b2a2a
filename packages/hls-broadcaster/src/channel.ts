import { readFileSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { NexStreamError, NexStreamErrorCode, type SerializedError, toNexStreamError } from '@nexstream/core';
import { locateProgram } from '@nexstream/core/node';
import { type Decoder, type DecoderSource, normalizeForCopy, startDecoder } from './decoder.js';
import { createEmitter, type Emitter } from './emitter.js';
import {
  type Encoder,
  type EncoderStats,
  encoderArguments,
  isNormalEncoderExit,
  startEncoder,
  variantPlaylistName,
} from './encoder.js';
import { createIngest, type IngestFileOptions, uploadError } from './ingest.js';
import {
  createPlaylist,
  type Playlist,
  type PlaylistChange,
  type PlaylistDocument,
  type PlaylistItem,
  type PlaylistSnapshot,
  type PlayoutState,
  parseInstaStreamItems,
} from './playlist.js';
import {
  createPlaylistStore,
  isSafeFileName,
  type PlaylistLoadResult,
  parsePlaylistDocument,
} from './playlist-store.js';
import type { Prober } from './prober.js';
import type { ChannelProfile } from './profile.js';
import { createProgramSchedule, parseMediaPlaylist, type ScheduleEntry } from './program-schedule.js';
import { createRelay } from './relay.js';

/**
 * A channel's state. `slate` means running but showing the slate because there is nothing playable (empty
 * playlist, the end of a non-looping playlist, or every item failed); `paused` shows the slate on request.
 */
export type ChannelState = 'stopped' | 'starting' | 'playing' | 'paused' | 'slate' | 'stopping';

/** Why the slate is on air. */
export type SlateReason = 'paused' | 'empty' | 'ended' | 'failing';

/** The events a channel emits, by name. */
export interface ChannelEvents {
  /** The channel moved from one state to another. */
  'state-changed': { from: ChannelState; to: ChannelState; slateReason?: SlateReason };
  /** An item started feeding the encoder (`startMs` > 0 after resume or a crash). */
  'item-started': { item: PlaylistItem; startMs: number; prefetched: boolean };
  /** An item stopped feeding the encoder: played to its end, cut (jump, edit, pause, stop) or failed. */
  'item-ended': { item: PlaylistItem; reason: 'finished' | 'cut' | 'failed'; playedMs: number };
  /** A broken item (probe ok, decode failed) was skipped. */
  'item-failed': { item: PlaylistItem; reason: string };
  /** The encoder died unexpectedly and was restarted, appending to the same playlist. */
  'encoder-restarted': { exitCode?: number; signal?: string; restarts: number; reason: string };
  /** The encoder's `-progress` feed (about once per second). */
  stats: EncoderStats;
  /** Something went wrong; `fatal: false` means the channel carries on (for example on the slate). */
  error: { error: SerializedError; fatal: boolean };
  /** The playlist changed (after it was persisted). */
  'playlist-changed': { change: PlaylistChange; snapshot: PlaylistSnapshot };
  /**
   * An entry went on air, or the stream time of entries became known (the encoder wrote the first segment
   * of its run): the recent schedule, oldest first. See {@link ScheduleEntry}.
   */
  'schedule-changed': { schedule: ScheduleEntry[] };
}

/** What {@link Channel.status} reports. */
export interface ChannelStatus {
  channelId: string;
  state: ChannelState;
  /** Why the slate is on air, when it is. */
  slateReason?: SlateReason;
  /** The item feeding the encoder, with the position reached in it (milliseconds). */
  item: { id: string; originalName: string; durationMs: number; positionMs: number } | null;
  playlist: { size: number; currentId: string | null; revision: number; loop: boolean };
  encoder: { running: boolean; pid?: number; restarts: number; stats?: EncoderStats };
  /** Epoch milliseconds of the last start, or null when stopped. */
  startedAt: number | null;
  /** Path of the live playlist relative to the channel's HLS folder. */
  playlistName: string;
  /**
   * Whether the channel is meant to be on air (persisted with the playlist): true from `start()` until a
   * user's `stop()`, also across a server restart, when the broadcaster starts it again.
   */
  onAir: boolean;
  /**
   * What went on air recently and when it appears in the stream (program date-time), oldest first: map a
   * player's playhead date to the last entry at or before it to show what the viewer sees. Empty when stopped.
   */
  schedule: ScheduleEntry[];
}

/** One channel: a playlist and the processes that turn it into a live HLS stream. */
export interface Channel {
  /** The channel id (also its folder name). */
  readonly id: string;
  /** Folder holding the live playlist and its segments. */
  readonly hlsDirectory: string;
  /** File name of the live playlist inside {@link Channel.hlsDirectory}: `index.m3u8`. */
  readonly playlistName: string;
  /** Largest accepted upload in bytes (the HTTP layer refuses bigger bodies before reading them). */
  readonly maxUploadBytes: number;
  /**
   * Resolves once the channel is on disk and loaded: `upload-*.part` files a crash left in its `tmp/` folder
   * are removed, the persisted playlist is read (or an empty one written). Says whether a corrupt playlist
   * file was set aside.
   */
  ready(): Promise<PlaylistLoadResult['corrupt'] | undefined>;
  /** The playlist (items, current item, loop flag). */
  list(): Promise<PlaylistSnapshot>;
  /** Streams an upload into the channel: ingest (size limit, probe) then append to the playlist. */
  ingest(source: Readable | AsyncIterable<Uint8Array>, options?: IngestFileOptions): Promise<PlaylistItem>;
  /** Re-ingests items in insta-stream's JSON format (copying and probing each file); returns what failed. */
  importInstaStream(
    data: unknown,
  ): Promise<{ imported: PlaylistItem[]; failed: { id: string; reason: string }[] }>;
  /** Removes an item and its file; when it is playing, the next item starts within a segment. */
  removeItem(id: string): Promise<PlaylistSnapshot>;
  /** Moves one item. */
  moveItem(id: string, toIndex: number): Promise<PlaylistSnapshot>;
  /** Reorders the playlist; `ids` names every item once. */
  reorder(ids: readonly string[]): Promise<PlaylistSnapshot>;
  /** Removes every item and file; a running channel shows the slate. */
  clear(): Promise<PlaylistSnapshot>;
  /** Plays this item now (from its start). */
  jump(id: string): Promise<PlaylistSnapshot>;
  /** Sets whether the playlist loops (default true). */
  setLoop(loop: boolean): Promise<PlaylistSnapshot>;
  /**
   * Starts the encoder and playout.
   *
   * @throws NexStreamError `NXS_CONFLICT` when already running; `NXS_DEPENDENCY_MISSING` without ffmpeg.
   */
  start(): Promise<ChannelStatus>;
  /**
   * Stops gracefully (stdin closed, then SIGTERM; exit 255 after SIGTERM is normal). Idempotent. The channel
   * is then off air for good (persisted) unless `keepOnAir` is set: a shutdown (`Broadcaster.close()`)
   * keeps the on-air intent and records the item and position, so the next start of the server resumes there.
   */
  stop(options?: { keepOnAir?: boolean }): Promise<ChannelStatus>;
  /** Shows the slate and remembers the position. @throws `NXS_CONFLICT` unless playing. */
  pause(): Promise<ChannelStatus>;
  /** Continues the paused item where it was paused. @throws `NXS_CONFLICT` unless paused. */
  resume(): Promise<ChannelStatus>;
  /** The current state, item, position and encoder health. */
  status(): ChannelStatus;
  /** Subscribe to one event; returns the unsubscribe function. */
  on: Emitter<ChannelEvents>['on'];
  /** Subscribe to every event (the SSE stream uses this); returns the unsubscribe function. */
  onAny: Emitter<ChannelEvents>['onAny'];
}

/** Internal options a broadcaster passes to each channel. */
export interface ChannelOptions {
  id: string;
  /** The channel's own folder: playlist.json, media/, hls/, tmp/. */
  directory: string;
  profile: ChannelProfile;
  prober: Prober;
  maxUploadBytes: number;
  /** Demuxers uploads may use and decoders may read stored files with (checked list). */
  allowedContainers: readonly string[];
  ffmpegPath?: string;
  slateImagePath?: string;
  /** How long to show the slate after every item failed before trying again. */
  failureBackoffMs: number;
  /** Who paces the stream at real time: the relay (default; bursts one segment on start) or ffmpeg `-re`. */
  pacing: 'relay' | 'encoder';
  /** Slate chunk length (each chunk is a bounded decoder). */
  slateChunkMs: number;
  /** Start the channel as soon as it is loaded when its persisted playlist says it was on air. Default false. */
  resumeOnAir?: boolean;
}

type Entry = { kind: 'item'; item: PlaylistItem; startMs: number } | { kind: 'slate'; reason: SlateReason };

interface Active {
  entry: Entry;
  decoder: Decoder;
  startedAt: number;
}

const playlistName = 'index.m3u8';

/** Creates a channel (used by the broadcaster; one per id). */
export function createChannel(options: ChannelOptions): Channel {
  const emitter = createEmitter<ChannelEvents>();
  const mediaDirectory = join(options.directory, 'media');
  const hlsDirectory = join(options.directory, 'hls');
  const store = createPlaylistStore(join(options.directory, 'playlist.json'));
  const ingester = createIngest({
    mediaDirectory,
    tempDirectory: join(options.directory, 'tmp'),
    prober: options.prober,
    maxBytes: options.maxUploadBytes,
    allowedContainers: options.allowedContainers,
  });
  // Assigned once loaded; every caller awaits `loaded` first, except `status()`, which checks.
  let playlist!: Playlist;
  // Read at once (a small JSON file), so `status()` is right before the async load finished.
  const preview = readPlaylistPreview(join(options.directory, 'playlist.json'));
  const loaded = (async () => {
    // Before any ingest can start (every ingest awaits `loaded`): what a crash left mid-upload goes.
    await ingester.sweep();
    await mkdir(mediaDirectory, { recursive: true });
    const result = await store.load();
    // A channel exists on disk once its playlist file does (the broadcaster's `get()` looks for it).
    if (!(await stat(store.path).catch(() => undefined))) await store.save(result.document);
    const created = createPlaylist({ store, initial: result.document });
    playlist = created;
    created.on('changed', (event) => {
      emitter.emit('playlist-changed', event);
      onPlaylistChanged(event.change, event.snapshot);
    });
    if (result.corrupt) {
      emitter.emit('error', {
        error: new NexStreamError(
          NexStreamErrorCode.Internal,
          `channel ${options.id}: playlist file was corrupt (${result.corrupt.reason}); it was kept as ${result.corrupt.backupPath} and the channel starts with an empty playlist`,
          { details: result.corrupt },
        ).toJSON(),
        fatal: false,
      });
    }
    return result.corrupt;
  })();
  loaded.catch(() => undefined);

  // A channel that was on air when the server stopped reads as starting until its resume is settled.
  const resuming = options.resumeOnAir === true && preview?.playout?.onAir === true;
  let state: ChannelState = resuming ? 'starting' : 'stopped';
  let slateReason: SlateReason | undefined;
  let generation = 0;
  let ffmpegPath = '';
  let encoder: Encoder | undefined;
  // The relay paces the stream (one segment of lead), so starts and crash restarts get a burst.
  const pacedByRelay = options.pacing !== 'encoder';
  const frameGapMs = 1000 / options.profile.fps;
  const relay = createRelay(
    pacedByRelay ? { leadMs: options.profile.segmentDurationS * 1000, frameGapMs } : { frameGapMs },
  );
  let active: Active | undefined;
  let prefetched: { item: PlaylistItem; decoder: Decoder } | undefined;
  let pendingEntry: Entry | undefined;
  let pausedAt: { itemId: string; positionMs: number } | undefined;
  let failureStreak = 0;
  let slateUntil = 0;
  let endedAtRevision = -1;
  let restarts = 0;
  const crashTimes: number[] = [];
  let lastStats: EncoderStats | undefined;
  let startedAt: number | null = null;
  const schedule = createProgramSchedule({ segmentDurationMs: options.profile.segmentDurationS * 1000 });
  let scheduleWatcher: NodeJS.Timeout | undefined;
  const mediaPlaylistName =
    options.profile.playout === 'copy' || options.profile.renditions.length === 0
      ? playlistName
      : variantPlaylistName(playlistName, 0);
  let janitor: NodeJS.Timeout | undefined;
  let loopDone: Promise<void> = Promise.resolve();

  const setState = (to: ChannelState, reason?: SlateReason) => {
    if (to === state && reason === slateReason) return;
    const from = state;
    state = to;
    slateReason = to === 'slate' || to === 'paused' ? reason : undefined;
    emitter.emit('state-changed', { from, to, ...(slateReason ? { slateReason } : {}) });
  };

  const reportError = (error: unknown, fatal = false) => {
    emitter.emit('error', { error: toNexStreamError(error).toJSON(), fatal });
  };

  const positionOf = (current: Active | undefined): number => {
    if (current?.entry.kind !== 'item') return 0;
    const elapsedMs = current === active ? relay.sourceMediaMs : Date.now() - current.startedAt;
    return Math.min(current.entry.startMs + Math.round(elapsedMs), current.entry.item.durationMs);
  };

  const copyPlayout = options.profile.playout === 'copy';
  const { width, height, fps, segmentDurationS } = options.profile;
  const slateCopyPath = join(options.directory, `slate-${width}x${height}-${fps}-${segmentDurationS}.ts`);
  const slateSource = (): Extract<DecoderSource, { kind: 'slate' }> => ({
    kind: 'slate',
    durationMs: options.slateChunkMs,
    ...(options.slateImagePath ? { imagePath: options.slateImagePath } : {}),
  });

  const sourceFor = (entry: Entry): DecoderSource => {
    if (entry.kind === 'slate') {
      return copyPlayout ? { ...slateSource(), copyPath: slateCopyPath } : slateSource();
    }
    const copy = copyPlayout && entry.item.filename.endsWith('.copy.ts');
    return {
      kind: 'item',
      path: join(mediaDirectory, entry.item.filename),
      startMs: entry.startMs,
      durationMs: Math.max(entry.item.durationMs - entry.startMs, 40),
      hasAudio: copy || entry.item.probe.audioChannels > 0,
      allowedContainers: options.allowedContainers,
      ...(copy ? { copy } : {}),
    };
  };

  /** Copy playout: converts a stored item once to the channel's profile and replaces its file. */
  const normalizeItem = async (item: PlaylistItem): Promise<PlaylistItem> => {
    const ffmpeg = (await locateProgram('ffmpeg', { path: options.ffmpegPath })).path;
    const filename = `${item.id}.copy.ts`;
    const output = join(mediaDirectory, filename);
    try {
      const durationMs = await normalizeForCopy(
        ffmpeg,
        {
          kind: 'item',
          path: join(mediaDirectory, item.filename),
          startMs: 0,
          durationMs: item.durationMs,
          hasAudio: item.probe.audioChannels > 0,
          allowedContainers: options.allowedContainers,
        },
        options.profile,
        output,
      );
      await rm(join(mediaDirectory, item.filename), { force: true });
      return { ...item, filename, durationMs, sizeBytes: (await stat(output)).size };
    } catch (error) {
      await rm(output, { force: true });
      await rm(join(mediaDirectory, item.filename), { force: true });
      throw error;
    }
  };

  const dropPrefetched = () => {
    prefetched?.decoder.stop();
    prefetched = undefined;
  };

  const refreshPrefetch = () => {
    if (state === 'stopping' || state === 'stopped' || !active || active.entry.kind !== 'item') {
      dropPrefetched();
      return;
    }
    const next = playlist.nextAfter(active.entry.item.id);
    if (prefetched && prefetched.item.id !== next?.id) dropPrefetched();
    if (next && !prefetched && isSafeFileName(next.filename)) {
      prefetched = {
        item: next,
        decoder: startDecoder(
          ffmpegPath,
          sourceFor({ kind: 'item', item: next, startMs: 0 }),
          options.profile,
        ),
      };
    }
  };

  const nextEntry = (previous: Entry | undefined): Entry => {
    if (state === 'paused') return { kind: 'slate', reason: 'paused' };
    const snapshot = playlist.list();
    if (snapshot.items.length === 0) return { kind: 'slate', reason: 'empty' };
    if (Date.now() < slateUntil) return { kind: 'slate', reason: 'failing' };
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
  let lastScheduledKey: string | undefined;
  const recordOnAir = (entry: Entry) => {
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
    emitter.emit('schedule-changed', { schedule: schedule.entries() });
  };

  /** Reads the live playlist until the current encoder run's first segment anchors its entries in time. */
  const watchSchedule = () => {
    if (scheduleWatcher) return;
    scheduleWatcher = setInterval(() => {
      if (!schedule.waiting || state === 'stopped' || state === 'stopping') {
        clearInterval(scheduleWatcher);
        scheduleWatcher = undefined;
        return;
      }
      void readFile(join(hlsDirectory, mediaPlaylistName), 'utf8').then(
        (text) => {
          if (schedule.observePlaylist(text)) {
            emitter.emit('schedule-changed', { schedule: schedule.entries() });
          }
        },
        () => undefined,
      );
    }, 200);
    scheduleWatcher.unref();
  };

  /** The highest media sequence number in the live playlist, or -1 when there is none. */
  const lastSegmentSequence = async (): Promise<number> => {
    const text = await readFile(join(hlsDirectory, mediaPlaylistName), 'utf8').catch(() => '');
    return parseMediaPlaylist(text).at(-1)?.sequence ?? -1;
  };

  const cutTo = (entry: Entry) => {
    pendingEntry = entry;
    relay.cut();
  };

  async function runLoop(runGeneration: number): Promise<void> {
    let previous: Entry | undefined;
    while (runGeneration === generation) {
      const entry = pendingEntry ?? nextEntry(previous);
      pendingEntry = undefined;
      if (entry.kind === 'item' && !isSafeFileName(entry.item.filename)) {
        previous = entry;
        continue;
      }
      let decoder: Decoder;
      let wasPrefetched = false;
      if (entry.kind === 'item' && entry.startMs === 0 && prefetched?.item.id === entry.item.id) {
        decoder = prefetched.decoder;
        prefetched = undefined;
        wasPrefetched = true;
      } else {
        decoder = startDecoder(ffmpegPath, sourceFor(entry), options.profile);
      }
      const current: Active = { entry, decoder, startedAt: Date.now() };
      active = current;
      if (entry.kind === 'item') {
        setState('playing');
        emitter.emit('item-started', { item: entry.item, startMs: entry.startMs, prefetched: wasPrefetched });
        if (playlist.list().currentId !== entry.item.id) playlist.advance(entry.item.id).catch(reportError);
      } else {
        setState(entry.reason === 'paused' ? 'paused' : 'slate', entry.reason);
      }
      refreshPrefetch();
      recordOnAir(entry);
      const outcome = await relay.play(decoder.stdout);
      const playedMs = Date.now() - current.startedAt;
      if (outcome === 'cut') {
        decoder.stop();
        if (entry.kind === 'item') emitter.emit('item-ended', { item: entry.item, reason: 'cut', playedMs });
        previous = entry;
        continue;
      }
      const exit = await decoder.closed;
      if (runGeneration !== generation) break;
      if (entry.kind === 'item') {
        const expectedMs = entry.item.durationMs - entry.startMs;
        const failed =
          (exit.exitCode !== 0 && !exit.stoppedByUs) ||
          (playedMs < 300 && expectedMs > 1500 && !pendingEntry);
        if (failed) {
          const reason = exit.stderrTail || `decoder exited with ${exit.exitCode ?? exit.signal}`;
          emitter.emit('item-failed', { item: entry.item, reason });
          emitter.emit('item-ended', { item: entry.item, reason: 'failed', playedMs });
          failureStreak = playedMs < 1000 ? failureStreak + 1 : 0;
          if (failureStreak >= Math.max(1, playlist.list().items.length)) {
            failureStreak = 0;
            slateUntil = Date.now() + options.failureBackoffMs;
            reportError(
              new NexStreamError(
                NexStreamErrorCode.ProcessFailed,
                `channel ${options.id}: every playlist item failed to decode; showing the slate for ${options.failureBackoffMs} ms before trying again`,
              ),
            );
          }
        } else {
          failureStreak = 0;
          emitter.emit('item-ended', { item: entry.item, reason: 'finished', playedMs });
        }
      }
      previous = entry;
    }
  }

  function onPlaylistChanged(change: PlaylistChange, snapshot: PlaylistSnapshot): void {
    if (state === 'stopped' || state === 'stopping' || state === 'starting') return;
    const current = active?.entry;
    const currentItem = snapshot.items[snapshot.currentIndex];
    switch (change.kind) {
      case 'jumped': {
        const item = playlist.get(change.id);
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
  }

  const spawnEncoder = async (append: boolean, lastSequence: number) => {
    schedule.beginRun(lastSequence);
    lastScheduledKey = undefined;
    const next = startEncoder(
      ffmpegPath,
      encoderArguments(options.profile, { hlsDirectory, append, playlistName, pacedInput: pacedByRelay }),
      (stats) => {
        // A last progress block can arrive while stopping: a stopped channel shows no encoder speed.
        if (encoder !== next || state === 'stopping' || state === 'stopped') return;
        lastStats = stats;
        emitter.emit('stats', stats);
      },
    );
    watchSchedule();
    encoder = next;
    relay.resetClock();
    relay.attach(next.stdin);
    const runGeneration = generation;
    next.closed.then((exit) => {
      if (encoder !== next || runGeneration !== generation) return;
      if (state === 'stopping' || state === 'stopped' || isNormalEncoderExit(exit)) return;
      restarts += 1;
      const now = Date.now();
      crashTimes.push(now);
      while (crashTimes.length > 0 && (crashTimes[0] as number) < now - 30_000) crashTimes.shift();
      const reason = exit.stderrTail || `encoder exited with ${exit.exitCode ?? exit.signal}`;
      const delayMs = crashTimes.length > 5 ? 5000 : 0;
      emitter.emit('encoder-restarted', {
        ...(exit.exitCode === undefined ? {} : { exitCode: exit.exitCode }),
        ...(exit.signal === undefined ? {} : { signal: exit.signal }),
        restarts,
        reason,
      });
      if (delayMs > 0) {
        reportError(
          new NexStreamError(
            NexStreamErrorCode.ProcessFailed,
            `channel ${options.id}: the encoder crashed ${crashTimes.length} times in 30 s (${reason}); waiting ${delayMs} ms before the next restart`,
          ),
        );
      }
      setTimeout(() => {
        if (runGeneration !== generation) return;
        const resumeEntry: Entry | undefined =
          active?.entry.kind === 'item'
            ? {
                kind: 'item',
                item: active.entry.item,
                // The killed encoder lost what it had not yet written as a segment: replay the paced lead.
                startMs: Math.max(0, positionOf(active) - options.profile.segmentDurationS * 1000),
              }
            : active?.entry;
        void hasPlaylist().then(async (exists) => {
          const lastSequence = exists ? await lastSegmentSequence() : -1;
          if (runGeneration !== generation) return;
          await spawnEncoder(exists, lastSequence);
          dropPrefetched();
          cutTo(resumeEntry ?? nextEntry(undefined));
        });
      }, delayMs);
    });
  };

  const hasPlaylist = () =>
    stat(join(hlsDirectory, playlistName)).then(
      () => true,
      () => false,
    );

  /** Removes segments that no playlist references any more (left by a crashed encoder) and stale temp files. */
  const cleanOrphans = async () => {
    let names: string[];
    try {
      names = await readdir(hlsDirectory);
    } catch {
      return;
    }
    // The oldest segment number each media playlist still lists, by segment name prefix (`seg-`, `seg_1_`).
    const oldestByPrefix = new Map<string, number>();
    for (const name of names.filter((entry) => entry.endsWith('.m3u8'))) {
      const text = await readFile(join(hlsDirectory, name), 'utf8').catch(() => '');
      for (const line of text.split('\n')) {
        const segment = /^(.*?)(\d+)\.ts$/.exec(line.trim());
        if (!segment) continue;
        const [, prefix = '', number = '0'] = segment;
        oldestByPrefix.set(
          prefix,
          Math.min(oldestByPrefix.get(prefix) ?? Number.POSITIVE_INFINITY, Number(number)),
        );
      }
    }
    const now = Date.now();
    const staleMs = options.profile.segmentDurationS * 3000;
    await Promise.all(
      names.map(async (name) => {
        const path = join(hlsDirectory, name);
        const segment = /^(.*?)(\d+)\.ts$/.exec(name);
        const oldest = segment ? oldestByPrefix.get(segment[1] ?? '') : undefined;
        if (segment && oldest !== undefined && Number(segment[2]) < oldest - 3) {
          await rm(path, { force: true });
        } else if (name.endsWith('.tmp')) {
          const info = await stat(path).catch(() => undefined);
          if (info && now - info.mtimeMs > staleMs) await rm(path, { force: true });
        }
      }),
    );
  };

  const requireLoaded = async () => {
    await loaded;
  };

  const removeFiles = async (items: readonly PlaylistItem[]) => {
    await Promise.all(
      items
        .filter((item) => isSafeFileName(item.filename))
        .map((item) => rm(join(mediaDirectory, item.filename), { force: true })),
    );
  };

  const status = (): ChannelStatus => {
    const snapshot = playlist
      ? playlist.list()
      : preview && {
          items: preview.items,
          currentId: preview.currentId,
          revision: preview.revision,
          loop: preview.loop,
        };
    const current = active;
    return {
      channelId: options.id,
      state,
      ...(slateReason ? { slateReason } : {}),
      item:
        current?.entry.kind === 'item' && state !== 'stopped'
          ? {
              id: current.entry.item.id,
              originalName: current.entry.item.originalName,
              durationMs: current.entry.item.durationMs,
              positionMs: positionOf(current),
            }
          : null,
      playlist: {
        size: snapshot?.items.length ?? 0,
        currentId: snapshot?.currentId ?? null,
        revision: snapshot?.revision ?? 0,
        loop: snapshot?.loop ?? true,
      },
      encoder: {
        running: encoder !== undefined && state !== 'stopped',
        ...(encoder?.pid === undefined ? {} : { pid: encoder.pid }),
        restarts,
        ...(lastStats ? { stats: lastStats } : {}),
      },
      startedAt,
      playlistName,
      onAir: (playlist ? playlist.playout() : preview?.playout)?.onAir === true,
      schedule: state === 'stopped' ? [] : schedule.entries(),
    };
  };

  /** Where a resume starts: the recorded item at its position, unless it is gone or nearly over. */
  const resumeEntry = (resumeAt: PlayoutState['resumeAt']): Entry | undefined => {
    const item = resumeAt && playlist.get(resumeAt.itemId);
    if (!item || !resumeAt || resumeAt.positionMs > item.durationMs - 1000) return undefined;
    return { kind: 'item', item, startMs: Math.max(0, Math.round(resumeAt.positionMs)) };
  };

  /** Starts the encoder and playout; the state is already `starting`. */
  const startPlayout = async (resumeAt: PlayoutState['resumeAt']): Promise<ChannelStatus> => {
    try {
      ffmpegPath = (await locateProgram('ffmpeg', { path: options.ffmpegPath })).path;
      if (copyPlayout && !(await stat(slateCopyPath).catch(() => undefined))) {
        await normalizeForCopy(ffmpegPath, slateSource(), options.profile, `${slateCopyPath}.tmp`);
        await rename(`${slateCopyPath}.tmp`, slateCopyPath);
      }
      await rm(hlsDirectory, { recursive: true, force: true });
      await mkdir(hlsDirectory, { recursive: true });
    } catch (error) {
      setState('stopped');
      throw error;
    }
    generation += 1;
    const runGeneration = generation;
    startedAt = Date.now();
    failureStreak = 0;
    slateUntil = 0;
    lastStats = undefined;
    schedule.clear();
    pendingEntry = resumeEntry(resumeAt);
    if (resumeAt?.paused && pendingEntry?.kind === 'item') {
      // Paused when the server stopped: back on the slate, and resume() continues where it was.
      pausedAt = { itemId: pendingEntry.item.id, positionMs: pendingEntry.startMs };
      setState('paused', 'paused');
      pendingEntry = { kind: 'slate', reason: 'paused' };
    }
    await spawnEncoder(false, -1);
    janitor = setInterval(() => void cleanOrphans(), options.profile.segmentDurationS * 1000);
    janitor.unref();
    loopDone = runLoop(runGeneration).catch((error: unknown) => {
      reportError(error, true);
    });
    // On air until a user stops it, across server restarts too.
    await playlist.setPlayout({ onAir: true }).catch(reportError);
    return status();
  };

  // A channel that was on air before the server restarted starts again as soon as it is loaded.
  const resumed: Promise<void> = resuming
    ? loaded.then(
        async () => {
          const playout = playlist.playout();
          if (!playout?.onAir) {
            setState('stopped');
            return;
          }
          await startPlayout(playout.resumeAt).catch((error: unknown) => {
            const cause = toNexStreamError(error);
            reportError(
              new NexStreamError(
                cause.code,
                `channel ${options.id} was on air before the restart but could not start again: ${cause.message}`,
                { cause },
              ),
            );
          });
        },
        () => setState('stopped'),
      )
    : Promise.resolve();

  return {
    id: options.id,
    hlsDirectory,
    playlistName,
    maxUploadBytes: options.maxUploadBytes,
    ready: () =>
      loaded.then(async (corrupt) => {
        await resumed;
        return corrupt;
      }),
    async list() {
      await requireLoaded();
      return playlist.list();
    },
    async ingest(source, ingestOptions) {
      await requireLoaded();
      let item = await ingester.ingest(source, ingestOptions);
      if (copyPlayout) {
        item = await normalizeItem(item).catch((error: unknown) => {
          throw uploadError(error, ingestOptions?.originalName);
        });
      }
      try {
        await playlist.add(item);
      } catch (error) {
        await removeFiles([item]);
        throw error;
      }
      return item;
    },
    async importInstaStream(data) {
      await requireLoaded();
      const entries = parseInstaStreamItems(data);
      const imported: PlaylistItem[] = [];
      const failed: { id: string; reason: string }[] = [];
      for (const entry of entries) {
        try {
          const handle = await open(entry.path, 'r');
          let item = await ingester
            .ingest(handle.createReadStream(), { originalName: entry.originalName })
            .finally(() => handle.close().catch(() => undefined));
          if (copyPlayout) item = await normalizeItem(item);
          const addedAt = new Date(entry.addedAt);
          imported.push({
            ...item,
            addedAt: Number.isNaN(addedAt.getTime()) ? item.addedAt : addedAt.toISOString(),
          });
        } catch (error) {
          failed.push({ id: entry.id, reason: toNexStreamError(error).message });
        }
      }
      if (imported.length > 0) await playlist.addMany(imported);
      return { imported, failed };
    },
    async removeItem(id) {
      await requireLoaded();
      const { snapshot, removed } = await playlist.remove(id);
      await removeFiles([removed]);
      return snapshot;
    },
    async moveItem(id, toIndex) {
      await requireLoaded();
      return playlist.move(id, toIndex);
    },
    async reorder(ids) {
      await requireLoaded();
      return playlist.reorder(ids);
    },
    async clear() {
      await requireLoaded();
      const { snapshot, removed } = await playlist.clear();
      await removeFiles(removed);
      return snapshot;
    },
    async jump(id) {
      await requireLoaded();
      return playlist.jump(id);
    },
    async setLoop(loop) {
      await requireLoaded();
      return playlist.setLoop(loop);
    },
    async start() {
      // Checked and set before any await: two concurrent starts cannot both pass.
      if (state !== 'stopped') {
        throw new NexStreamError(NexStreamErrorCode.Conflict, `channel ${options.id} is already ${state}`);
      }
      setState('starting');
      try {
        await requireLoaded();
      } catch (error) {
        setState('stopped');
        throw error;
      }
      return startPlayout(undefined);
    },
    async stop(stopOptions = {}) {
      await requireLoaded();
      await resumed;
      const keepOnAir = stopOptions.keepOnAir === true;
      if (state === 'stopped' || state === 'stopping') {
        await loopDone;
        if (!keepOnAir && playlist.playout()?.onAir) await playlist.setPlayout({ onAir: false });
        return status();
      }
      // Where to carry on after a restart: the paused position, or the item feeding the encoder.
      const resumeAt =
        state === 'paused' && pausedAt
          ? { ...pausedAt, paused: true }
          : active?.entry.kind === 'item'
            ? { itemId: active.entry.item.id, positionMs: positionOf(active) }
            : undefined;
      setState('stopping');
      generation += 1;
      if (janitor) clearInterval(janitor);
      janitor = undefined;
      const decoders = [active?.decoder, prefetched?.decoder].filter((d): d is Decoder => d !== undefined);
      relay.cut();
      for (const decoder of decoders) decoder.stop();
      prefetched = undefined;
      const closing = encoder?.stop();
      await Promise.all([closing, ...decoders.map((decoder) => decoder.closed), loopDone]);
      active = undefined;
      pausedAt = undefined;
      startedAt = null;
      lastStats = undefined;
      schedule.clear();
      clearInterval(scheduleWatcher);
      scheduleWatcher = undefined;
      await playlist
        .setPlayout(keepOnAir ? { onAir: true, ...(resumeAt ? { resumeAt } : {}) } : { onAir: false })
        .catch(reportError);
      setState('stopped');
      return status();
    },
    async pause() {
      await requireLoaded();
      if (state !== 'playing' || active?.entry.kind !== 'item') {
        throw new NexStreamError(
          NexStreamErrorCode.Conflict,
          `channel ${options.id} cannot pause while ${state}`,
        );
      }
      pausedAt = { itemId: active.entry.item.id, positionMs: positionOf(active) };
      setState('paused', 'paused');
      cutTo({ kind: 'slate', reason: 'paused' });
      dropPrefetched();
      return status();
    },
    async resume() {
      await requireLoaded();
      if (state !== 'paused') {
        throw new NexStreamError(
          NexStreamErrorCode.Conflict,
          `channel ${options.id} is not paused (${state})`,
        );
      }
      const snapshot = playlist.list();
      const item = (pausedAt && playlist.get(pausedAt.itemId)) ?? snapshot.items[snapshot.currentIndex];
      const positionMs = item && pausedAt?.itemId === item.id ? pausedAt.positionMs : 0;
      pausedAt = undefined;
      setState('playing');
      cutTo(item ? { kind: 'item', item, startMs: positionMs } : { kind: 'slate', reason: 'empty' });
      return status();
    },
    status,
    on: emitter.on,
    onAny: emitter.onAny,
  };
}

/** The persisted playlist read synchronously (for `status()` before the load), or `undefined`. */
function readPlaylistPreview(path: string): PlaylistDocument | undefined {
  try {
    return parsePlaylistDocument(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}
