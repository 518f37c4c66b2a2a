import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import type { ConnectionKind } from './sql-driver.js';

/** The URL scheme in lower case (`file`, `libsql`, `https`…), or `undefined` when `url` has none. */
export function urlScheme(url: string): string | undefined {
  if (url === ':memory:') return 'file';
  return /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
}

const remoteSchemes = new Set(['libsql', 'https', 'http', 'wss', 'ws']);

/** Decides how a URL reaches its database, or throws `NXS_INVALID_INPUT` for URLs libSQL cannot open. */
export function connectionKind(
  url: string,
  syncUrl: string | undefined,
  allowLocal: boolean,
): ConnectionKind {
  const scheme = urlScheme(url);
  if (scheme === 'file') {
    if (!allowLocal) {
      throw new NexStreamError(
        NexStreamErrorCode.InvalidInput,
        `createRegistry: ${url} is a local file, which the browser build of @nexstream/registry cannot open: ` +
          'give a remote url (libsql://, https://, wss://) of a Turso database or an sqld server',
      );
    }
    const memory = url === ':memory:' || url.startsWith('file::memory:') || /[?&]mode=memory(&|$)/.test(url);
    if (syncUrl !== undefined) {
      if (memory) {
        throw new NexStreamError(
          NexStreamErrorCode.InvalidInput,
          'createRegistry: an embedded replica (syncUrl) needs a file: url for its local copy, not :memory:',
        );
      }
      return 'replica';
    }
    return memory ? 'memory' : 'file';
  }
  if (scheme !== undefined && remoteSchemes.has(scheme)) {
    if (syncUrl !== undefined) {
      throw new NexStreamError(
        NexStreamErrorCode.InvalidInput,
        `createRegistry: syncUrl makes a file: database a replica of a remote one; url ${displayUrlOf(url)} is already remote`,
      );
    }
    return 'remote';
  }
  throw new NexStreamError(
    NexStreamErrorCode.InvalidInput,
    `createRegistry: unsupported url ${JSON.stringify(displayUrlOf(url))}: use file:path/to/registry.db, :memory:, ` +
      'libsql://, https://, http://, wss:// or ws://',
  );
}

/** `url` without credentials (user info, `authToken` query parameter), for messages and `registry.url`. */
export function displayUrlOf(url: string): string {
  const scheme = urlScheme(url);
  if (scheme === undefined || scheme === 'file') return url.replace(/\?.*$/, '');
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    parsed.searchParams.delete('authToken');
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return url.replace(/\?.*$/, '');
  }
}

/**
 * The path `libsql`'s `Database` opens for an embedded `file:` URL (`file:///abs/registry.db`,
 * `file:relative.db`, `file://localhost/abs.db`) or `:memory:`, decoded as `@libsql/client` decodes it; or
 * `undefined` for a URL it should not take (query parameters, a fragment, a host, a memory URL with options):
 * those stay with `@libsql/client`, which accepts or rejects them as before.
 */
export function localDatabasePath(url: string): string | undefined {
  if (url === ':memory:' || url === 'file::memory:') return ':memory:';
  const match = /^file:(?:\/\/([^/?#]*))?([^?#]*)$/i.exec(url);
  if (match === null) return undefined;
  const [, authority, encodedPath = ''] = match;
  if (authority !== undefined && authority !== '' && authority.toLowerCase() !== 'localhost')
    return undefined;
  let path: string;
  try {
    path = decodeURIComponent(encodedPath);
  } catch {
    return undefined;
  }
  if (path === '' || path.startsWith(':memory:')) return undefined;
  return path;
}
