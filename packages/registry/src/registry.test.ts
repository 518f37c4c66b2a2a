import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createClient } from '@libsql/client';
import { afterAll, describe, expect, it } from 'vitest';
import { sampleMatch } from '../test/fixtures.js';
import { describeRegistryBehaviour, expectCode } from '../test/registry-behaviour.js';
import { createRegistry as createBrowserRegistry } from './browser.js';
import { createRegistry, schemaVersion } from './index.js';
import { createClientRegistry } from './registry.js';

const directories: string[] = [];
function temporaryDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), 'nexstream-registry-'));
  directories.push(directory);
  return directory;
}
afterAll(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

describeRegistryBehaviour('embedded file', 1, {
  open: ({ now }) =>
    createRegistry({ url: pathToFileURL(join(temporaryDirectory(), 'registry.db')).href, now }),
});

describeRegistryBehaviour(':memory:', 2, {
  open: ({ now }) => createRegistry({ url: ':memory:', now }),
});

// Embedded files run on `libsql`'s Database; the same suite on @libsql/client, which still serves the URLs the
// native engine does not take (and replicas, remote databases), keeps both engines honest.
describeRegistryBehaviour('embedded file on @libsql/client', 8, {
  open: ({ now }) =>
    createClientRegistry({ url: pathToFileURL(join(temporaryDirectory(), 'registry.db')).href, now }),
});

describeRegistryBehaviour(':memory: on @libsql/client', 9, {
  open: ({ now }) => createClientRegistry({ url: ':memory:', now }),
});

describe('opening a database', () => {
  it('creates registry.db in the data directory, in WAL mode, at the current schema version', async () => {
    const directory = join(temporaryDirectory(), 'nested', 'data');
    const registry = await createRegistry({ dataDirectory: directory });
    await registry.put(sampleMatch(10, 1));
    await registry.close();
    const client = createClient({ url: pathToFileURL(join(directory, 'registry.db')).href });
    try {
      expect((await client.execute('PRAGMA journal_mode')).rows[0]?.[0]).toBe('wal');
      expect((await client.execute('PRAGMA user_version')).rows[0]?.[0]).toBe(schemaVersion);
      expect((await client.execute('SELECT count(*) FROM mapping')).rows[0]?.[0]).toBe(1);
    } finally {
      client.close();
    }
  });

  it('keeps the data across reopening and does not migrate twice', async () => {
    const url = pathToFileURL(join(temporaryDirectory(), 'registry.db')).href;
    const match = sampleMatch(11, 1);
    const first = await createRegistry({ url });
    await first.put(match);
    await first.close();
    const second = await createRegistry({ url });
    expect((await second.get({ isrc: match.track.isrc }))?.media.id).toBe(match.media.id);
    expect((await second.stats()).schemaVersion).toBe(schemaVersion);
    await second.close();
  });

  it('refuses a file that is not a database with NXS_REGISTRY and leaves it as it was', async () => {
    const directory = temporaryDirectory();
    const path = join(directory, 'notes.db');
    const content = 'these are my notes, not a database\n'.repeat(200);
    writeFileSync(path, content);
    const error = await expectCode(createRegistry({ url: pathToFileURL(path).href }), 'NXS_REGISTRY');
    expect(error.message).toMatch(/not a SQLite\/libSQL database/);
    expect(readFileSync(path, 'utf8')).toBe(content);
    expect(existsSync(`${path}-wal`)).toBe(false);
  });

  it('refuses a database written by a newer schema and leaves it untouched', async () => {
    const url = pathToFileURL(join(temporaryDirectory(), 'future.db')).href;
    const client = createClient({ url });
    await client.execute('CREATE TABLE future_thing (id INTEGER)');
    await client.execute(`PRAGMA user_version = ${schemaVersion + 1}`);
    client.close();
    const error = await expectCode(createRegistry({ url }), 'NXS_REGISTRY');
    expect(error.message).toMatch(/newer/);
    expect(error.details).toEqual({
      schemaVersion: schemaVersion + 1,
      supportedSchemaVersion: schemaVersion,
    });
    const check = createClient({ url });
    try {
      expect((await check.execute('PRAGMA user_version')).rows[0]?.[0]).toBe(schemaVersion + 1);
      const tables = await check.execute("SELECT name FROM sqlite_schema WHERE type = 'table'");
      expect(tables.rows.map((row) => row[0])).toEqual(['future_thing']);
      expect((await check.execute('PRAGMA journal_mode')).rows[0]?.[0]).toBe('delete');
    } finally {
      check.close();
    }
  });

  it('rejects URLs libSQL cannot open with NXS_INVALID_INPUT', async () => {
    await expectCode(createRegistry({ url: './data/registry.db' }), 'NXS_INVALID_INPUT');
    await expectCode(createRegistry({ url: 'postgres://localhost/db' }), 'NXS_INVALID_INPUT');
    await expectCode(createRegistry({ url: ':memory:', syncUrl: 'http://127.0.0.1:1' }), 'NXS_INVALID_INPUT');
    await expectCode(createRegistry({ url: ':memory:', maxRefreshFailures: 0 }), 'NXS_INVALID_INPUT');
  });

  it('fails with NXS_REGISTRY once closed, and closing twice is fine', async () => {
    const registry = await createRegistry({ url: ':memory:' });
    await registry.close();
    await registry.close();
    await expectCode(registry.get({ isrc: 'QZ0000000001' }), 'NXS_REGISTRY');
    await expectCode(registry.put(sampleMatch(12, 1)), 'NXS_REGISTRY');
  });

  it('finishes queued writes before closing', async () => {
    const url = pathToFileURL(join(temporaryDirectory(), 'registry.db')).href;
    const registry = await createRegistry({ url });
    const writes = Array.from({ length: 20 }, (_, index) => registry.put(sampleMatch(13, index)));
    await registry.close();
    await Promise.all(writes);
    const reopened = await createRegistry({ url });
    expect((await reopened.stats()).tracks).toBe(20);
    await reopened.close();
  });
});

describe('batch writes on an embedded file', () => {
  it('let the event loop run, and look-ups see none of a batch until it commits', async () => {
    const url = pathToFileURL(join(temporaryDirectory(), 'registry.db')).href;
    const registry = await createRegistry({ url, cache: false });
    try {
      const batch = Array.from({ length: 5000 }, (_, index) => sampleMatch(17, index));
      const first = batch[0] as (typeof batch)[number];
      const last = batch[batch.length - 1] as (typeof batch)[number];
      let settled = false;
      const writing = registry.putMany(batch).finally(() => {
        settled = true;
      });
      const seenWhileWriting: Array<string | undefined> = [];
      let ticks = 0;
      while (!settled) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        if (settled) break;
        ticks += 1;
        seenWhileWriting.push((await registry.get({ isrc: first.track.isrc }))?.track.isrc);
        seenWhileWriting.push((await registry.get({ isrc: last.track.isrc }))?.track.isrc);
      }
      await writing;
      expect(ticks).toBeGreaterThan(0);
      expect(seenWhileWriting.filter((isrc) => isrc !== undefined)).toEqual([]);
      expect((await registry.get({ isrc: first.track.isrc }))?.media.id).toBe(first.media.id);
      expect((await registry.get({ isrc: last.track.isrc }))?.media.id).toBe(last.media.id);
      expect((await registry.stats()).tracks).toBe(5000);
    } finally {
      await registry.close();
    }
  }, 60_000);

  it('accept the file: URL spellings @libsql/client accepts', async () => {
    const directory = temporaryDirectory();
    const match = sampleMatch(18, 1);
    const absolute = await createRegistry({ url: `file://localhost${join(directory, 'a b.db')}` });
    await absolute.put(match);
    await absolute.close();
    const reopened = await createRegistry({ url: pathToFileURL(join(directory, 'a b.db')).href });
    expect((await reopened.get({ isrc: match.track.isrc }))?.media.id).toBe(match.media.id);
    await reopened.close();
    await expectCode(createRegistry({ url: 'file://db.example.com/registry.db' }), 'NXS_INVALID_INPUT');
  });
});

describe('the read cache', () => {
  it('serves a hot look-up from memory and drops it when the mapping is written', async () => {
    const registry = await createRegistry({ url: ':memory:' });
    try {
      const match = sampleMatch(14, 1);
      await registry.put(match);
      const cold = await registry.get({ isrc: match.track.isrc });
      const hot = await registry.get({ isrc: match.track.isrc });
      expect(hot).toBe(cold);
      const stats = await registry.stats();
      expect(stats.cache.hits).toBe(1);
      expect(stats.cache.entries).toBe(1);
      await registry.put(sampleMatch(14, 1, { title: 'New title' }));
      expect((await registry.get({ isrc: match.track.isrc }))?.track.title).toBe('New title');
    } finally {
      await registry.close();
    }
  });

  it('can be turned off', async () => {
    const registry = await createRegistry({ url: ':memory:', cache: false });
    try {
      const match = sampleMatch(15, 1);
      await registry.put(match);
      const first = await registry.get({ isrc: match.track.isrc });
      const second = await registry.get({ isrc: match.track.isrc });
      expect(second).toEqual(first);
      expect(second).not.toBe(first);
      expect((await registry.stats()).cache.entries).toBe(0);
    } finally {
      await registry.close();
    }
  });

  it('expires entries after ttlMs so writes by other processes show up', async () => {
    let clock = 1_800_000_000_000;
    const url = pathToFileURL(join(temporaryDirectory(), 'registry.db')).href;
    const reader = await createRegistry({ url, cache: { ttlMs: 1000 }, now: () => clock });
    const writer = await createRegistry({ url });
    try {
      const match = sampleMatch(16, 1);
      await writer.put(match);
      expect((await reader.get({ isrc: match.track.isrc }))?.track.title).toBe(match.track.title);
      await writer.put(sampleMatch(16, 1, { title: 'Changed elsewhere' }));
      expect((await reader.get({ isrc: match.track.isrc }))?.track.title).toBe(match.track.title);
      clock += 1001;
      expect((await reader.get({ isrc: match.track.isrc }))?.track.title).toBe('Changed elsewhere');
    } finally {
      await reader.close();
      await writer.close();
    }
  });
});

describe('the browser entry', () => {
  it('refuses local databases and replicas with NXS_INVALID_INPUT', async () => {
    const error = await expectCode(createBrowserRegistry({ url: 'file:registry.db' }), 'NXS_INVALID_INPUT');
    expect(error.message).toMatch(/browser/);
    await expectCode(createBrowserRegistry({ url: ':memory:' }), 'NXS_INVALID_INPUT');
    await expectCode(createBrowserRegistry({} as never), 'NXS_INVALID_INPUT');
    await expectCode(
      createBrowserRegistry({ url: 'https://db.example.com', syncUrl: 'https://x' } as never),
      'NXS_INVALID_INPUT',
    );
  });
});
