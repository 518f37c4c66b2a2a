import { openAsBlob } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, sampleMedia } from '@nexstream/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { type RunningServer, startServer } from '../src/server.js';
import { captureLogs, eventually, scratch } from './harness.js';

const leaseMs = 1500;

interface Leases {
  instanceId: string;
  owned: Array<{ channelId: string; token: number }>;
  leases: Array<{ channelId: string; owner: string; token: number }>;
}

async function leasesOf(server: RunningServer): Promise<Leases> {
  return (await (await fetch(`${server.url}/api/cluster/leases`)).json()) as Leases;
}

describe('two instances on one cluster database', () => {
  let shared: { path: string; remove: () => Promise<void> };
  const servers: RunningServer[] = [];

  const start = async (name: string): Promise<RunningServer> => {
    const port = await freePort();
    const data = join(shared.path, name);
    const config = loadConfig({
      PATH: process.env.PATH,
      NEXSTREAM_FIXTURES: '0',
      PORT: String(port),
      NEXSTREAM_DATA_DIR: data,
      NEXSTREAM_CHANNELS_DIR: join(shared.path, 'channels'),
      NEXSTREAM_REGISTRY_URL: `file:${join(data, 'registry.db')}`,
      NEXSTREAM_TUNNEL_SECRET: 'a-shared-tunnel-secret-of-at-least-32-bytes-long',
      NEXSTREAM_CLUSTER_URL: `file:${join(shared.path, 'cluster.db')}`,
      NEXSTREAM_INSTANCE_URL: `http://127.0.0.1:${port}`,
      NEXSTREAM_CLUSTER_LEASE_MS: String(leaseMs),
      NEXSTREAM_SHUTDOWN_MS: '500',
    });
    const server = await startServer({ config, logger: createLogger('debug', captureLogs().write) });
    servers.push(server);
    return server;
  };

  beforeAll(async () => {
    shared = await scratch('cluster');
  });
  afterAll(async () => {
    for (const server of servers) await server.close().catch(() => {});
    await shared.remove();
  });

  it('leases a channel to one instance, proxies to it from the other, and fails over with a higher token', async () => {
    const a = await start('a');
    const b = await start('b');
    const first = await leasesOf(a);
    expect(first.owned.map((lease) => lease.channelId)).toEqual(['main']);
    expect((await leasesOf(b)).owned).toEqual([]);
    const token = first.owned[0]?.token ?? 0;

    // A read on the other instance: the owner's answer, forwarded (the owner says it served it).
    const direct = await fetch(`${a.url}/api/channels/main/playlist`);
    const proxied = await fetch(`${b.url}/api/channels/main/playlist`);
    expect(proxied.status).toBe(200);
    expect(proxied.headers.get('x-nexstream-served-by')).toBe(first.instanceId);
    expect(proxied.headers.get('etag')).toBe(direct.headers.get('etag'));
    expect(await proxied.json()).toEqual(await direct.json());

    // An upload through the other instance is streamed to the owner; If-Match travels with an edit.
    const clip = await sampleMedia('h264-aac-mp4', { durationS: 2, width: 320, height: 180 });
    const form = new FormData();
    form.append('file', await openAsBlob(clip), 'clip.mp4');
    const upload = await fetch(`${b.url}/api/channels/main/upload`, { method: 'POST', body: form });
    expect(upload.status).toBe(201);
    const { item } = (await upload.json()) as { item: { id: string } };
    const stale = await fetch(`${b.url}/api/channels/main/playlist/order`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json', 'If-Match': '"0"' },
      body: JSON.stringify({ order: [item.id] }),
    });
    expect(stale.status).toBe(409);
    const afterUpload = (await (await fetch(`${a.url}/api/channels/main/playlist`)).json()) as {
      items: Array<{ id: string }>;
    };
    expect(afterUpload.items.map((entry) => entry.id)).toEqual([item.id]);

    // The owner's event stream, through the other instance: the first event arrives as it is sent.
    const events = await fetch(`${b.url}/api/channels/main/events`);
    expect(events.headers.get('content-type')).toContain('text/event-stream');
    const reader = (events.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!text.includes('event: status')) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();

    // A request already forwarded once is never forwarded again.
    const loop = await fetch(`${b.url}/api/channels/main/playlist`, {
      headers: { 'X-NexStream-Proxied-By': 'somewhere-else' },
    });
    expect(loop.status).toBe(503);
    expect(Number(loop.headers.get('retry-after'))).toBeGreaterThan(0);

    // The owner stops renewing (as a frozen or killed process would): the other takes over within a lease.
    const halted = performance.now();
    a.services.cluster?.halt();
    let taken: { channelId: string; token: number } | undefined;
    await eventually(async () => {
      taken = (await leasesOf(b)).owned.find((lease) => lease.channelId === 'main');
      return taken !== undefined;
    }, 10_000);
    expect(performance.now() - halted).toBeLessThan(leaseMs * 2 + 500);
    expect(taken?.token).toBeGreaterThan(token);
    const moved = await fetch(`${b.url}/api/channels/main/playlist`);
    expect(moved.headers.get('x-nexstream-served-by')).toBe((await leasesOf(b)).instanceId);
    expect(((await moved.json()) as { items: Array<{ id: string }> }).items.map((entry) => entry.id)).toEqual(
      [item.id],
    );

    // The frozen owner wakes up still running its copy: the database refuses its writes (fencing), so it
    // cannot overwrite what the new owner keeps.
    const deposed = a.services.cluster?.local('main')?.get('main');
    expect(deposed).toBeDefined();
    await expect(deposed?.setLoop(false)).rejects.toMatchObject({
      code: 'NXS_CONFLICT',
      details: { reason: 'fenced', token, storedFence: taken?.token },
    });
    const kept = (await (await fetch(`${b.url}/api/channels/main/playlist`)).json()) as { loop: boolean };
    expect(kept.loop).toBe(true);
    // The playlist lives in the cluster database, not in a file of the shared folder.
    await expect(
      stat(join(shared.path, 'channels', 'channels', 'main', 'playlist.json')),
    ).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });
});
