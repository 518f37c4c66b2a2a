import { type Client, createClient } from '@libsql/client';
import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';

/** Who runs a channel, until when, and the term's fencing token. */
export interface ChannelLease {
  channelId: string;
  /** The owning instance's id (its URL and a random suffix: a restarted process is a new owner). */
  owner: string;
  /** Where the other instances reach the owner: `NEXSTREAM_INSTANCE_URL`. */
  ownerUrl: string;
  /**
   * The fencing token: it grows by one whenever a new term starts (another owner, or the same owner after its
   * lease had expired), so a holder that sees a different token than it was given knows someone else may have
   * run the channel in between.
   */
  token: number;
  /** End of the term, in ms since the epoch on the database's clock (not the instances'). */
  expiresAt: number;
}

/** Options of {@link createLeaseStore}. */
export interface LeaseStoreOptions {
  /** libSQL URL: `file:…`, `http://` / `ws://` (sqld), `libsql://` (Turso). */
  url: string;
  authToken?: string;
  /** This instance's id ({@link ChannelLease.owner}). */
  owner: string;
  /** This instance's base URL ({@link ChannelLease.ownerUrl}). */
  ownerUrl: string;
  /** Length of a term, in ms. */
  ttlMs: number;
}

/** The `channel_leases` table of the cluster database. Every method is one SQL statement. */
export interface LeaseStore {
  /**
   * Takes or renews the lease of `channelId` in one atomic statement: it succeeds when nobody holds it, the
   * holder's term has expired, or this instance holds it. Resolves with the lease when this instance holds it
   * afterwards, `undefined` when someone else does.
   */
  acquire(channelId: string): Promise<ChannelLease | undefined>;
  /** The lease row of `channelId`, expired or not; `undefined` when there has never been one. */
  current(channelId: string): Promise<ChannelLease | undefined>;
  /** Ids of the channels whose lease has expired (their owner died or let go): candidates for a takeover. */
  expired(): Promise<string[]>;
  /** Every lease row, by channel id. */
  list(): Promise<ChannelLease[]>;
  /** Ends this instance's term on `channelId` at once (only the term of `token`), so another takes over now. */
  release(channelId: string, token: number): Promise<void>;
  close(): void;
}

/** Now, in ms, on the database's clock: one clock for every instance, whatever their own clocks say. */
const now = "CAST(unixepoch('subsec') * 1000 AS INTEGER)";

const schema = `CREATE TABLE IF NOT EXISTS channel_leases (
  channel_id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  owner_url TEXT NOT NULL,
  token INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
)`;

// One statement takes, steals (expired) or renews. In SET, the bare column names are the stored row's values.
const acquireSql = `INSERT INTO channel_leases (channel_id, owner, owner_url, token, expires_at)
VALUES (:channel, :me, :url, 1, ${now} + :ttl)
ON CONFLICT(channel_id) DO UPDATE SET
  token = CASE WHEN owner = excluded.owner AND expires_at >= ${now} THEN token ELSE token + 1 END,
  owner = excluded.owner,
  owner_url = excluded.owner_url,
  expires_at = excluded.expires_at
WHERE channel_leases.expires_at < ${now} OR channel_leases.owner = excluded.owner
RETURNING channel_id, owner, owner_url, token, expires_at`;

function toLease(row: Record<string, unknown>): ChannelLease {
  return {
    channelId: String(row.channel_id),
    owner: String(row.owner),
    ownerUrl: String(row.owner_url),
    token: Number(row.token),
    expiresAt: Number(row.expires_at),
  };
}

function databaseError(what: string, url: string, error: unknown): NexStreamError {
  return new NexStreamError(
    NexStreamErrorCode.Registry,
    `cluster database ${url.replace(/\/\/[^@/]*@/, '//')}: ${what} failed: ${(error as Error).message}`,
    { cause: error, retryable: true },
  );
}

/**
 * Opens the cluster database and creates `channel_leases` when missing. The clock of every comparison is the
 * database's (`unixepoch('subsec')`), so instances with skewed clocks still agree on who holds a lease.
 *
 * @throws NexStreamError `NXS_REGISTRY` when the database cannot be opened.
 */
export async function createLeaseStore(options: LeaseStoreOptions): Promise<LeaseStore> {
  let client: Client;
  try {
    client = createClient({
      url: options.url,
      ...(options.authToken ? { authToken: options.authToken } : {}),
    });
    // An embedded file shared by processes on one machine: WAL lets readers run beside the writer. (WAL
    // needs shared memory: across machines use sqld or Turso, not a file on a network disk.)
    if (options.url.startsWith('file:')) await client.execute('PRAGMA journal_mode = WAL');
    await client.execute(schema);
  } catch (error) {
    throw databaseError('opening', options.url, error);
  }
  const run = async (what: string, sql: string, args: Record<string, string | number> = {}) => {
    // No busy_timeout (SQLite's busy handler would block the event loop): a write that meets another
    // process's write (SQLITE_BUSY, embedded files only) is retried here, a few times, asynchronously.
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await client.execute({ sql, args });
      } catch (error) {
        if (attempt >= 8 || !/SQLITE_BUSY|database is locked/i.test(String((error as Error).message))) {
          throw databaseError(what, options.url, error);
        }
        await new Promise((resolve) => setTimeout(resolve, 10 * attempt));
      }
    }
  };
  return {
    async acquire(channelId) {
      const result = await run('taking a lease', acquireSql, {
        channel: channelId,
        me: options.owner,
        url: options.ownerUrl,
        ttl: options.ttlMs,
      });
      const row = result.rows[0];
      return row ? toLease(row as unknown as Record<string, unknown>) : undefined;
    },
    async current(channelId) {
      const result = await run(
        'reading a lease',
        'SELECT channel_id, owner, owner_url, token, expires_at FROM channel_leases WHERE channel_id = :channel',
        { channel: channelId },
      );
      const row = result.rows[0];
      return row ? toLease(row as unknown as Record<string, unknown>) : undefined;
    },
    async expired() {
      const result = await run(
        'listing expired leases',
        `SELECT channel_id FROM channel_leases WHERE expires_at < ${now} ORDER BY channel_id`,
      );
      return result.rows.map((row) => String(row.channel_id));
    },
    async list() {
      const result = await run(
        'listing leases',
        'SELECT channel_id, owner, owner_url, token, expires_at FROM channel_leases ORDER BY channel_id',
      );
      return result.rows.map((row) => toLease(row as unknown as Record<string, unknown>));
    },
    async release(channelId, token) {
      await run(
        'releasing a lease',
        'UPDATE channel_leases SET expires_at = 0 WHERE channel_id = :channel AND owner = :me AND token = :token',
        { channel: channelId, me: options.owner, token },
      );
    },
    close: () => client.close(),
  };
}
