import Database from 'libsql';
import {
  filePragmas,
  type SqlDriver,
  type SqlRow,
  type SqlTransaction,
  type SqlValue,
} from './sql-driver.js';

/** What {@link createNativeDriver} needs. */
export interface NativeEngineOptions {
  /** The database file's path, or `:memory:`. */
  path: string;
  kind: 'file' | 'memory';
  /** The URL for messages and `registry.url`. */
  displayUrl: string;
}

/**
 * Mappings per statement in a batch write. Statements are prepared once and reused, so a statement's size
 * only trades binding work against the number of calls: measured, 50 rows cost ~22 µs of CPU per mapping
 * against ~32 µs for one row per statement and ~23 µs for 500 (docs/decisions/0033).
 */
const rowsPerStatement = 50;

/** Prepared statements kept per connection (each batch size, each query). */
const maxCachedStatements = 64;

/**
 * The longest a batch write keeps the event loop, in milliseconds, before it yields (between two statements,
 * inside its transaction, on its own connection). Only embedded files: `:memory:` has a single connection.
 */
const maxBlockingMs = 10;

interface CachedStatement {
  statement: Database.Statement;
  /** The statement returns rows (a query, or a write with `RETURNING`): run it with `all`, else with `run`. */
  returnsRows: boolean;
}

/** One connection with its own cache of prepared statements, keyed by SQL text. */
interface Connection {
  database: Database.Database;
  prepared(sql: string): CachedStatement;
}

function openConnection(path: string): Connection {
  // `timeout: 0`: no busy_timeout. SQLite's busy handler waits synchronously, blocking the event loop; the
  // write queue retries asynchronously instead (docs/decisions/0030).
  const database = new Database(path, { timeout: 0 });
  const statements = new Map<string, CachedStatement>();
  return {
    database,
    prepared(sql) {
      let cached = statements.get(sql);
      if (cached === undefined) {
        const statement = database.prepare(sql);
        const returnsRows = statement.columns().length > 0;
        // Rows as arrays of column values, as `@libsql/client` rows index them.
        if (returnsRows) statement.raw(true);
        cached = { statement, returnsRows };
        if (statements.size >= maxCachedStatements) {
          statements.delete(statements.keys().next().value as string);
        }
        statements.set(sql, cached);
      }
      return cached;
    },
  };
}

/** Runs one statement to completion; a statement left half-stepped would keep its snapshot or its lock. */
function run(connection: Connection, sql: string, args: readonly SqlValue[]): SqlRow[] {
  const { statement, returnsRows } = connection.prepared(sql);
  if (returnsRows) return statement.all(args) as SqlRow[];
  statement.run(args);
  return [];
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The {@link SqlDriver} on `libsql`'s `Database`: the engine `@libsql/client` runs embedded files on, called
 * directly through its synchronous API with prepared statements kept for reuse. A cold look-up costs about a
 * fifth of the client's `execute`, which re-prepares every statement and builds row objects.
 *
 * The synchronous calls hold the event loop, so each stays short: a look-up is one prepared statement, and a
 * batch write yields every {@link maxBlockingMs} between its statements.
 *
 * An embedded file gets two connections: one for writes, one for reads. A batch write can then yield inside its
 * transaction while look-ups keep reading the last committed state (WAL: readers and the writer never wait for
 * each other). `:memory:` is one database per connection, so it has one, and its batch writes do not yield.
 *
 * Locks: every write is `BEGIN IMMEDIATE` … `COMMIT` through `exec`, so `SQLITE_BUSY` from another process can
 * only come from `BEGIN IMMEDIATE`, before anything was written and with no statement left half-run (a write
 * statement that meets `SQLITE_BUSY` in autocommit mode stays un-reset, and its next `COMMIT` then fails with
 * "SQL statements in progress": libsql-client-ts#352). The write queue retries it asynchronously.
 */
export function createNativeDriver(options: NativeEngineOptions): SqlDriver {
  const { path, kind, displayUrl } = options;
  let writer = openConnection(path);
  let reader: Connection;
  try {
    reader = kind === 'file' ? openConnection(path) : writer;
  } catch (error) {
    writer.database.close();
    throw error;
  }
  let closed = false;

  const applyPragmas = async () => {
    if (kind !== 'file') return;
    for (const connection of [writer, reader]) {
      for (const pragma of filePragmas) connection.database.exec(pragma);
    }
  };

  /** Rolls back what is left open; reopens the writer when even that fails (its state is then unknown). */
  function closeTransaction(): void {
    const { database } = writer;
    if (!database.open || !database.inTransaction) return;
    try {
      database.exec('ROLLBACK');
    } catch {
      try {
        database.close();
      } catch {
        // Closing is all that is left to try.
      }
      // A `:memory:` database lives only in its connection: there is nothing to reopen.
      if (closed || kind !== 'file') return;
      writer = openConnection(path);
      for (const pragma of filePragmas) writer.database.exec(pragma);
    }
  }

  const driver: SqlDriver = {
    kind,
    displayUrl,
    rowsPerStatement,

    async read({ sql, args }) {
      return run(reader, sql, args);
    },

    async readFirst({ sql, args }) {
      // `get` steps once and resets the statement: no snapshot is left open.
      return reader.prepared(sql).statement.get(args) as SqlRow | undefined;
    },

    async write(statements) {
      const connection = writer;
      connection.database.exec('BEGIN IMMEDIATE');
      try {
        const results: SqlRow[][] = [];
        let sliceStartedAt = performance.now();
        for (const { sql, args } of statements) {
          results.push(run(connection, sql, args));
          if (kind === 'file' && performance.now() - sliceStartedAt > maxBlockingMs) {
            await yieldToEventLoop();
            if (closed || writer !== connection) throw new Error(`the registry on ${displayUrl} was closed`);
            sliceStartedAt = performance.now();
          }
        }
        connection.database.exec('COMMIT');
        return results;
      } catch (error) {
        closeTransaction();
        throw error;
      }
    },

    async writeTransaction(work) {
      const connection = writer;
      connection.database.exec('BEGIN IMMEDIATE');
      try {
        const result = await work({
          async execute(sql) {
            return run(connection, sql, []);
          },
        } satisfies SqlTransaction);
        connection.database.exec('COMMIT');
        return result;
      } finally {
        closeTransaction();
      }
    },

    async refresh() {},

    applyPragmas,

    async migrate(migrate) {
      await migrate(driver);
    },

    async recover() {
      // `BEGIN IMMEDIATE` failed through `exec`: nothing is half-run, and no snapshot is held. Only make sure.
      closeTransaction();
    },

    close() {
      if (closed) return;
      closed = true;
      for (const connection of new Set([reader, writer])) {
        if (connection.database.open) connection.database.close();
      }
    },
  };
  return driver;
}
