import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createClient } from '@libsql/client';
import { afterEach, describe, expect, it } from 'vitest';
import { createRegistry, type Registry } from '../src/index.js';
import { sampleMatch, spawnChild } from './fixtures.js';

let directory: string | undefined;
const children: Array<ReturnType<typeof spawnChild>> = [];
afterEach(async () => {
  for (const { child, exited } of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  }
  if (directory) rmSync(directory, { recursive: true, force: true });
  directory = undefined;
});

function databaseUrl(): { url: string; path: string } {
  directory = mkdtempSync(join(tmpdir(), 'nexstream-registry-concurrency-'));
  const path = join(directory, 'registry.db');
  return { url: pathToFileURL(path).href, path };
}

describe('concurrent writers', () => {
  // The second process runs on libsql's Database like this one, or on @libsql/client as an older NexStream did.
  it.each([
    ['libsql Database', 'native'],
    ['@libsql/client', 'client'],
  ])(
    'loses no write and surfaces no SQLITE_BUSY with 8 async writers and a second process (%s) on one file',
    async (_, engine) => {
      const { url } = databaseUrl();
      const registry: Registry = await createRegistry({ url, busyTimeoutMs: 30_000 });
      try {
        const other = spawnChild('registry-writer.ts', ['upserts', url, '31', '1000', engine]);
        children.push(other);
        await other.waitForLine('ready');

        const writers = Array.from({ length: 8 }, async (_, writer) => {
          for (let index = 0; index < 1000; index += 1) {
            await registry.put(sampleMatch(30, writer * 1000 + index));
            // Every writer also rewrites a mapping another writer owns: upserts must stay idempotent.
            if (index % 100 === 0) await registry.put(sampleMatch(30, ((writer + 1) % 8) * 1000 + index));
          }
        });
        await Promise.all(writers);
        await other.waitForLine('done 1000');
        expect((await other.exited).code).toBe(0);

        const stats = await registry.stats();
        expect(stats.tracks).toBe(9000);
        expect(stats.writes.failed).toBe(0);
        for (const [series, index] of [
          [30, 0],
          [30, 7999],
          [30, 4321],
          [31, 0],
          [31, 999],
        ] as const) {
          const match = sampleMatch(series, index);
          expect(
            (await registry.get({ platform: 'deezer', id: match.track.ids.deezer as string }))?.track.isrc,
          ).toBe(match.track.isrc);
        }
      } finally {
        await registry.close();
      }
    },
    180_000,
  );
});

describe('a crash in the middle of putMany', () => {
  it('leaves a database that opens, passes integrity_check and holds the batch all or nothing', async () => {
    const { url, path } = databaseUrl();
    const batchSize = 30_000;
    const writer = spawnChild('registry-writer.ts', ['crash', url, '32', String(batchSize)]);
    children.push(writer);
    await writer.waitForLine('committed');
    const walAfterFirstBatch = statSync(`${path}-wal`).size;
    await writer.waitForLine('writing');
    // Kill once the big transaction has spilled pages into the WAL: it is under way and not committed.
    const deadline = Date.now() + 60_000;
    while (statSync(`${path}-wal`).size <= walAfterFirstBatch + 1_000_000 && Date.now() < deadline) {
      if (writer.lines.includes('finished')) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const spilledIntoWal = statSync(`${path}-wal`).size > walAfterFirstBatch + 1_000_000;
    writer.child.kill('SIGKILL');
    const { signal } = await writer.exited;
    expect(signal).toBe('SIGKILL');
    expect(writer.lines).not.toContain('finished');

    const client = createClient({ url });
    try {
      expect((await client.execute('PRAGMA integrity_check')).rows[0]?.[0]).toBe('ok');
      const count = Number((await client.execute('SELECT count(*) FROM mapping')).rows[0]?.[0]);
      expect(spilledIntoWal).toBe(true);
      // All or nothing: the killed transaction either never committed (the usual case) or committed whole.
      expect([100, 100 + batchSize]).toContain(count);
      const ids = Number((await client.execute('SELECT count(*) FROM platform_id')).rows[0]?.[0]);
      expect(ids).toBe(count * 4);
    } finally {
      client.close();
    }
    const registry = await createRegistry({ url });
    try {
      const match = sampleMatch(32, 99);
      expect((await registry.get({ isrc: match.track.isrc }))?.media.id).toBe(match.media.id);
      await registry.put(sampleMatch(32, 100));
      expect((await registry.stats()).tracks).toBeGreaterThanOrEqual(101);
    } finally {
      await registry.close();
    }
  }, 180_000);
});
