import {
  type MediaFormat,
  NexStreamError,
  NexStreamErrorCode,
  type Platform,
  parseIsrc,
} from '@nexstream/core';
import { migrations, schemaVersion } from './migrations/index.js';
import { createReadCache } from './read-cache.js';
import type {
  SqlDriver,
  SqlRow,
  SqlStatement,
  SqlTransaction,
  SqlTransactionRunner,
  SqlValue,
} from './sql-driver.js';
import type {
  DueLink,
  RefreshOutcome,
  RefreshRecord,
  Registry,
  RegistryConnectionOptions,
  RegistryEntry,
  RegistryKey,
  RegistryStats,
} from './types.js';
import {
  assertVerifiedMatch,
  formatProblems,
  platformIdPatterns,
  type RegistryMedia,
  type VerificationMethod,
  type VerifiedMatch,
  youtubeVideoId,
} from './verified-match.js';
import { createWriteQueue } from './write-queue.js';

export type { ConnectionKind } from './sql-driver.js';

const entryColumns =
  'track, media, formats, expires_at, refreshed_at, refresh_failures, verification_method, isrc_source, verified_at';
const selectByIsrc = `SELECT ${entryColumns} FROM mapping WHERE isrc = ?`;
const selectByPlatformId = `SELECT ${entryColumns} FROM mapping WHERE isrc = (SELECT isrc FROM platform_id WHERE platform = ? AND id = ?)`;
const selectByMediaId = `SELECT ${entryColumns} FROM mapping WHERE media_id = ? ORDER BY verified_at DESC LIMIT 1`;

const mappingUpdate = `ON CONFLICT (isrc) DO UPDATE SET duration_ms = excluded.duration_ms, track = excluded.track,
    media_id = excluded.media_id, media = excluded.media, formats = excluded.formats, expires_at = excluded.expires_at,
    refreshed_at = excluded.refreshed_at, refresh_failures = 0, last_failure = NULL,
    verification_method = excluded.verification_method, isrc_source = excluded.isrc_source,
    verified_at = excluded.verified_at, updated_at = excluded.updated_at`;

/** Bound parameters per mapping row in {@link upsertMappings}. */
const parametersPerMapping = 12;
const upsertMappingsByCount = new Map<number, string>();

/**
 * A multi-row upsert of `count` mappings with bound parameters (JSON already serialized in JS): about 30 % less
 * CPU per row than extracting the same values from one JSON argument with `json_each` (docs/decisions/0031).
 */
function upsertMappings(count: number): string {
  let sql = upsertMappingsByCount.get(count);
  if (sql === undefined) {
    sql = `INSERT INTO mapping (isrc, duration_ms, track, media_id, media, formats, expires_at, refreshed_at,
      refresh_failures, last_failure, verification_method, isrc_source, verified_at, updated_at)
      VALUES ${new Array(count).fill('(?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, ?, ?, ?, ?)').join(', ')} ${mappingUpdate}`;
    if (upsertMappingsByCount.size < 16) upsertMappingsByCount.set(count, sql);
  }
  return sql;
}

const upsertPlatformIds = `INSERT INTO platform_id (platform, id, isrc)
  SELECT value->>0, value->>1, value->>2 FROM json_each(?1) WHERE true
  ON CONFLICT (platform, id) DO UPDATE SET isrc = excluded.isrc`;

/** A libSQL error's SQLite result code name (`SQLITE_BUSY`…), from the client's `code` or the raw code. */
function sqliteCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, rawCode, message } = error as { code?: unknown; rawCode?: unknown; message?: unknown };
  if (typeof rawCode === 'number') {
    const base = rawCode & 0xff;
    if (base === 5) return 'SQLITE_BUSY';
    if (base === 6) return 'SQLITE_LOCKED';
    if (base === 26) return 'SQLITE_NOTADB';
  }
  if (typeof code === 'string' && code.startsWith('SQLITE_')) return code;
  if (typeof message === 'string') {
    if (/database is locked|SQLITE_BUSY/i.test(message)) return 'SQLITE_BUSY';
    if (/file is not a database|SQLITE_NOTADB/i.test(message)) return 'SQLITE_NOTADB';
  }
  return undefined;
}

/** True for errors meaning "another connection holds the lock: try again". */
export function isBusyError(error: unknown): boolean {
  const code = sqliteCode(error);
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
}

/** Wraps anything a libSQL call threw into `NXS_REGISTRY`, saying which operation failed on which database. */
export function registryError(error: unknown, operation: string, displayUrl: string): NexStreamError {
  if (NexStreamError.is(error)) return error;
  const code = sqliteCode(error);
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'SQLITE_NOTADB') {
    return new NexStreamError(
      NexStreamErrorCode.Registry,
      `registry ${operation} failed: ${displayUrl} is not a SQLite/libSQL database (${message}). ` +
        'Point url at a registry database or at a path where a new one can be created',
      { cause: error },
    );
  }
  const clientCode = (error as { code?: unknown } | null)?.code;
  const retryable =
    code === 'SQLITE_BUSY' ||
    code === 'SQLITE_LOCKED' ||
    (typeof clientCode === 'string' &&
      /HRANA|WEBSOCKET|HTTP|SERVER|STREAM|FETCH|NETWORK/i.test(clientCode)) ||
    (error instanceof TypeError && /fetch/i.test(message));
  return new NexStreamError(
    NexStreamErrorCode.Registry,
    `registry ${operation} failed on ${displayUrl}: ${message}`,
    { cause: error, retryable, details: { sqliteCode: code ?? clientCode } },
  );
}

function closedError(displayUrl: string): NexStreamError {
  return new NexStreamError(
    NexStreamErrorCode.Registry,
    `the registry on ${displayUrl} is closed: create a new registry to use it again`,
  );
}

function invalidInput(message: string): NexStreamError {
  return new NexStreamError(NexStreamErrorCode.InvalidInput, message);
}

async function readUserVersion(executor: SqlTransaction | Pick<SqlDriver, 'readFirst'>): Promise<number> {
  const row =
    'execute' in executor
      ? (await executor.execute('PRAGMA user_version'))[0]
      : await executor.readFirst({ sql: 'PRAGMA user_version', args: [] });
  return Number(row?.[0] ?? 0);
}

function newerSchemaError(found: number, displayUrl: string): NexStreamError {
  return new NexStreamError(
    NexStreamErrorCode.Registry,
    `the registry database ${displayUrl} has schema version ${found}, newer than the ${schemaVersion} this ` +
      '@nexstream/registry understands: it was written by a newer NexStream. Upgrade @nexstream/registry; ' +
      'the database was left untouched',
    { details: { schemaVersion: found, supportedSchemaVersion: schemaVersion } },
  );
}

/** Applies every pending migration, each in its own write transaction that re-reads the version first. */
async function migrate(runner: SqlTransactionRunner, displayUrl: string): Promise<void> {
  for (const migration of migrations) {
    await runner.writeTransaction(async (transaction) => {
      const current = await readUserVersion(transaction);
      if (current > schemaVersion) throw newerSchemaError(current, displayUrl);
      if (current >= migration.version) return;
      for (const statement of migration.statements) await transaction.execute(statement);
      await transaction.execute(`PRAGMA user_version = ${migration.version}`);
    });
  }
}

function earliestExpiry(formats: readonly MediaFormat[]): number | null {
  let earliest: number | null = null;
  for (const format of formats) {
    if (format.expiresAt !== undefined && (earliest === null || format.expiresAt < earliest)) {
      earliest = format.expiresAt;
    }
  }
  return earliest;
}

/**
 * The cheap part of the cold path: two `JSON.parse`s and an object literal. The links (`media.formats`, the
 * bulkiest and most volatile part) are parsed on first access and then kept: a look-up that only needs the
 * track (a resolver hit answering with metadata) never pays for them. See docs/decisions/0032.
 */
function entryFromRow(row: SqlRow): RegistryEntry {
  const formatsJson = row[2] as string | null;
  const expiresAt = row[3] as number | null;
  const stored = JSON.parse(row[1] as string) as Omit<RegistryMedia, 'formats' | 'expiresAt'>;
  let formats: MediaFormat[] | undefined;
  const media: RegistryMedia = {
    ...stored,
    get formats(): MediaFormat[] {
      formats ??= formatsJson === null ? [] : (JSON.parse(formatsJson) as MediaFormat[]);
      return formats;
    },
  };
  if (expiresAt !== null) media.expiresAt = expiresAt;
  return {
    track: JSON.parse(row[0] as string),
    media,
    link: {
      expiresAt: expiresAt ?? undefined,
      refreshedAt: row[4] as number,
      refreshFailures: row[5] as number,
      dropped: formatsJson === null,
    },
    verification: { method: row[6] as VerificationMethod, isrcSource: row[7] as string },
    verifiedAt: row[8] as number,
  };
}

/**
 * Opens the registry on an already opened driver (`libsql`'s `Database` or `@libsql/client`): checks the
 * database (a SQLite file, a schema this version understands), sets WAL and `synchronous=NORMAL` on embedded
 * files, runs pending migrations, and returns the {@link Registry}. Closes the driver when any of that fails.
 */
export async function openRegistry(
  driver: SqlDriver,
  options: RegistryConnectionOptions = {},
): Promise<Registry> {
  const { displayUrl } = driver;
  const now = options.now ?? Date.now;
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  const maxRefreshFailures = options.maxRefreshFailures ?? 3;
  if (!Number.isInteger(maxRefreshFailures) || maxRefreshFailures < 1) {
    throw invalidInput(`maxRefreshFailures must be a whole number ≥ 1, got ${String(maxRefreshFailures)}`);
  }
  if (!Number.isFinite(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw invalidInput(`busyTimeoutMs must be a number of milliseconds ≥ 0, got ${String(busyTimeoutMs)}`);
  }
  const cacheOptions = options.cache === false ? { maxEntries: 0 } : (options.cache ?? {});
  const cache = createReadCache<RegistryEntry>({
    maxEntries: cacheOptions.maxEntries ?? 10_000,
    ttlMs: ('ttlMs' in cacheOptions ? cacheOptions.ttlMs : undefined) ?? 30_000,
    now,
  });
  const queue = createWriteQueue({
    busyTimeoutMs,
    isBusy: isBusyError,
    recover: driver.recover,
    timeoutError: (error, waitedMs) =>
      new NexStreamError(
        NexStreamErrorCode.Registry,
        `registry write on ${displayUrl} gave up after ${waitedMs} ms: another process kept the database locked. ` +
          'Raise busyTimeoutMs or find the process holding a long write transaction',
        { cause: error, retryable: true },
      ),
  });

  try {
    await driver.refresh();
    const found = await readUserVersion(driver);
    if (found > schemaVersion) throw newerSchemaError(found, displayUrl);
    await driver.applyPragmas();
    if (found < schemaVersion) {
      await driver.migrate((runner) => queue.run(() => migrate(runner, displayUrl)));
    }
  } catch (error) {
    driver.close();
    throw registryError(error, 'open', displayUrl);
  }

  let closed = false;
  let closing: Promise<void> | undefined;

  function ensureOpen(): void {
    if (closed) throw closedError(displayUrl);
  }

  async function read(statement: SqlStatement, operation: string): Promise<SqlRow[]> {
    try {
      return await driver.read(statement);
    } catch (error) {
      throw registryError(error, operation, displayUrl);
    }
  }

  /** Runs a write through the queue; maps errors; lets the driver repair a connection it had to replace. */
  async function write(operation: string, statements: readonly SqlStatement[]): Promise<SqlRow[][]> {
    ensureOpen();
    try {
      return await queue.run(() => driver.write(statements));
    } catch (error) {
      if (!NexStreamError.is(error) && !closed) await driver.afterFailedWrite?.().catch(() => undefined);
      throw registryError(error, operation, displayUrl);
    }
  }

  function writeStatements(matches: readonly VerifiedMatch[], writtenAt: number): SqlStatement[] {
    const { rowsPerStatement } = driver;
    const statements: SqlStatement[] = [];
    for (let start = 0; start < matches.length; start += rowsPerStatement) {
      const args: SqlValue[] = [];
      const ids: string[][] = [];
      const end = Math.min(start + rowsPerStatement, matches.length);
      for (let index = start; index < end; index += 1) {
        const { track, media: source, verification, verifiedAt } = matches[index] as VerifiedMatch;
        const { formats, expiresAt, ...media } = source;
        args.push(
          track.isrc,
          track.durationMs,
          JSON.stringify(track),
          media.id,
          JSON.stringify(media),
          JSON.stringify(formats),
          expiresAt ?? earliestExpiry(formats),
          writtenAt,
          verification.method,
          verification.isrcSource,
          verifiedAt,
          writtenAt,
        );
        let youtubeListed = false;
        for (const platform in track.ids) {
          const id = track.ids[platform as Platform];
          if (id === undefined) continue;
          ids.push([platform, id, track.isrc]);
          if (platform === 'youtube' && `youtube:${id}` === media.id) youtubeListed = true;
        }
        const videoId = youtubeListed ? undefined : youtubeVideoId(media.id);
        if (videoId !== undefined) ids.push(['youtube', videoId, track.isrc]);
      }
      statements.push({ sql: upsertMappings(args.length / parametersPerMapping), args });
      if (ids.length > 0) statements.push({ sql: upsertPlatformIds, args: [JSON.stringify(ids)] });
    }
    return statements;
  }

  async function putMany(matches: readonly VerifiedMatch[], operation: string): Promise<void> {
    ensureOpen();
    if (!Array.isArray(matches)) throw invalidInput(`${operation} takes an array of verified matches`);
    for (let index = 0; index < matches.length; index += 1) {
      assertVerifiedMatch(matches[index], matches.length === 1 ? operation : `${operation}, match ${index}`);
    }
    if (matches.length === 0) return;
    const statements = writeStatements(matches, now());
    try {
      await write(operation, statements);
    } finally {
      // Also after a failure: a remote commit may have landed even though its answer was lost.
      for (const { track, media } of matches) {
        cache.invalidate(`i:${track.isrc}`);
        cache.invalidate(`m:${media.id}`);
        for (const platform in track.ids)
          cache.invalidate(`p:${platform}:${track.ids[platform as Platform]}`);
        const videoId = youtubeVideoId(media.id);
        if (videoId !== undefined) cache.invalidate(`p:youtube:${videoId}`);
      }
    }
  }

  function checkMediaId(mediaId: unknown, operation: string): asserts mediaId is string {
    if (typeof mediaId !== 'string' || !/^[a-z]+:\S+$/.test(mediaId)) {
      throw invalidInput(
        `${operation}: ${JSON.stringify(mediaId)} is not a media id (like "youtube:dQw4w9WgXcQ")`,
      );
    }
  }

  const registry: Registry = {
    url: displayUrl,

    async get(key: RegistryKey) {
      ensureOpen();
      let cacheKey: string;
      let statement: SqlStatement;
      if (typeof key !== 'object' || key === null) {
        throw invalidInput('registry.get takes { isrc }, { platform, id } or { mediaId }');
      } else if ('isrc' in key && typeof key.isrc === 'string') {
        const isrc = parseIsrc(key.isrc);
        if (isrc === undefined) return undefined;
        cacheKey = `i:${isrc}`;
        statement = { sql: selectByIsrc, args: [isrc] };
      } else if ('platform' in key && typeof key.id === 'string' && key.platform in platformIdPatterns) {
        cacheKey = `p:${key.platform}:${key.id}`;
        statement = { sql: selectByPlatformId, args: [key.platform, key.id] };
      } else if ('mediaId' in key && typeof key.mediaId === 'string') {
        cacheKey = `m:${key.mediaId}`;
        statement = { sql: selectByMediaId, args: [key.mediaId] };
      } else {
        throw invalidInput(
          `registry.get: ${JSON.stringify(key)} is not a key: use { isrc }, { platform: 'spotify' | 'deezer' | 'apple' | 'youtube', id } or { mediaId }`,
        );
      }
      const cached = cache.get(cacheKey);
      if (cached !== undefined) return cached;
      const generation = cache.generation;
      let row: SqlRow | undefined;
      try {
        row = await driver.readFirst(statement);
      } catch (error) {
        if (closed) throw closedError(displayUrl);
        throw registryError(error, 'get', displayUrl);
      }
      if (row === undefined) return undefined;
      const entry = entryFromRow(row);
      cache.set(cacheKey, entry, [cacheKey, `i:${entry.track.isrc}`, `m:${entry.media.id}`], generation);
      return entry;
    },

    put(match) {
      return putMany([match], 'registry.put');
    },

    putMany(matches) {
      return putMany(matches, 'registry.putMany');
    },

    async dueForRefresh({ within, limit = 100 }) {
      ensureOpen();
      if (!Number.isFinite(within) || within < 0) {
        throw invalidInput(`dueForRefresh: within must be milliseconds ≥ 0, got ${String(within)}`);
      }
      if (!Number.isInteger(limit) || limit < 1) {
        throw invalidInput(`dueForRefresh: limit must be a whole number ≥ 1, got ${String(limit)}`);
      }
      const rows = await read(
        {
          sql: `SELECT media_id, min(expires_at), max(refresh_failures), media->>'pageUrl' FROM mapping
                WHERE formats IS NOT NULL AND expires_at <= ? GROUP BY media_id ORDER BY 2 LIMIT ?`,
          args: [Math.floor(now() + within), limit],
        },
        'dueForRefresh',
      );
      return rows.map(
        (row): DueLink => ({
          mediaId: row[0] as string,
          expiresAt: row[1] as number,
          refreshFailures: row[2] as number,
          pageUrl: row[3] as string,
        }),
      );
    },

    async recordRefresh(mediaId, outcome: RefreshOutcome): Promise<RefreshRecord> {
      ensureOpen();
      checkMediaId(mediaId, 'recordRefresh');
      const at = now();
      let statement: SqlStatement;
      if (outcome?.ok === true) {
        const problems = formatProblems(outcome.formats, 'formats');
        const expiresAt = outcome.expiresAt ?? earliestExpiry(outcome.formats);
        if (expiresAt !== null && !(Number.isInteger(expiresAt) && expiresAt >= 1e12)) {
          problems.push(`expiresAt must be epoch milliseconds, got ${String(expiresAt)}`);
        }
        if (problems.length > 0) throw invalidInput(`recordRefresh(${mediaId}): ${problems.join('; ')}`);
        statement = {
          sql: `UPDATE mapping SET formats = ?, expires_at = ?, refreshed_at = ?, refresh_failures = 0,
                last_failure = NULL, updated_at = ? WHERE media_id = ? RETURNING 0, 0`,
          args: [JSON.stringify(outcome.formats), expiresAt, at, at, mediaId],
        };
      } else if (outcome?.ok === false) {
        statement = {
          sql: `UPDATE mapping SET refresh_failures = refresh_failures + 1, last_failure = ?1,
                formats = CASE WHEN refresh_failures + 1 >= ?2 THEN NULL ELSE formats END,
                expires_at = CASE WHEN refresh_failures + 1 >= ?2 THEN NULL ELSE expires_at END,
                updated_at = ?3
                WHERE media_id = ?4 RETURNING refresh_failures, formats IS NULL`,
          args: [String(outcome.reason ?? 'unknown'), maxRefreshFailures, at, mediaId],
        };
      } else {
        throw invalidInput('recordRefresh takes { ok: true, formats, expiresAt? } or { ok: false, reason }');
      }
      try {
        const [rows] = await write('recordRefresh', [statement]);
        const row = rows?.[0];
        if (row === undefined) {
          throw new NexStreamError(
            NexStreamErrorCode.NotFound,
            `recordRefresh: no mapping in ${displayUrl} uses media ${mediaId}`,
          );
        }
        return { refreshFailures: Number(row[0]), dropped: Number(row[1]) === 1 };
      } finally {
        cache.invalidate(`m:${mediaId}`);
      }
    },

    async dropLink(mediaId, dropOptions = {}) {
      ensureOpen();
      checkMediaId(mediaId, 'dropLink');
      const at = now();
      try {
        const [rows] = await write('dropLink', [
          {
            sql: `UPDATE mapping SET formats = NULL, expires_at = NULL, last_failure = ?, updated_at = ?
                  WHERE media_id = ? RETURNING 1`,
            args: [dropOptions.reason ?? 'dropped', at, mediaId],
          },
        ]);
        return (rows?.length ?? 0) > 0;
      } finally {
        cache.invalidate(`m:${mediaId}`);
      }
    },

    async stats(): Promise<RegistryStats> {
      ensureOpen();
      const at = now();
      const rows = await read(
        {
          sql: `SELECT
            (SELECT count(*) FROM mapping),
            (SELECT count(DISTINCT media_id) FROM mapping),
            (SELECT count(*) FROM platform_id),
            (SELECT count(DISTINCT media_id) FROM mapping WHERE formats IS NOT NULL AND (expires_at IS NULL OR expires_at > ?1)),
            (SELECT count(DISTINCT media_id) FROM mapping WHERE formats IS NOT NULL AND expires_at <= ?1),
            (SELECT count(DISTINCT media_id) FROM mapping WHERE formats IS NULL),
            (SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()),
            (SELECT user_version FROM pragma_user_version())`,
          args: [at],
        },
        'stats',
      );
      const row = rows[0] as SqlRow;
      return {
        tracks: Number(row[0]),
        media: Number(row[1]),
        platformIds: Number(row[2]),
        links: { live: Number(row[3]), expired: Number(row[4]), dropped: Number(row[5]) },
        databaseSizeBytes: Number(row[6]),
        schemaVersion: Number(row[7]),
        cache: { entries: cache.size, hits: cache.hits, misses: cache.misses },
        writes: {
          pending: queue.pending,
          completed: queue.completed,
          failed: queue.failed,
          busyRetries: queue.busyRetries,
        },
      };
    },

    close() {
      closing ??= (async () => {
        closed = true;
        await queue.drain();
        cache.clear();
        driver.close();
      })();
      return closing;
    },
  };
  return registry;
}
