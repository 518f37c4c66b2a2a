import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type SqldServer, startSqld } from '@nexstream/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry as createBrowserRegistry } from '../src/browser.js';
import { createRegistry } from '../src/index.js';
import { sampleMatch } from './fixtures.js';
import { describeRegistryBehaviour, expectCode } from './registry-behaviour.js';

/** A suite target on its own sqld, so that suites never see each other's rows. */
function onSqld(
  open: (server: SqldServer, now: () => number) => Promise<Awaited<ReturnType<typeof createRegistry>>>,
) {
  let server: SqldServer | undefined;
  const directories: string[] = [];
  return {
    async open({ now }: { now: () => number }) {
      server = await startSqld();
      return open(server, now);
    },
    async cleanup() {
      await server?.stop();
      for (const directory of directories) rmSync(directory, { recursive: true, force: true });
    },
    directories,
  };
}

describeRegistryBehaviour(
  'sqld over HTTP',
  3,
  onSqld((server, now) => createRegistry({ url: server.url, now })),
);

describeRegistryBehaviour(
  'sqld over WebSocket',
  4,
  onSqld((server, now) => createRegistry({ url: server.wsUrl, now })),
);

const replica = onSqld((server, now) => {
  const directory = mkdtempSync(join(tmpdir(), 'nexstream-replica-'));
  replica.directories.push(directory);
  return createRegistry({
    url: pathToFileURL(join(directory, 'replica.db')).href,
    syncUrl: server.url,
    now,
  });
});
describeRegistryBehaviour('embedded replica of sqld', 5, replica);

describeRegistryBehaviour(
  'browser entry over HTTP',
  6,
  onSqld((server, now) => createBrowserRegistry({ url: server.url, now })),
);

describe('embedded replica', () => {
  let server: SqldServer;
  let directory: string;
  beforeAll(async () => {
    server = await startSqld();
    directory = mkdtempSync(join(tmpdir(), 'nexstream-replica-'));
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  it('migrates the primary and sees a write made on the primary after a sync', async () => {
    const primary = await createRegistry({ url: server.url });
    const replicaRegistry = await createRegistry({
      url: pathToFileURL(join(directory, 'replica.db')).href,
      syncUrl: server.url,
      cache: false,
    });
    try {
      const match = sampleMatch(7, 1);
      await primary.put(match);
      // A new replica starts with a sync, so it reads what the primary holds.
      const late = await createRegistry({
        url: pathToFileURL(join(directory, 'late.db')).href,
        syncUrl: server.url,
      });
      expect((await late.get({ isrc: match.track.isrc }))?.media.id).toBe(match.media.id);
      await late.close();
      expect((await primary.stats()).schemaVersion).toBe(1);
      expect((await replicaRegistry.stats()).schemaVersion).toBe(1);
    } finally {
      await replicaRegistry.close();
      await primary.close();
    }
  });

  it('fails with NXS_REGISTRY when the server cannot be reached', async () => {
    await expectCode(createRegistry({ url: 'http://127.0.0.1:9' }), 'NXS_REGISTRY');
  });
});
