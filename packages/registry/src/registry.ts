import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Client, createClient } from '@libsql/client';
import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import { createClientDriver } from './client-driver.js';
import { connectionKind, displayUrlOf, localDatabasePath } from './connection-url.js';
import { openRegistry } from './libsql-store.js';
import { createNativeDriver } from './native-driver.js';
import type { ConnectionKind, SqlDriver } from './sql-driver.js';
import type { Registry, RegistryConnectionOptions } from './types.js';

/** Options of the Node {@link createRegistry}. */
export interface RegistryOptions extends RegistryConnectionOptions {
  /**
   * Where the default embedded database (`registry.db`) lives when `url` is absent. Defaults to the
   * `NEXSTREAM_DATA_DIR` environment variable, else `./data` under the current directory; created if missing.
   */
  dataDirectory?: string;
}

/** The file name of the default embedded database inside the data directory. */
export const defaultDatabaseFileName = 'registry.db';

/** The `file:` URL of the default embedded database, creating its directory. */
function defaultUrl(dataDirectory: string | undefined): string {
  const directory = resolve(
    dataDirectory ?? process.env['NEXSTREAM_DATA_DIR'] ?? join(process.cwd(), 'data'),
  );
  mkdirSync(directory, { recursive: true });
  return pathToFileURL(join(directory, defaultDatabaseFileName)).href;
}

/** `NXS_INVALID_INPUT` for a database that cannot even be opened (bad path, unusable URL). */
function cannotOpen(displayUrl: string, error: unknown): NexStreamError {
  return new NexStreamError(
    NexStreamErrorCode.InvalidInput,
    `createRegistry: cannot open ${displayUrl}: ${error instanceof Error ? error.message : String(error)}`,
    { cause: error },
  );
}

/** The {@link SqlDriver} on `@libsql/client`: remote databases, embedded replicas, unusual `file:` URLs. */
function openClientDriver(url: string, kind: ConnectionKind, options: RegistryOptions): SqlDriver {
  const displayUrl = displayUrlOf(url);
  let client: Client;
  try {
    client = createClient({
      url,
      authToken: options.authToken,
      syncUrl: options.syncUrl,
      syncInterval: options.syncInterval,
      // One connection for an embedded file: per-connection PRAGMAs (synchronous) then always apply, and
      // statements run synchronously anyway, so a pool would add nothing.
      concurrency: kind === 'file' ? 1 : undefined,
      intMode: 'number',
    });
  } catch (error) {
    throw cannotOpen(displayUrl, error);
  }
  const { syncUrl, authToken } = options;
  return createClientDriver({
    client,
    kind,
    displayUrl,
    openPrimary: syncUrl === undefined ? undefined : () => createClient({ url: syncUrl, authToken }),
  });
}

/**
 * Opens the registry on `@libsql/client` whatever the URL, also for an embedded file that
 * {@link createRegistry} would open with `libsql`'s `Database`. Not exported from the package: the tests run
 * the behavioural suite on both drivers, and the benchmark's reference is the client.
 *
 * @internal
 */
export async function createClientRegistry(options: RegistryOptions = {}): Promise<Registry> {
  const url = options.url ?? defaultUrl(options.dataDirectory);
  const kind = connectionKind(url, options.syncUrl, true);
  return openRegistry(openClientDriver(url, kind, options), options);
}

/**
 * Opens (creating and migrating as needed) the registry of verified mappings.
 *
 * - no `url`: an embedded file `registry.db` in the data directory, in WAL mode with `synchronous=NORMAL`;
 * - `file:…` / `:memory:`: that embedded database;
 * - `libsql://`, `https://`, `http://`, `wss://`, `ws://`: a Turso database or an sqld server (`authToken`);
 * - `file:…` plus `syncUrl`: an embedded replica of that remote database (reads local, writes remote).
 *
 * Embedded files and `:memory:` run on `libsql`'s `Database` with prepared statements kept for reuse (a cold
 * look-up ~5× cheaper than through the client); everything else on `@libsql/client` (docs/decisions/0033).
 *
 * @throws NexStreamError `NXS_INVALID_INPUT` for an unusable url or option, `NXS_REGISTRY` when the database
 * cannot be opened: not a database, written by a newer version (left untouched), unreachable.
 *
 * @example
 * ```ts
 * const registry = await createRegistry({ dataDirectory: './data' });
 * const entry = await registry.get({ platform: 'spotify', id: '4uLU6hMCjMI75M1A2tKUQC' });
 * await registry.close();
 * ```
 */
export async function createRegistry(options: RegistryOptions = {}): Promise<Registry> {
  const url = options.url ?? defaultUrl(options.dataDirectory);
  const kind = connectionKind(url, options.syncUrl, true);
  const path = kind === 'file' || kind === 'memory' ? localDatabasePath(url) : undefined;
  if (path === undefined || (kind !== 'file' && kind !== 'memory')) {
    return openRegistry(openClientDriver(url, kind, options), options);
  }
  const displayUrl = displayUrlOf(url);
  let driver: SqlDriver;
  try {
    driver = createNativeDriver({ path, kind, displayUrl });
  } catch (error) {
    throw cannotOpen(displayUrl, error);
  }
  return openRegistry(driver, options);
}
