import { randomUUID } from 'node:crypto';
import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import { createEmitter, type Emitter } from './emitter.js';
import type { PlaylistStore } from './playlist-store.js';

/** What ffprobe found in an item, kept so the channel can plan its decoder without probing again. */
export interface MediaProbe {
  /** Container format name(s) as ffprobe reports them, e.g. `mov,mp4,m4a,3gp,3g2,mj2`. */
  container: string;
  /** Duration in milliseconds. */
  durationMs: number;
  /** Video codec name (`h264`, `vp9`…). */
  videoCodec: string;
  /** Coded width in pixels. */
  width: number;
  /** Coded height in pixels. */
  height: number;
  /** Frames per second (average frame rate). */
  fps: number;
  /** Audio codec name, or `undefined` for a silent video. */
  audioCodec?: string;
  /** Audio channel count, or 0 when there is no audio. */
  audioChannels: number;
  /** Audio sample rate in hertz, or 0 when there is no audio. */
  audioSampleRateHz: number;
}

/** One video in a channel's playlist. */
export interface PlaylistItem {
  /** Stable id (a UUID), used by every API that names an item. */
  id: string;
  /** The generated name of the stored file inside the channel's media folder (never the client's name). */
  filename: string;
  /** The name the uploader gave, for display only (never used as a path). */
  originalName: string;
  /** Stored file size in bytes. */
  sizeBytes: number;
  /** Playable duration in milliseconds (from the probe). */
  durationMs: number;
  /** The probe's findings. */
  probe: MediaProbe;
  /** When the item was added, ISO 8601. */
  addedAt: string;
}

/** The persisted shape of a playlist (version 1). */
export interface PlaylistDocument {
  /** Schema version of this document; readers refuse versions they do not know. */
  version: 1;
  items: PlaylistItem[];
  /** The item that is playing or will play next when the channel starts; `null` for an empty playlist. */
  currentId: string | null;
  /** Whether playback wraps around from the last item to the first (default true). */
  loop: boolean;
  /** Bumped by one on every change: lets clients detect lost updates. */
  revision: number;
  /** Time of the last change, ISO 8601. */
  updatedAt: string;
  /**
   * Whether the channel is meant to be on air, and where it was: absent (older files) means off air. A
   * broadcaster created on this folder starts a channel whose playlist says `onAir` again (see
   * `BroadcasterOptions.resume`).
   */
  playout?: PlayoutState;
}

/**
 * The on-air intent of a channel, persisted with its playlist so a server restart carries on: `start()` sets
 * `onAir`, a user's `stop()` clears it, and a shutdown (`Broadcaster.close()`) keeps it and records where the
 * channel was.
 */
export interface PlayoutState {
  /** True from `start()` until a user's `stop()`: the channel is started again when the server starts. */
  onAir: boolean;
  /**
   * Where a graceful shutdown left the channel: the item and the position reached in it, in milliseconds,
   * and whether it was paused there (it then comes back paused, on the slate). A crash (no shutdown) leaves
   * none; the channel then resumes at the start of the current item.
   */
  resumeAt?: { itemId: string; positionMs: number; paused?: boolean };
  /** When this was written, ISO 8601. */
  updatedAt: string;
}

/** The playlist as {@link Playlist.list} reports it. */
export interface PlaylistSnapshot {
  items: PlaylistItem[];
  currentId: string | null;
  /** Index of the current item in `items`, or -1 when empty. */
  currentIndex: number;
  loop: boolean;
  revision: number;
}

/** What happened to the playlist, as carried by its `changed` event. */
export type PlaylistChange =
  | { kind: 'added'; item: PlaylistItem }
  | { kind: 'removed'; item: PlaylistItem }
  | { kind: 'moved'; id: string; toIndex: number }
  | { kind: 'reordered' }
  | { kind: 'cleared'; items: PlaylistItem[] }
  | { kind: 'jumped'; id: string }
  | { kind: 'advanced'; id: string }
  | { kind: 'loop'; loop: boolean }
  | { kind: 'imported'; items: PlaylistItem[] }
  | { kind: 'playout'; onAir: boolean };

/** Events a playlist emits. */
export interface PlaylistEvents {
  /** After a change was applied and persisted. */
  changed: { change: PlaylistChange; snapshot: PlaylistSnapshot };
}

/**
 * A channel's ordered list of items, with a current item and loop flag. Every mutation is serialized through
 * one queue and persisted atomically before it resolves, so concurrent edits from many requests give one
 * consistent result and a crash never loses an acknowledged edit.
 */
export interface Playlist {
  /** The current state (a copy). */
  list(): PlaylistSnapshot;
  /** The item with this id, or `undefined`. */
  get(id: string): PlaylistItem | undefined;
  /** Appends an item (or inserts it at `index`). The first item of an empty playlist becomes current. */
  add(item: PlaylistItem, options?: { index?: number }): Promise<PlaylistSnapshot>;
  /** Removes an item; when it was current, the next item (in loop order) becomes current. */
  remove(id: string): Promise<{ snapshot: PlaylistSnapshot; removed: PlaylistItem }>;
  /** Moves one item to `toIndex` (clamped). */
  move(id: string, toIndex: number): Promise<PlaylistSnapshot>;
  /** Puts the items in this order; `ids` must name every item exactly once. */
  reorder(ids: readonly string[]): Promise<PlaylistSnapshot>;
  /** Removes every item. */
  clear(): Promise<{ snapshot: PlaylistSnapshot; removed: PlaylistItem[] }>;
  /** Makes this item current (the channel plays it at once when running). */
  jump(id: string): Promise<PlaylistSnapshot>;
  /** Sets whether playback wraps around. */
  setLoop(loop: boolean): Promise<PlaylistSnapshot>;
  /**
   * The item after `id` in play order, or `undefined` at the end of a non-looping playlist. When `id` is no
   * longer in the playlist, the current item is returned.
   */
  nextAfter(id: string | null): PlaylistItem | undefined;
  /** Records that the channel moved on to `id` (persisted, so a restart resumes there). */
  advance(id: string): Promise<PlaylistSnapshot>;
  /** Appends many items in one persisted change. */
  addMany(items: readonly PlaylistItem[]): Promise<PlaylistSnapshot>;
  /** The persisted on-air intent (a copy), or `undefined` when none was ever written. */
  playout(): PlayoutState | undefined;
  /** Persists the on-air intent (`updatedAt` is set here). */
  setPlayout(playout: Omit<PlayoutState, 'updatedAt'>): Promise<PlaylistSnapshot>;
  /** Subscribe to changes; returns the unsubscribe function. */
  on: Emitter<PlaylistEvents>['on'];
  /** Resolves once every queued mutation has been applied. */
  idle(): Promise<void>;
}

/** Options for {@link createPlaylist}. */
export interface PlaylistOptions {
  /** Where the document is persisted. */
  store: PlaylistStore;
  /** The document loaded at start (from {@link PlaylistStore.load}); an empty playlist when absent. */
  initial?: PlaylistDocument;
  /** Clock for `updatedAt` (tests inject one). */
  now?: () => Date;
}

/** A new, empty playlist document. */
export function emptyPlaylistDocument(now: Date = new Date()): PlaylistDocument {
  return { version: 1, items: [], currentId: null, loop: true, revision: 0, updatedAt: now.toISOString() };
}

/** Creates a playlist over a store. Mutations are queued and persisted in order. */
export function createPlaylist(options: PlaylistOptions): Playlist {
  const now = options.now ?? (() => new Date());
  let document: PlaylistDocument = structuredClone(options.initial ?? emptyPlaylistDocument(now()));
  const emitter = createEmitter<PlaylistEvents>();
  let queue: Promise<unknown> = Promise.resolve();

  const snapshot = (from: PlaylistDocument = document): PlaylistSnapshot => ({
    items: from.items.map((item) => ({ ...item, probe: { ...item.probe } })),
    currentId: from.currentId,
    currentIndex: from.currentId === null ? -1 : from.items.findIndex((item) => item.id === from.currentId),
    loop: from.loop,
    revision: from.revision,
  });

  /** Runs `mutate` on a draft after every earlier mutation; persists, then publishes, then resolves. */
  function enqueue<T>(
    mutate: (draft: PlaylistDocument) => { change: PlaylistChange; result: T },
  ): Promise<T> {
    const run = async (): Promise<T> => {
      const draft = structuredClone(document);
      const { change, result } = mutate(draft);
      draft.revision = document.revision + 1;
      draft.updatedAt = now().toISOString();
      await options.store.save(draft);
      document = draft;
      emitter.emit('changed', { change, snapshot: snapshot() });
      return result;
    };
    const next = queue.then(run, run);
    queue = next.catch(() => undefined);
    return next;
  }

  const indexOf = (draft: PlaylistDocument, id: string): number => {
    const index = draft.items.findIndex((item) => item.id === id);
    if (index < 0) {
      throw new NexStreamError(NexStreamErrorCode.NotFound, `playlist item ${id} does not exist`, {
        details: { id },
      });
    }
    return index;
  };

  return {
    list: () => snapshot(),
    get: (id) => {
      const item = document.items.find((candidate) => candidate.id === id);
      return item ? { ...item, probe: { ...item.probe } } : undefined;
    },
    add: (item, addOptions = {}) =>
      enqueue((draft) => {
        if (draft.items.some((existing) => existing.id === item.id)) {
          throw new NexStreamError(NexStreamErrorCode.Conflict, `playlist item ${item.id} already exists`);
        }
        const index = clampIndex(addOptions.index ?? draft.items.length, draft.items.length);
        draft.items.splice(index, 0, { ...item });
        if (draft.currentId === null) draft.currentId = item.id;
        return { change: { kind: 'added', item }, result: snapshot(draft) };
      }),
    addMany: (items) =>
      enqueue((draft) => {
        for (const item of items) {
          if (draft.items.some((existing) => existing.id === item.id)) continue;
          draft.items.push({ ...item });
        }
        if (draft.currentId === null) draft.currentId = draft.items[0]?.id ?? null;
        return { change: { kind: 'imported', items: [...items] }, result: snapshot(draft) };
      }),
    remove: (id) =>
      enqueue((draft) => {
        const index = indexOf(draft, id);
        const [removed] = draft.items.splice(index, 1) as [PlaylistItem];
        if (draft.currentId === id) {
          const following = draft.items[index] ?? (draft.loop ? draft.items[0] : undefined);
          draft.currentId = following?.id ?? draft.items[0]?.id ?? null;
        }
        return { change: { kind: 'removed', item: removed }, result: { snapshot: snapshot(draft), removed } };
      }),
    move: (id, toIndex) =>
      enqueue((draft) => {
        const index = indexOf(draft, id);
        const [item] = draft.items.splice(index, 1) as [PlaylistItem];
        const target = clampIndex(toIndex, draft.items.length);
        draft.items.splice(target, 0, item);
        return { change: { kind: 'moved', id, toIndex: target }, result: snapshot(draft) };
      }),
    reorder: (ids) =>
      enqueue((draft) => {
        const byId = new Map(draft.items.map((item) => [item.id, item]));
        if (ids.length !== draft.items.length || new Set(ids).size !== ids.length) {
          throw new NexStreamError(
            NexStreamErrorCode.InvalidInput,
            `reorder needs every playlist item id exactly once (${draft.items.length} items, got ${ids.length} ids)`,
          );
        }
        const ordered = ids.map((id) => {
          const item = byId.get(id);
          if (!item) {
            throw new NexStreamError(NexStreamErrorCode.InvalidInput, `reorder names unknown item ${id}`);
          }
          return item;
        });
        draft.items = ordered;
        return { change: { kind: 'reordered' }, result: snapshot(draft) };
      }),
    clear: () =>
      enqueue((draft) => {
        const removed = draft.items;
        draft.items = [];
        draft.currentId = null;
        return {
          change: { kind: 'cleared', items: removed },
          result: { snapshot: snapshot(draft), removed },
        };
      }),
    jump: (id) =>
      enqueue((draft) => {
        indexOf(draft, id);
        draft.currentId = id;
        return { change: { kind: 'jumped', id }, result: snapshot(draft) };
      }),
    advance: (id) =>
      enqueue((draft) => {
        if (draft.items.some((item) => item.id === id)) draft.currentId = id;
        return { change: { kind: 'advanced', id }, result: snapshot(draft) };
      }),
    playout: () => (document.playout ? structuredClone(document.playout) : undefined),
    setPlayout: (playout) =>
      enqueue((draft) => {
        draft.playout = {
          onAir: playout.onAir,
          ...(playout.resumeAt ? { resumeAt: { ...playout.resumeAt } } : {}),
          updatedAt: now().toISOString(),
        };
        return { change: { kind: 'playout', onAir: playout.onAir }, result: snapshot(draft) };
      }),
    setLoop: (loop) =>
      enqueue((draft) => {
        draft.loop = loop;
        return { change: { kind: 'loop', loop }, result: snapshot(draft) };
      }),
    nextAfter: (id) => {
      const items = document.items;
      if (items.length === 0) return undefined;
      const index = id === null ? -1 : items.findIndex((item) => item.id === id);
      if (index < 0) {
        return items.find((item) => item.id === document.currentId) ?? items[0];
      }
      if (index + 1 < items.length) return items[index + 1];
      return document.loop ? items[0] : undefined;
    },
    on: emitter.on,
    idle: () => queue.then(() => undefined),
  };
}

function clampIndex(index: number, length: number): number {
  if (!Number.isFinite(index)) return length;
  return Math.max(0, Math.min(Math.trunc(index), length));
}

/** One item as insta-stream stored it (`playlist.json` of the original app). */
export interface InstaStreamItem {
  id: string;
  filename: string;
  originalName: string;
  /** Absolute path of the uploaded file on the old server. */
  path: string;
  /** Size in bytes. */
  size: number;
  /** Duration in seconds (a float, from ffprobe). */
  duration: number;
  /** ISO 8601 or epoch milliseconds. */
  addedAt: string | number;
}

/**
 * Reads insta-stream's item list (an array, or `{ playlist: [...] }` / `{ items: [...] }`), checking each
 * field. The files themselves are re-ingested (copied and probed) by {@link Channel.importInstaStream}.
 *
 * @throws NexStreamError `NXS_INVALID_INPUT` naming the first bad item and field.
 */
export function parseInstaStreamItems(data: unknown): InstaStreamItem[] {
  const list = Array.isArray(data)
    ? data
    : typeof data === 'object' && data !== null
      ? ((data as { playlist?: unknown; items?: unknown }).playlist ?? (data as { items?: unknown }).items)
      : undefined;
  if (!Array.isArray(list)) {
    throw new NexStreamError(
      NexStreamErrorCode.InvalidInput,
      'insta-stream import: expected an array of items (or { playlist: [...] })',
    );
  }
  return list.map((raw, index) => {
    const where = `insta-stream import: item ${index}`;
    if (typeof raw !== 'object' || raw === null) {
      throw new NexStreamError(NexStreamErrorCode.InvalidInput, `${where} is not an object`);
    }
    const item = raw as Record<string, unknown>;
    for (const field of ['filename', 'path'] as const) {
      if (typeof item[field] !== 'string' || (item[field] as string).length === 0) {
        throw new NexStreamError(NexStreamErrorCode.InvalidInput, `${where}: "${field}" must be a string`);
      }
    }
    const size = Number(item.size ?? 0);
    const duration = Number(item.duration ?? 0);
    return {
      id: typeof item.id === 'string' && item.id.length > 0 ? item.id : randomUUID(),
      filename: item.filename as string,
      originalName: typeof item.originalName === 'string' ? item.originalName : (item.filename as string),
      path: item.path as string,
      size: Number.isFinite(size) ? size : 0,
      duration: Number.isFinite(duration) ? duration : 0,
      addedAt:
        typeof item.addedAt === 'string' || typeof item.addedAt === 'number'
          ? item.addedAt
          : new Date().toISOString(),
    };
  });
}
