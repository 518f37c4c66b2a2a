/**
 * `@nexstream/registry` in browsers, workers and edge runtimes (the `browser` export condition): the same API,
 * remote databases only (Turso, sqld over `libsql://`, `https://`, `wss://`). A `file:` URL fails with
 * `NXS_INVALID_INPUT`: there is no local file to open.
 *
 * @packageDocumentation
 */
import { type Client, createClient } from '@libsql/client/web';
import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import { createClientDriver } from './client-driver.js';
import { connectionKind, displayUrlOf } from './connection-url.js';
import { openRegistry } from './libsql-store.js';
import type { Registry, RegistryConnectionOptions } from './types.js';

/** Options of the browser {@link createRegistry}: `url` is required and remote. */
export interface RegistryOptions extends RegistryConnectionOptions {
  /** The remote database: `libsql://…`, `https://…`, `wss://…` (or `http://` / `ws://` on loopback). */
  url: string;
  /** Not available in browsers: embedded replicas need the native libSQL engine. */
  syncUrl?: undefined;
}

/**
 * Opens the registry on a remote libSQL database (browser build).
 *
 * @throws NexStreamError `NXS_INVALID_INPUT` for a missing, `file:` or `:memory:` url or a `syncUrl`;
 * `NXS_REGISTRY` when the database cannot be used.
 */
export async function createRegistry(options: RegistryOptions): Promise<Registry> {
  const url = options?.url;
  if (typeof url !== 'string' || url === '') {
    throw new NexStreamError(
      NexStreamErrorCode.InvalidInput,
      'createRegistry (browser): a remote url is required (libsql://, https://, wss://): browsers cannot open a local file',
    );
  }
  if (options.syncUrl !== undefined) {
    throw new NexStreamError(
      NexStreamErrorCode.InvalidInput,
      'createRegistry (browser): embedded replicas (syncUrl) need Node; use the remote url directly',
    );
  }
  const kind = connectionKind(url, undefined, false);
  const displayUrl = displayUrlOf(url);
  let client: Client;
  try {
    client = createClient({ url, authToken: options.authToken, intMode: 'number' });
  } catch (error) {
    throw new NexStreamError(
      NexStreamErrorCode.InvalidInput,
      `createRegistry: cannot open ${displayUrl}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  return openRegistry(createClientDriver({ client, kind, displayUrl }), options);
}

export { schemaVersion } from './migrations/index.js';
export type {
  DeepReadonly,
  DueLink,
  LinkState,
  RefreshOutcome,
  RefreshRecord,
  Registry,
  RegistryConnectionOptions,
  RegistryEntry,
  RegistryKey,
  RegistryStats,
} from './types.js';
export {
  type RegistryMedia,
  type RegistryTrack,
  type Verification,
  type VerificationMethod,
  type VerifiedMatch,
  verifiedDurationToleranceMs,
} from './verified-match.js';
