import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { type Client, createClient, type InStatement } from '@libsql/client';
import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import { emptyPlaylistDocument, type PlaylistDocument } from './playlist-document.js';
import {
  createFilePlaylistStorage,
  onAirIn,
  type PlaylistStorage,
  type PlaylistStore,
  parsePlaylistDocument,
  playlistFileName,
  type StoredChannel,
} from './playlist-store.js';

/** Options of {@link createLibsqlPlaylistStorage}: an open client, or where to open one. */
export interface LibsqlPlaylistStorageOptions {
  /** libSQL URL: `file:channels.db`, `http://` / `ws://` (sqld), `libsql://` (Turso). Ignored with `client`. */
  url?: string;
  /** Turso / sqld token (never logged). Ignored with `client`. */
  authToken?: string;
  /** A client the caller opened and closes; the storage then never closes it. */
  client?: Client;
  /**
   * Only these channels: `list()` names no other, `open()` refuses others. For a process that runs some
   * channels of a shared database (a cluster instance) and must not resume the rest.
   */
  channelIds?: readonly string[];
  /**
   * The fencing token this process writes with, by channel: a save is refused (`NXS_CONFLICT`,
   * `details.reason: 'fenced'`) once a higher token wrote or {@link LibsqlPlaylistStorage.claim}ed the channel.
   * Give the lease's token (it grows with every new owner). Absent: 0, which only an unfenced deployment uses.
   */
  fence?: (channelId: string) => number | undefined;
}

/** The libSQL playlist storage: a {@link PlaylistStorage} with fencing and a clean close. */
export interface LibsqlPlaylistStorage extends PlaylistStorage {
  /**
   * Raises the channel's stored fence to this process's token (see {@link LibsqlPlaylistStorageOptions.fence}),
   * so that an earlier owner's late writes are refused from now on. Call it when a lease is taken, before
   * running the channel.
   *
   * @throws NexStreamError `NXS_CONFLICT` (`details.reason: 'fenced'`) when a higher token holds it already.
   */
  claim(channelId: string): Promise<void>;
  /** Closes the client when the storage opened it. */
  close(): void;
}

/** The table, created when missing (`CREATE TABLE IF NOT EXISTS`); one row per channel. */
const schema = [
  `CREATE TABLE IF NOT EXISTS channel_playlists (
  channel_id TEXT PRIMARY KEY,
  document TEXT NOT NULL,
  revision INTEGER NOT NULL,
  on_air INTEGER NOT NULL DEFAULT 0,
  fence INTEGER NOT NULL DEFAULT 0,
  updated_at TEXT NOT NULL
)`,
  `CREATE TABLE IF NOT EXISTS channel_playlist_backups (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  channel_id TEXT NOT NULL,
  document TEXT NOT NULL,
  reason TEXT NOT NULL,
  kept_at TEXT NOT NULL
)`,
];

// One statement writes or refuses: the update applies only when this token is not older than the stored one.
const saveSql = `INSERT INTO channel_playlists (channel_id, document, revision, on_air, fence, updated_at)
VALUES (:channel, :document, :revision, :onAir, :fence, :updatedAt)
ON CONFLICT(channel_id) DO UPDATE SET
  document = excluded.document,
  revision = excluded.revision,
  on_air = excluded.on_air,
  fence = excluded.fence,
  updated_at = excluded.updated_at
WHERE excluded.fence >= channel_playlists.fence`;

const channelIdPattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** The error of a write or claim by an owner whose term is over. */
function fencedError(channelId: string, token: number, stored: number): NexStreamError {
  return new NexStreamError(
    NexStreamErrorCode.Conflict,
    `channel ${channelId} is run by a newer owner (fencing token ${stored}, this process has ${token}); this process must stop running it`,
    { retryable: false, details: { reason: 'fenced', channelId, token, storedFence: stored } },
  );
}

/**
 * Keeps channels' playlists and on-air state in libSQL, in the table `channel_playlists`: a database file for
 * one machine, or sqld / Turso for several instances. Every save is one atomic statement that carries the
 * writer's fencing token, so an owner that lost its lease (a paused or partitioned process) can no longer
 * overwrite the new owner's playlist (docs/decisions/0116).
 *
 * @example
 * ```ts
 * import { createBroadcaster } from '@nexstream/hls-broadcaster';
 * import { createLibsqlPlaylistStorage } from '@nexstream/hls-broadcaster/libsql';
 *
 * const playlists = createLibsqlPlaylistStorage({ url: 'file:data/channels.db' });
 * const broadcaster = createBroadcaster({ dataDir: './data', playlists });
 * await broadcaster.ready(); // lists the stored channels, resumes the ones on air
 * ```
 */
export function createLibsqlPlaylistStorage(options: LibsqlPlaylistStorageOptions): LibsqlPlaylistStorage {
  if (!options.client && !options.url) {
    throw new NexStreamError(
      NexStreamErrorCode.InvalidInput,
      'createLibsqlPlaylistStorage needs a libSQL url (e.g. file:data/channels.db) or an open client',
    );
  }
  const owned = options.client === undefined;
  const client =
    options.client ??
    createClient({
      url: options.url as string,
      ...(options.authToken ? { authToken: options.authToken } : {}),
    });
  const only = options.channelIds ? new Set(options.channelIds) : undefined;
  const fenceOf = (id: string) => options.fence?.(id) ?? 0;

  const where = options.url
    ? `playlist database ${options.url.replace(/\/\/[^@/]*@/, '//')}`
    : 'playlist database';
  /**
   * Runs one statement. No busy_timeout (SQLite's busy handler would block the event loop): a write that meets
   * another process's write on a database file (SQLITE_BUSY) is retried here, a few times, asynchronously.
   * Other failures become `NXS_REGISTRY` (retryable), never a raw driver error.
   */
  const run = async (what: string, statement: InStatement | readonly InStatement[]) => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return Array.isArray(statement)
          ? (await client.batch(statement as InStatement[], 'write'))[0]
          : await client.execute(statement as InStatement);
      } catch (error) {
        const busy = /SQLITE_BUSY|database is locked/i.test(String((error as Error).message));
        if (busy && attempt < 8) {
          await new Promise((resolve) => setTimeout(resolve, 10 * attempt));
          continue;
        }
        throw new NexStreamError(
          NexStreamErrorCode.Registry,
          `${where}: ${what} failed: ${(error as Error).message}`,
          { cause: error, retryable: true, retryAfterMs: 1000 },
        );
      }
    }
  };
  let prepared: Promise<unknown> | undefined;
  const prepare = () => {
    prepared ??= run('creating the playlist tables', schema);
    prepared.catch(() => {
      prepared = undefined;
    });
    return prepared;
  };
  const execute = async (statement: InStatement, what = 'a playlist query') => {
    await prepare();
    return (await run(what, statement)) as Awaited<ReturnType<Client['execute']>>;
  };
  const storedFence = async (id: string): Promise<number> => {
    const result = await execute({
      sql: 'SELECT fence FROM channel_playlists WHERE channel_id = ?',
      args: [id],
    });
    return Number(result.rows[0]?.fence ?? 0);
  };

  const open = (channelId: string): PlaylistStore => {
    if (!channelIdPattern.test(channelId) || (only && !only.has(channelId))) {
      throw new NexStreamError(
        NexStreamErrorCode.InvalidInput,
        `this playlist storage does not hold channel ${JSON.stringify(channelId.slice(0, 80))}`,
      );
    }
    const location = `libsql:channel_playlists/${channelId}`;
    return {
      location,
      async load() {
        const result = await execute({
          sql: 'SELECT document FROM channel_playlists WHERE channel_id = ?',
          args: [channelId],
        });
        const row = result.rows[0];
        if (!row) return { document: emptyPlaylistDocument(), found: false };
        const text = String(row.document);
        try {
          return { document: parsePlaylistDocument(text), found: true };
        } catch (error) {
          // Kept aside in the backup table, never lost; the channel goes on with an empty playlist.
          const reason = error instanceof Error ? error.message : String(error);
          const kept = await execute({
            sql: 'INSERT INTO channel_playlist_backups (channel_id, document, reason, kept_at) VALUES (?, ?, ?, ?) RETURNING id',
            args: [channelId, text, reason, new Date().toISOString()],
          });
          return {
            document: emptyPlaylistDocument(),
            found: false,
            corrupt: { backupPath: `libsql:channel_playlist_backups/${String(kept.rows[0]?.id)}`, reason },
          };
        }
      },
      async save(document: PlaylistDocument) {
        const fence = fenceOf(channelId);
        const result = await execute({
          sql: saveSql,
          args: {
            channel: channelId,
            document: JSON.stringify(document),
            revision: document.revision,
            onAir: document.playout?.onAir === true ? 1 : 0,
            fence,
            updatedAt: document.updatedAt,
          },
        });
        if (result.rowsAffected === 0) throw fencedError(channelId, fence, await storedFence(channelId));
      },
    };
  };

  return {
    open,
    async list() {
      const result = await execute('SELECT channel_id, document FROM channel_playlists ORDER BY channel_id');
      return result.rows
        .map((row): StoredChannel => ({ id: String(row.channel_id), onAir: onAirIn(String(row.document)) }))
        .filter((channel) => !only || only.has(channel.id));
    },
    async claim(channelId) {
      const token = fenceOf(channelId);
      await execute({
        sql: 'UPDATE channel_playlists SET fence = ? WHERE channel_id = ? AND fence < ?',
        args: [token, channelId, token],
      });
      const stored = await storedFence(channelId);
      if (stored > token) throw fencedError(channelId, token, stored);
    },
    close() {
      if (owned) client.close();
    },
  };
}

/** What {@link importPlaylistFiles} did. */
export interface PlaylistImportReport {
  /** Channels whose `playlist.json` was copied into the storage (the file renamed `playlist.json.imported`). */
  imported: string[];
  /** Channels the storage held already (or a newer owner wrote meanwhile): their file was left as it was. */
  skipped: string[];
}

/**
 * Moves the playlists of the file storage (`<dataDir>/channels/<id>/playlist.json`) into another storage, once:
 * each file the target does not hold yet is saved there, then renamed `playlist.json.imported` (kept, never
 * deleted). Run it at start-up when switching a data folder from files to libSQL.
 */
export async function importPlaylistFiles(
  dataDir: string,
  target: PlaylistStorage,
): Promise<PlaylistImportReport> {
  const files = createFilePlaylistStorage(dataDir);
  const held = new Set((await target.list()).map((channel) => channel.id));
  const report: PlaylistImportReport = { imported: [], skipped: [] };
  for (const { id } of await files.list()) {
    if (held.has(id)) {
      report.skipped.push(id);
      continue;
    }
    const { document, found } = await files.open(id).load();
    if (!found) continue;
    try {
      await target.open(id).save(document);
    } catch (error) {
      // Another instance imported it and an owner has written since: its row wins.
      if (
        NexStreamError.is(error) &&
        (error.details as { reason?: string } | undefined)?.reason === 'fenced'
      ) {
        report.skipped.push(id);
        continue;
      }
      throw error;
    }
    const path = join(dataDir, 'channels', id, playlistFileName);
    // Another instance importing at the same time may have renamed it first.
    await rename(path, `${path}.imported`).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    report.imported.push(id);
  }
  return report;
}
