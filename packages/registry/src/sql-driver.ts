/**
 * What the registry needs from a database driver: reads, all-or-nothing writes, interactive write transactions
 * (for migrations) and a few lifecycle hooks. Two drivers implement it (docs/decisions/0033):
 *
 * - `libsql`'s `Database` (`src/native-driver.ts`) for embedded files and `:memory:` in Node: the same engine
 *   `@libsql/client` runs on, called directly, with cached prepared statements;
 * - `@libsql/client` (`src/client-driver.ts`) for Turso, sqld, embedded replicas and the browser build.
 *
 * Everything above this interface (the registry's queries, the write queue, the read cache, migrations,
 * verification) is one implementation, `src/libsql-store.ts`, whichever engine is below it.
 */

/** How the registry reaches its database; decides which PRAGMAs apply and where migrations run. */
export type ConnectionKind = 'file' | 'memory' | 'remote' | 'replica';

/** A value bound to a statement or read from a row. Integers are JavaScript numbers (epoch ms, counts). */
export type SqlValue = string | number | null;

/** A statement with positional (`?`, `?NNN`) parameters. */
export interface SqlStatement {
  sql: string;
  args: readonly SqlValue[];
}

/** One result row, its columns by position. */
export type SqlRow = ArrayLike<unknown>;

/** The statements a migration runs inside its write transaction. */
export interface SqlTransaction {
  /** Runs one statement inside the transaction and returns its rows. */
  execute(sql: string): Promise<SqlRow[]>;
}

/** Where write transactions run: the database itself, or for an embedded replica its primary. */
export interface SqlTransactionRunner {
  /**
   * Opens a write transaction (`BEGIN IMMEDIATE`), runs `work` in it, commits when it resolves and rolls back
   * when it rejects. The transaction is always closed, also on error.
   */
  writeTransaction<Result>(work: (transaction: SqlTransaction) => Promise<Result>): Promise<Result>;
}

/** The engine under the registry. Every method maps nothing: errors are the engine's own. */
export interface SqlDriver extends SqlTransactionRunner {
  readonly kind: ConnectionKind;
  /** The URL for messages and `registry.url`, without credentials. */
  readonly displayUrl: string;
  /** Mappings per multi-row upsert statement of a batch write (what this engine does fastest). */
  readonly rowsPerStatement: number;
  /** Runs a read statement and returns every row. */
  read(statement: SqlStatement): Promise<SqlRow[]>;
  /** Runs a read statement and returns its first row: the look-up path. */
  readFirst(statement: SqlStatement): Promise<SqlRow | undefined>;
  /**
   * Runs the statements as one write, all or nothing, and returns each statement's rows (`RETURNING`). Fails
   * with the engine's `SQLITE_BUSY` error, having changed nothing, when another process holds the write lock.
   */
  write(statements: readonly SqlStatement[]): Promise<SqlRow[][]>;
  /** Brings the local copy up to date before it is read (an embedded replica syncs; others do nothing). */
  refresh(): Promise<void>;
  /** Sets the per-connection PRAGMAs of an embedded file (WAL, `synchronous=NORMAL`, page cache). */
  applyPragmas(): Promise<void>;
  /** Runs `migrate` where the schema changes: here, or on an embedded replica's primary (then syncs). */
  migrate(migrate: (runner: SqlTransactionRunner) => Promise<void>): Promise<void>;
  /** Repairs what a write that met `SQLITE_BUSY` left behind, before the write queue retries it. */
  recover?(): Promise<void>;
  /** Called once a write failed for good (not on busy retries): re-applies what a reopened connection lost. */
  afterFailedWrite?(): Promise<void>;
  /** Releases the connections. Safe to call twice. */
  close(): void;
}

/** The page cache of an embedded file's connection, in KiB. */
export const pageCacheKiB = 32 * 1024;

/** The PRAGMAs of an embedded file's connection (see {@link SqlDriver.applyPragmas}). */
export const filePragmas: readonly string[] = [
  'PRAGMA journal_mode = WAL',
  'PRAGMA synchronous = NORMAL',
  // 32 MiB of page cache (SQLite's default is 2 MiB): the indexes of a few hundred thousand mappings stay
  // in memory, which makes batch upserts with random keys about twice as fast.
  `PRAGMA cache_size = ${-pageCacheKiB}`,
];
