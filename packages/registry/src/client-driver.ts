import type { Client, InStatement, Transaction } from '@libsql/client';
import {
  type ConnectionKind,
  filePragmas,
  type SqlDriver,
  type SqlRow,
  type SqlStatement,
  type SqlTransaction,
  type SqlTransactionRunner,
} from './sql-driver.js';

/** What {@link createClientDriver} needs: an open client and how it reaches the database. */
export interface ClientEngineOptions {
  client: Client;
  kind: ConnectionKind;
  /** The URL for messages and `registry.url`, without credentials. */
  displayUrl: string;
  /** For an embedded replica: opens a client on the primary, where migrations run. */
  openPrimary?: () => Client;
}

/**
 * Mappings per statement in a batch write: 6,000 bound parameters, well under SQLite's 32,766. The client
 * prepares every statement anew, so few big statements beat many small ones (docs/decisions/0031).
 */
const rowsPerStatement = 500;

function transactionRunner(client: Client): SqlTransactionRunner {
  return {
    async writeTransaction(work) {
      const transaction: Transaction = await client.transaction('write');
      try {
        const result = await work({
          async execute(sql) {
            return (await transaction.execute(sql)).rows;
          },
        } satisfies SqlTransaction);
        await transaction.commit();
        return result;
      } finally {
        transaction.close();
      }
    },
  };
}

/**
 * The {@link SqlDriver} on `@libsql/client`: Turso and sqld (HTTP, WebSocket), embedded replicas, the browser
 * build, and embedded files whose URL the native engine does not take (query parameters).
 */
export function createClientDriver(options: ClientEngineOptions): SqlDriver {
  const { client, kind, displayUrl, openPrimary } = options;
  const applyPragmas = async () => {
    if (kind !== 'file') return;
    for (const pragma of filePragmas) await client.execute(pragma);
  };
  const execute = (statement: SqlStatement) => client.execute(statement as InStatement);
  let closed = false;
  return {
    kind,
    displayUrl,
    rowsPerStatement,
    ...transactionRunner(client),

    async read(statement) {
      return (await execute(statement)).rows;
    },

    async readFirst(statement) {
      let rows: SqlRow[];
      try {
        rows = (await execute(statement)).rows;
      } catch (error) {
        if (closed || (error as { code?: unknown }).code !== 'CLIENT_CLOSED') throw error;
        // The write queue reopened the connection (after SQLITE_BUSY) while this read held it: read again.
        rows = (await execute(statement)).rows;
      }
      return rows[0];
    },

    async write(statements) {
      if (statements.length === 1) return [(await execute(statements[0] as SqlStatement)).rows];
      const results = await client.batch(statements as InStatement[], 'write');
      return results.map((result) => result.rows);
    },

    async refresh() {
      if (kind === 'replica') await client.sync();
    },

    applyPragmas,

    async migrate(migrate) {
      if (kind === 'replica' && openPrimary) {
        // An embedded replica's local file is a copy of the primary: the schema changes there.
        const primary = openPrimary();
        try {
          await migrate(transactionRunner(primary));
        } finally {
          primary.close();
        }
        await client.sync();
        return;
      }
      await migrate(transactionRunner(client));
    },

    // After SQLITE_BUSY at BEGIN IMMEDIATE, the client leaves the statement un-finalized and the connection
    // keeps a stale snapshot: every later BEGIN IMMEDIATE fails with SQLITE_BUSY_SNAPSHOT until it is reopened.
    recover:
      kind === 'file'
        ? async () => {
            await client.reconnect();
            await applyPragmas();
          }
        : undefined,

    // A connection the client could not roll back is dropped and reopened with SQLite's defaults.
    afterFailedWrite: kind === 'file' ? applyPragmas : undefined,

    close() {
      closed = true;
      client.close();
    },
  };
}
