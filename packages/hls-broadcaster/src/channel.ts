import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { NexStreamError, NexStreamErrorCode, type SerializedError, toNexStreamError } from '@nexstream/core';
import { locateProgram } from '@nexstream/core/node';
import {
  type ChannelState,
  createChannelLifecycle,
  type SlateReason,
  type StateChange,
} from './channel-lifecycle.js';
import { createEmitter, type Emitter } from './emitter.js';
import { type EncoderStats, variantPlaylistName } from './encoder.js';
import { createEncoderSupervisor } from './encoder-supervisor.js';
import { createIngest, type IngestFileOptions, uploadError } from './ingest.js';
import { importInstaStream } from './legacy-import.js';
import {
  createPlaylist,
  type EditOptions,
  type Playlist,
  type PlaylistChange,
  type PlaylistDocument,
  type PlaylistItem,
  type PlaylistSnapshot,
} from './playlist.js';
import { isSafeFileName, type PlaylistLoadResult, type PlaylistStore } from './playlist-store.js';
import { createPlayoutLoop } from './playout-loop.js';
import { createPlayoutSources } from './playout-sources.js';
import type { Prober } from './prober.js';
import type { ChannelProfile } from './profile.js';
import { createProgramSchedule, type ScheduleEntry } from './program-schedule.js';
import { createRelay } from './relay.js';
import { createSegmentCleaner } from './segment-cleaner.js';

export type { ChannelState, SlateReason } from './channel-lifecycle.js';

/** The events a channel emits, by name. */
export interface ChannelEvents {
  /** The channel moved from one state to another. */
  'state-changed': StateChange;
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
  /**
   * Streams an upload into the channel: ingest (size limit, probe) then append to the playlist. With
   * `expectedRevision`, the append is refused (`NXS_CONFLICT`, the stored file removed) when the playlist was
   * edited since that revision.
   */
  ingest(
    source: Readable | AsyncIterable<Uint8Array>,
    options?: IngestFileOptions & EditOptions,
  ): Promise<PlaylistItem>;
  /** Re-ingests items in insta-stream's JSON format (copying and probing each file); returns what failed. */
  importInstaStream(
    data: unknown,
  ): Promise<{ imported: PlaylistItem[]; failed: { id: string; reason: string }[] }>;
  /**
   * Removes an item and its file; when it is playing, the next item starts within a segment. Every edit
   * takes `expectedRevision` (see {@link EditOptions}): `NXS_CONFLICT` when the playlist moved on since.
   */
  removeItem(id: string, options?: EditOptions): Promise<PlaylistSnapshot>;
  /** Moves one item. */
  moveItem(id: string, toIndex: number, options?: EditOptions): Promise<PlaylistSnapshot>;
  /** Reorders the playlist; `ids` names every item once. */
  reorder(ids: readonly string[], options?: EditOptions): Promise<PlaylistSnapshot>;
  /** Removes every item and file; a running channel shows the slate. */
  clear(options?: EditOptions): Promise<PlaylistSnapshot>;
  /** Plays this item now (from its start). An edit: it bumps the revision like the others. */
  jump(id: string, options?: EditOptions): Promise<PlaylistSnapshot>;
  /** Sets whether the playlist loops (default true). */
  setLoop(loop: boolean, options?: EditOptions): Promise<PlaylistSnapshot>;
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
  /** The channel's own folder: media/, hls/, tmp/ (and playlist.json with the file storage). */
  directory: string;
  /** Where the channel's playlist is persisted. */
  store: PlaylistStore;
  /**
   * What the storage's listing said of the on-air flag, for a store that cannot be read synchronously: the
   * channel then reports `starting` until its load decides.
   */
  listedOnAir?: boolean;
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

const playlistName = 'index.m3u8';

/**
 * Creates a channel (used by the broadcaster; one per id). The channel composes its parts: the state
 * machine (`channel-lifecycle.ts`), the playout loop (`playout-loop.ts`), the encoder and its crash restart
 * (`encoder-supervisor.ts`), what decoders read and the copy-mode conversion (`playout-sources.ts`), the
 * segment cleaner (`segment-cleaner.ts`), the ingest (`ingest.ts`) and the insta-stream importer
 * (`legacy-import.ts`). This function loads the playlist, routes events between the parts and implements
 * the public commands.
 */
export function createChannel(options: ChannelOptions): Channel {
  const emitter = createEmitter<ChannelEvents>();
  const mediaDirectory = join(options.directory, 'media');
  const hlsDirectory = join(options.directory, 'hls');
  const store = options.store;
  const ingester = createIngest({
    mediaDirectory,
    tempDirectory: join(options.directory, 'tmp'),
    prober: options.prober,
    maxBytes: options.maxUploadBytes,
    allowedContainers: options.allowedContainers,
  });
  const reportError = (error: unknown, fatal = false) => {
    emitter.emit('error', { error: toNexStreamError(error).toJSON(), fatal });
  };

  // Assigned once loaded; every caller awaits `loaded` first, except `status()`, which checks.
  let playlist!: Playlist;
  // Read at once when the store can (a small JSON file), so `status()` is right before the async load finished.
  const preview = store.peek?.();
  const onAirAtLoad = store.peek ? preview?.playout?.onAir === true : options.listedOnAir === true;
  // A channel that was on air when the server stopped reads as starting until its resume is settled.
  const resuming = options.resumeOnAir === true && onAirAtLoad;
  const lifecycle = createChannelLifecycle(options.id, resuming ? 'starting' : 'stopped', (change) =>
    emitter.emit('state-changed', change),
  );

  let ffmpegPath = '';
  let startedAt: number | null = null;
  // The relay paces the stream (one segment of lead), so starts and crash restarts get a burst.
  const pacedByRelay = options.pacing !== 'encoder';
  const frameGapMs = 1000 / options.profile.fps;
  const relay = createRelay(
    pacedByRelay ? { leadMs: options.profile.segmentDurationS * 1000, frameGapMs } : { frameGapMs },
  );
  const schedule = createProgramSchedule({ segmentDurationMs: options.profile.segmentDurationS * 1000 });
  const emitSchedule = () => emitter.emit('schedule-changed', { schedule: schedule.entries() });
  const sources = createPlayoutSources({
    directory: options.directory,
    mediaDirectory,
    profile: options.profile,
    allowedContainers: options.allowedContainers,
    slateChunkMs: options.slateChunkMs,
    ...(options.ffmpegPath ? { ffmpegPath: options.ffmpegPath } : {}),
    ...(options.slateImagePath ? { slateImagePath: options.slateImagePath } : {}),
  });
  const playout = createPlayoutLoop({
    channelId: options.id,
    profile: options.profile,
    lifecycle,
    playlist: () => playlist,
    relay,
    sources,
    schedule,
    ffmpegPath: () => ffmpegPath,
    failureBackoffMs: options.failureBackoffMs,
    on: {
      itemStarted: (event) => emitter.emit('item-started', event),
      itemEnded: (event) => emitter.emit('item-ended', event),
      itemFailed: (event) => emitter.emit('item-failed', event),
      scheduled: emitSchedule,
      error: (error) => reportError(error),
    },
  });
  const supervisor = createEncoderSupervisor({
    channelId: options.id,
    profile: options.profile,
    lifecycle,
    relay,
    schedule,
    hlsDirectory,
    playlistName,
    mediaPlaylistName:
      options.profile.playout === 'copy' || options.profile.renditions.length === 0
        ? playlistName
        : variantPlaylistName(playlistName, 0),
    pacedInput: pacedByRelay,
    ffmpegPath: () => ffmpegPath,
    on: {
      stats: (stats) => emitter.emit('stats', stats),
      restarted: (event) => emitter.emit('encoder-restarted', event),
      scheduleAnchored: emitSchedule,
      error: (error) => reportError(error),
      crashed: (respawn) => playout.restartAfterCrash(respawn),
    },
  });
  const cleaner = createSegmentCleaner({
    hlsDirectory,
    segmentDurationS: options.profile.segmentDurationS,
    listSize: options.profile.listSize,
  });

  const loaded = (async () => {
    // Before any ingest can start (every ingest awaits `loaded`): what a crash left mid-upload goes.
    await ingester.sweep();
    await mkdir(mediaDirectory, { recursive: true });
    const result = await store.load();
    // A channel exists once its playlist is stored (the broadcaster's `get()` looks for it).
    if (!result.found) await store.save(result.document);
    const created = createPlaylist({ store, initial: result.document });
    playlist = created;
    created.on('changed', (event) => {
      emitter.emit('playlist-changed', event);
      playout.playlistChanged(event.change, event.snapshot);
    });
    if (result.corrupt) {
      reportError(
        new NexStreamError(
          NexStreamErrorCode.Internal,
          `channel ${options.id}: playlist file was corrupt (${result.corrupt.reason}); it was kept as ${result.corrupt.backupPath} and the channel starts with an empty playlist`,
          { details: result.corrupt },
        ),
      );
    }
    return result.corrupt;
  })();
  loaded.catch(() => undefined);

  const removeFiles = async (items: readonly PlaylistItem[]) => {
    await Promise.all(
      items
        .filter((item) => isSafeFileName(item.filename))
        .map((item) => rm(join(mediaDirectory, item.filename), { force: true })),
    );
  };

  /** Stores one upload (converted once in copy playout); the caller adds it to the playlist. */
  const storeUpload = async (
    source: Readable | AsyncIterable<Uint8Array>,
    ingestOptions: IngestFileOptions | undefined,
  ): Promise<PlaylistItem> => {
    const item = await ingester.ingest(source, ingestOptions);
    if (!sources.copy) return item;
    return sources.normalizeItem(item).catch((error: unknown) => {
      throw uploadError(error, ingestOptions?.originalName);
    });
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
    const current = playout.active;
    const state = lifecycle.state;
    const encoder = supervisor.encoder;
    const lastStats = supervisor.lastStats;
    return {
      channelId: options.id,
      state,
      ...(lifecycle.slateReason ? { slateReason: lifecycle.slateReason } : {}),
      item:
        current?.entry.kind === 'item' && state !== 'stopped'
          ? {
              id: current.entry.item.id,
              originalName: current.entry.item.originalName,
              durationMs: current.entry.item.durationMs,
              positionMs: playout.positionOf(current),
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
        restarts: supervisor.restarts,
        ...(lastStats ? { stats: lastStats } : {}),
      },
      startedAt,
      playlistName,
      onAir: playlist ? playlist.playout()?.onAir === true : onAirAtLoad,
      schedule: state === 'stopped' ? [] : schedule.entries(),
    };
  };

  /** Starts the encoder and playout; the state is already `starting`. */
  const startPlayout = async (
    resumeAt: NonNullable<PlaylistDocument['playout']>['resumeAt'],
    continuePlaylist = false,
  ): Promise<ChannelStatus> => {
    // Resuming a channel that was on air (a restart, a takeover, even after a crash that saved no position):
    // the stream goes on where it was, with one discontinuity, so players and caches keep following it. A
    // user's start begins a new stream.
    try {
      ffmpegPath = (await locateProgram('ffmpeg', { path: options.ffmpegPath })).path;
      await sources.prepare(ffmpegPath);
      if (!continuePlaylist) await rm(hlsDirectory, { recursive: true, force: true });
      await mkdir(hlsDirectory, { recursive: true });
    } catch (error) {
      lifecycle.set('stopped');
      throw error;
    }
    startedAt = Date.now();
    schedule.clear();
    await supervisor.start({ continuePlaylist });
    cleaner.start();
    playout.start(resumeAt);
    // On air until a user stops it, across server restarts too.
    await playlist.setPlayout({ onAir: true }).catch(reportError);
    return status();
  };

  // A channel that was on air before the server restarted starts again as soon as it is loaded.
  const resumed: Promise<void> = resuming
    ? loaded.then(
        async () => {
          const intent = playlist.playout();
          if (!intent?.onAir) {
            lifecycle.set('stopped');
            return;
          }
          await startPlayout(intent.resumeAt, true).catch((error: unknown) => {
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
        () => lifecycle.set('stopped'),
      )
    : Promise.resolve();

  /** Waits for the load, then runs `edit` on the playlist. */
  const edit = async <T>(run: (loadedPlaylist: Playlist) => Promise<T>): Promise<T> => {
    await loaded;
    return run(playlist);
  };

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
    list: () => edit(async (loadedPlaylist) => loadedPlaylist.list()),
    async ingest(source, ingestOptions) {
      await loaded;
      const item = await storeUpload(source, ingestOptions);
      try {
        await playlist.add(
          item,
          ingestOptions?.expectedRevision === undefined
            ? {}
            : { expectedRevision: ingestOptions.expectedRevision },
        );
      } catch (error) {
        await removeFiles([item]);
        throw error;
      }
      return item;
    },
    importInstaStream: (data) =>
      edit((loadedPlaylist) =>
        importInstaStream(data, {
          ingest: (source, originalName) => storeUpload(source, { originalName }),
          addMany: (items) => loadedPlaylist.addMany(items),
        }),
      ),
    removeItem: (id, editOptions) =>
      edit(async (loadedPlaylist) => {
        const { snapshot, removed } = await loadedPlaylist.remove(id, editOptions);
        await removeFiles([removed]);
        return snapshot;
      }),
    moveItem: (id, toIndex, editOptions) =>
      edit((loadedPlaylist) => loadedPlaylist.move(id, toIndex, editOptions)),
    reorder: (ids, editOptions) => edit((loadedPlaylist) => loadedPlaylist.reorder(ids, editOptions)),
    clear: (editOptions) =>
      edit(async (loadedPlaylist) => {
        const { snapshot, removed } = await loadedPlaylist.clear(editOptions);
        await removeFiles(removed);
        return snapshot;
      }),
    jump: (id, editOptions) => edit((loadedPlaylist) => loadedPlaylist.jump(id, editOptions)),
    setLoop: (loop, editOptions) => edit((loadedPlaylist) => loadedPlaylist.setLoop(loop, editOptions)),
    async start() {
      lifecycle.beginStart();
      try {
        await loaded;
      } catch (error) {
        lifecycle.set('stopped');
        throw error;
      }
      return startPlayout(undefined);
    },
    async stop(stopOptions = {}) {
      await loaded;
      await resumed;
      const keepOnAir = stopOptions.keepOnAir === true;
      if (lifecycle.winding) {
        await playout.idle();
        if (!keepOnAir && playlist.playout()?.onAir) await playlist.setPlayout({ onAir: false });
        return status();
      }
      // Where to carry on after a restart: the paused position, or the item feeding the encoder.
      const resumeAt = playout.resumePoint();
      lifecycle.set('stopping');
      cleaner.stop();
      // The decoders are cut first, then the encoder's input is closed.
      await Promise.all([playout.halt(), supervisor.stop()]);
      startedAt = null;
      schedule.clear();
      await playlist
        .setPlayout(keepOnAir ? { onAir: true, ...(resumeAt ? { resumeAt } : {}) } : { onAir: false })
        .catch(reportError);
      lifecycle.set('stopped');
      return status();
    },
    async pause() {
      await loaded;
      lifecycle.assertCanPause();
      playout.pause();
      return status();
    },
    async resume() {
      await loaded;
      lifecycle.assertCanResume();
      playout.resume();
      return status();
    },
    status,
    on: emitter.on,
    onAny: emitter.onAny,
  };
}

/** The persisted playlist read synchronously (for `status()` before the load), or `undefined`. */
