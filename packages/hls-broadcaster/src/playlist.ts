import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import { createEmitter, type Emitter } from './emitter.js';
import {
  emptyPlaylistDocument,
  type PlaylistDocument,
  type PlaylistItem,
  type PlayoutState,
} from './playlist-document.js';
import type { PlaylistStore } from './playlist-store.js';

export {
  emptyPlaylistDocument,
  type MediaProbe,
  type PlaylistDocument,
  type PlaylistItem,
  type PlayoutState,
} from './playlist-document.js';

/** Options of a playlist edit. */
export interface EditOptions {
  /**
   * The revision the edit was made against (a snapshot's `revision`): the edit is refused with
   * `NXS_CONFLICT` (`details.reason: 'revision-mismatch'`) when the playlist was edited since. Absent: no check.
   */
  expectedRevision?: number;
}

/** The playlist as {@link Playlist.list} reports it. */
export interface PlaylistSnapshot {
  items: PlaylistItem[];
  currentId: string | null;
  /** Index of the current item in `items`, or -1 when empty. */
  currentIndex: number;
  loop: boolean;
  /** The edit revision (see {@link PlaylistDocument.revision}); playout does not change it. */
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
  add(item: PlaylistItem, options?: { index?: number } & EditOptions): Promise<PlaylistSnapshot>;
  /** Removes an item; when it was current, the next item (in loop order) becomes current. */
  remove(id: string, options?: EditOptions): Promise<{ snapshot: PlaylistSnapshot; removed: PlaylistItem }>;
  /** Moves one item to `toIndex` (clamped). */
  move(id: string, toIndex: number, options?: EditOptions): Promise<PlaylistSnapshot>;
  /** Puts the items in this order; `ids` must name every item exactly once. */
  reorder(ids: readonly string[], options?: EditOptions): Promise<PlaylistSnapshot>;
  /** Removes every item. */
  clear(options?: EditOptions): Promise<{ snapshot: PlaylistSnapshot; removed: PlaylistItem[] }>;
  /** Makes this item current (the channel plays it at once when running). An edit: it bumps the revision. */
  jump(id: string, options?: EditOptions): Promise<PlaylistSnapshot>;
  /** Sets whether playback wraps around. */
  setLoop(loop: boolean, options?: EditOptions): Promise<PlaylistSnapshot>;
  /**
   * The item after `id` in play order, or `undefined` at the end of a non-looping playlist. When `id` is no
   * longer in the playlist, the current item is returned.
   */
  nextAfter(id: string | null): PlaylistItem | undefined;
  /** Records that the channel moved on to `id` (persisted, so a restart resumes there). Not an edit. */
  advance(id: string): Promise<PlaylistSnapshot>;
  /** Appends many items in one persisted change. */
  addMany(items: readonly PlaylistItem[], options?: EditOptions): Promise<PlaylistSnapshot>;
  /** The persisted on-air intent (a copy), or `undefined` when none was ever written. */
  playout(): PlayoutState | undefined;
  /** Persists the on-air intent (`updatedAt` is set here). Not an edit. */
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

  /**
   * Runs `mutate` on a draft after every earlier mutation; persists, then publishes, then resolves. An edit
   * checks `expectedRevision` against the revision it runs on (so two edits made against one revision cannot
   * both pass) and bumps it; playout bookkeeping (`edit: false`) does neither.
   */
  function enqueue<T>(
    mutate: (draft: PlaylistDocument) => { change: PlaylistChange; result: T },
    edit: EditOptions | false = {},
  ): Promise<T> {
    const run = async (): Promise<T> => {
      if (edit && edit.expectedRevision !== undefined && edit.expectedRevision !== document.revision) {
        throw revisionConflict(document.revision, edit.expectedRevision);
      }
      const draft = structuredClone(document);
      // Set first, so the snapshot an edit answers with names the revision it created.
      if (edit) draft.revision = document.revision + 1;
      draft.updatedAt = now().toISOString();
      const { change, result } = mutate(draft);
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
      }, addOptions),
    addMany: (items, editOptions) =>
      enqueue((draft) => {
        for (const item of items) {
          if (draft.items.some((existing) => existing.id === item.id)) continue;
          draft.items.push({ ...item });
        }
        if (draft.currentId === null) draft.currentId = draft.items[0]?.id ?? null;
        return { change: { kind: 'imported', items: [...items] }, result: snapshot(draft) };
      }, editOptions),
    remove: (id, editOptions) =>
      enqueue((draft) => {
        const index = indexOf(draft, id);
        const [removed] = draft.items.splice(index, 1) as [PlaylistItem];
        if (draft.currentId === id) {
          const following = draft.items[index] ?? (draft.loop ? draft.items[0] : undefined);
          draft.currentId = following?.id ?? draft.items[0]?.id ?? null;
        }
        return { change: { kind: 'removed', item: removed }, result: { snapshot: snapshot(draft), removed } };
      }, editOptions),
    move: (id, toIndex, editOptions) =>
      enqueue((draft) => {
        const index = indexOf(draft, id);
        const [item] = draft.items.splice(index, 1) as [PlaylistItem];
        const target = clampIndex(toIndex, draft.items.length);
        draft.items.splice(target, 0, item);
        return { change: { kind: 'moved', id, toIndex: target }, result: snapshot(draft) };
      }, editOptions),
    reorder: (ids, editOptions) =>
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
      }, editOptions),
    clear: (editOptions) =>
      enqueue((draft) => {
        const removed = draft.items;
        draft.items = [];
        draft.currentId = null;
        return {
          change: { kind: 'cleared', items: removed },
          result: { snapshot: snapshot(draft), removed },
        };
      }, editOptions),
    jump: (id, editOptions) =>
      enqueue((draft) => {
        indexOf(draft, id);
        draft.currentId = id;
        return { change: { kind: 'jumped', id }, result: snapshot(draft) };
      }, editOptions),
    advance: (id) =>
      enqueue((draft) => {
        if (draft.items.some((item) => item.id === id)) draft.currentId = id;
        return { change: { kind: 'advanced', id }, result: snapshot(draft) };
      }, false),
    playout: () => (document.playout ? structuredClone(document.playout) : undefined),
    setPlayout: (playout) =>
      enqueue((draft) => {
        draft.playout = {
          onAir: playout.onAir,
          ...(playout.resumeAt ? { resumeAt: { ...playout.resumeAt } } : {}),
          updatedAt: now().toISOString(),
        };
        return { change: { kind: 'playout', onAir: playout.onAir }, result: snapshot(draft) };
      }, false),
    setLoop: (loop, editOptions) =>
      enqueue((draft) => {
        draft.loop = loop;
        return { change: { kind: 'loop', loop }, result: snapshot(draft) };
      }, editOptions),
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

/**
 * The error of an edit made against an older revision: `NXS_CONFLICT` (409) with
 * `details: { reason: 'revision-mismatch', revision, expectedRevision }`.
 */
export function revisionConflict(revision: number, expectedRevision: number): NexStreamError {
  return new NexStreamError(
    NexStreamErrorCode.Conflict,
    `the playlist was edited since revision ${expectedRevision} (it is at ${revision}); reload it and make the change again`,
    { retryable: false, details: { reason: 'revision-mismatch', revision, expectedRevision } },
  );
}

function clampIndex(index: number, length: number): number {
  if (!Number.isFinite(index)) return length;
  return Math.max(0, Math.min(Math.trunc(index), length));
}
