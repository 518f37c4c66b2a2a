import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import {
  emptyPlaylistDocument,
  type PlaylistDocument,
  type PlaylistItem,
  type PlayoutState,
} from './playlist-document.js';

/** What {@link PlaylistStore.load} found. */
export interface PlaylistLoadResult {
  document: PlaylistDocument;
  /** Whether a playlist was stored (false: `document` is a new, empty one, not saved yet). */
  found: boolean;
  /**
   * Set when the stored playlist could not be read: it was kept aside at `backupPath` (a file, or a row of
   * a backup table; never deleted or overwritten) and `document` is empty. Report it to the operator.
   */
  corrupt?: { backupPath: string; reason: string };
}

/** Persists one channel's playlist document: a JSON file ({@link createPlaylistStore}) or a libSQL row. */
export interface PlaylistStore {
  /** Where the document lives, for messages: a file path, or `libsql:<table>/<channel>`. */
  readonly location: string;
  /** Reads the document (an empty one, `found: false`, when none is stored). */
  load(): Promise<PlaylistLoadResult>;
  /**
   * Writes the document atomically (all or nothing).
   *
   * @throws NexStreamError `NXS_CONFLICT` (`details.reason: 'fenced'`) from a store with fencing, when another
   *   owner of the channel (a higher fencing token) has written since: this process must stop running it.
   */
  save(document: PlaylistDocument): Promise<void>;
  /**
   * The stored document, read synchronously, when the store can (a small local file): lets a channel report
   * that it is resuming before its asynchronous load. Optional.
   */
  peek?(): PlaylistDocument | undefined;
}

/** A channel a {@link PlaylistStorage} holds a playlist for. */
export interface StoredChannel {
  id: string;
  /** Whether its playlist says the channel is on air (see {@link PlayoutState.onAir}). */
  onAir: boolean;
}

/**
 * Where a broadcaster keeps its channels' playlists: JSON files in the channel folders (the default,
 * {@link createFilePlaylistStorage}), or libSQL (`@nexstream/hls-broadcaster/libsql`: a database file, or sqld /
 * Turso shared by several instances). A channel exists once its storage holds a playlist for it.
 */
export interface PlaylistStorage {
  /** The store of the channel `channelId`'s playlist (nothing is written until it saves). */
  open(channelId: string): PlaylistStore;
  /** Every channel with a stored playlist, sorted by id. */
  list(): Promise<StoredChannel[]>;
  /**
   * Whether `channelId` has a stored playlist, answered synchronously, for storages that can (local files).
   * Without it, a broadcaster knows the channels listed by `ready()` and those it created.
   */
  has?(channelId: string): boolean;
  /** The ids {@link PlaylistStorage.list} would give, synchronously, for storages that can. */
  idsSync?(): string[];
}

const channelIdPattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** Name of a channel's playlist file in its folder. */
export const playlistFileName = 'playlist.json';

/**
 * The file storage: `<dataDir>/channels/<id>/playlist.json`, one JSON document per channel, each written with
 * {@link createPlaylistStore}. For one process (or several on one host that never run the same channel).
 */
export function createFilePlaylistStorage(dataDir: string): PlaylistStorage {
  const channelsDirectory = join(dataDir, 'channels');
  const pathOf = (id: string) => join(channelsDirectory, id, playlistFileName);
  const has = (id: string) => channelIdPattern.test(id) && existsSync(pathOf(id));
  const idsSync = (): string[] => {
    let names: string[];
    try {
      names = readdirSync(channelsDirectory);
    } catch {
      return [];
    }
    return names.filter(has).sort();
  };
  return {
    open: (id) => createPlaylistStore(pathOf(id)),
    has,
    idsSync,
    async list() {
      const names = await readdir(channelsDirectory).catch(() => [] as string[]);
      const found = await Promise.all(
        names
          .filter((name) => channelIdPattern.test(name))
          .map(async (id): Promise<StoredChannel | undefined> => {
            const text = await readFile(pathOf(id), 'utf8').catch(() => undefined);
            return text === undefined ? undefined : { id, onAir: onAirIn(text) };
          }),
      );
      return found.filter((channel): channel is StoredChannel => channel !== undefined).sort(byId);
    },
  };
}

const byId = (a: StoredChannel, b: StoredChannel) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Whether a stored playlist's text says its channel is on air (false for anything unreadable). */
export function onAirIn(text: string): boolean {
  try {
    const document = JSON.parse(text) as { playout?: { onAir?: unknown } };
    return document.playout?.onAir === true;
  } catch {
    return false;
  }
}

/** A playlist file store: the JSON document at `path`. */
export interface FilePlaylistStore extends PlaylistStore {
  /** Absolute path of the document. */
  readonly path: string;
}

/** Creates a JSON file store for a playlist at `path`. */
export function createPlaylistStore(path: string): FilePlaylistStore {
  const folder = dirname(path);
  const name = basename(path);
  return {
    path,
    location: path,
    peek() {
      try {
        return parsePlaylistDocument(readFileSync(path, 'utf8'));
      } catch {
        return undefined;
      }
    },
    async load() {
      await removeStaleTempFiles(folder, name);
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          return { document: emptyPlaylistDocument(), found: false };
        }
        throw new NexStreamError(NexStreamErrorCode.Internal, `cannot read playlist ${path}`, {
          cause: error,
        });
      }
      try {
        return { document: parsePlaylistDocument(text), found: true };
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        const backupPath = join(folder, `${name}.corrupt-${Date.now()}.bak`);
        await rename(path, backupPath);
        return { document: emptyPlaylistDocument(), found: false, corrupt: { backupPath, reason } };
      }
    },
    async save(document) {
      await mkdir(folder, { recursive: true });
      const temp = join(folder, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
      const handle = await open(temp, 'w', 0o644);
      try {
        await handle.writeFile(`${JSON.stringify(document, null, 2)}\n`, 'utf8');
        await handle.sync();
      } catch (error) {
        await handle.close().catch(() => undefined);
        await rm(temp, { force: true });
        throw error;
      }
      await handle.close();
      try {
        await rename(temp, path);
      } catch (error) {
        await rm(temp, { force: true });
        throw error;
      }
      const directory = await open(folder, 'r').catch(() => undefined);
      if (directory) {
        await directory.sync().catch(() => undefined);
        await directory.close();
      }
    },
  };
}

async function removeStaleTempFiles(folder: string, name: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(folder);
  } catch {
    return;
  }
  await Promise.all(
    entries
      .filter((entry) => entry.startsWith(`.${name}.`) && entry.endsWith('.tmp'))
      .map((entry) => rm(join(folder, entry), { force: true })),
  );
}

/**
 * Parses and checks a persisted playlist document.
 *
 * @throws Error saying which part is wrong (the store turns it into a backup + report).
 */
export function parsePlaylistDocument(text: string): PlaylistDocument {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new Error(`not valid JSON (${(error as Error).message})`);
  }
  if (typeof data !== 'object' || data === null) throw new Error('not a JSON object');
  const document = data as Partial<PlaylistDocument>;
  if (document.version !== 1) throw new Error(`unknown playlist version ${String(document.version)}`);
  if (!Array.isArray(document.items)) throw new Error('"items" is not an array');
  document.items.forEach((item: Partial<PlaylistItem>, index) => {
    if (
      typeof item !== 'object' ||
      item === null ||
      typeof item.id !== 'string' ||
      typeof item.filename !== 'string' ||
      typeof item.durationMs !== 'number' ||
      typeof item.probe !== 'object'
    ) {
      throw new Error(`item ${index} is missing id, filename, durationMs or probe`);
    }
    if (!isSafeFileName(item.filename)) throw new Error(`item ${index} names an unsafe file`);
  });
  const ids = new Set(document.items.map((item) => item.id));
  const currentId =
    typeof document.currentId === 'string' && ids.has(document.currentId)
      ? document.currentId
      : (document.items[0]?.id ?? null);
  const playout = parsePlayout(document.playout, ids);
  return {
    version: 1,
    items: document.items,
    currentId,
    loop: document.loop !== false,
    revision: typeof document.revision === 'number' ? document.revision : 0,
    updatedAt: typeof document.updatedAt === 'string' ? document.updatedAt : new Date().toISOString(),
    ...(playout ? { playout } : {}),
  };
}

/** The on-air intent when it is well formed (a bad one is dropped: the channel then comes back off air). */
function parsePlayout(value: unknown, ids: ReadonlySet<string>): PlayoutState | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const playout = value as Partial<PlayoutState>;
  if (typeof playout.onAir !== 'boolean') return undefined;
  const resumeAt = playout.resumeAt;
  const validResume =
    typeof resumeAt === 'object' &&
    resumeAt !== null &&
    typeof resumeAt.itemId === 'string' &&
    ids.has(resumeAt.itemId) &&
    Number.isFinite(resumeAt.positionMs) &&
    resumeAt.positionMs >= 0;
  return {
    onAir: playout.onAir,
    ...(validResume
      ? {
          resumeAt: {
            itemId: resumeAt.itemId,
            positionMs: resumeAt.positionMs,
            ...(resumeAt.paused === true ? { paused: true } : {}),
          },
        }
      : {}),
    updatedAt: typeof playout.updatedAt === 'string' ? playout.updatedAt : new Date().toISOString(),
  };
}

/** True for a plain file name we generated or accept: no separators, no dot-dot, no control characters. */
export function isSafeFileName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/.test(name) && !name.includes('..');
}
