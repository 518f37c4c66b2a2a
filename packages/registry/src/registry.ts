import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Client, createClient } from '@libsql/client';
import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import { connectionKind, displayUrlOf } from './connection-url.js';
import { openRegistry } from './libsql-store.js';
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

/**
 * Opens (creating and migrating as needed) the registry of verified mappings.
 *
 * - no `url`: an embedded file `registry.db` in the data directory, in WAL mode with `synchronous=NORMAL`;
 * - `file:…` / `:memory:`: that embedded database;
 * - `libsql://`, `https://`, `http://`, `wss://`, `ws://`: a Turso database or an sqld server (`authToken`);
 * - `file:…` plus `syncUrl`: an embedded replica of that remote database (reads local, writes remote).
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
    throw new NexStreamError(
      NexStreamErrorCode.InvalidInput,
      `createRegistry: cannot open ${displayUrl}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  const { syncUrl, authToken } = options;
  return openRegistry(
    {
      client,
      kind,
      displayUrl,
      openPrimary: syncUrl === undefined ? undefined : () => createClient({ url: syncUrl, authToken }),
    },
    options,
  );
}
