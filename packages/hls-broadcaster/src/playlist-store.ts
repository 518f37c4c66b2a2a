import { randomBytes } from 'node:crypto';
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
  /**
   * Set when the file on disk could not be read as a playlist: it was moved aside to `backupPath` (never
   * deleted or overwritten) and `document` is empty. Report it to the operator.
   */
  corrupt?: { backupPath: string; reason: string };
}

/** Persists one playlist document. */
export interface PlaylistStore {
  /** Absolute path of the document. */
  readonly path: string;
  /** Reads the document (an empty one when the file does not exist). */
  load(): Promise<PlaylistLoadResult>;
  /** Writes the document atomically: temp file, fsync, rename, fsync of the folder. */
  save(document: PlaylistDocument): Promise<void>;
}

/** Creates a JSON file store for a playlist at `path`. */
export function createPlaylistStore(path: string): PlaylistStore {
  const folder = dirname(path);
  const name = basename(path);
  return {
    path,
    async load() {
      await removeStaleTempFiles(folder, name);
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { document: emptyPlaylistDocument() };
        throw new NexStreamError(NexStreamErrorCode.Internal, `cannot read playlist ${path}`, {
          cause: error,
        });
      }
      try {
        return { document: parsePlaylistDocument(text) };
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        const backupPath = join(folder, `${name}.corrupt-${Date.now()}.bak`);
        await rename(path, backupPath);
        return { document: emptyPlaylistDocument(), corrupt: { backupPath, reason } };
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
