import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ReplayServer, readFixture, replies, startReplayServer } from './replay-server.js';

describe('startReplayServer', () => {
  let server: ReplayServer;
  beforeEach(async () => {
    server = await startReplayServer();
  });
  afterEach(async () => {
    await server.close();
  });

  it('listens on 127.0.0.1 with a random port and answers a JSON route', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    server.on('GET', '/track/3135556', { json: { id: 3135556, title: 'Harder, Better, Faster, Stronger' } });
    const response = await fetch(`${server.url}/track/3135556`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await response.json()).toEqual({ id: 3135556, title: 'Harder, Better, Faster, Stronger' });
  });

  it('answers 404 with a JSON error naming the request when no route matches', async () => {
    const response = await fetch(`${server.url}/x?q=1`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'no replay route for GET /x' });
  });

  it('records every request with method, path, query, headers and body', async () => {
    server.on('POST', '/v1/chat/completions', { json: { ok: true } });
    await fetch(`${server.url}/v1/chat/completions?stream=false`, {
      method: 'POST',
      headers: { authorization: 'Bearer test-key', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm' }),
    });
    await fetch(`${server.url}/unrouted`);
    expect(server.requests).toHaveLength(2);
    const [first, second] = server.requests;
    expect(first).toMatchObject({ method: 'POST', path: '/v1/chat/completions', body: '{"model":"m"}' });
    expect(first?.query.get('stream')).toBe('false');
    expect(first?.headers.authorization).toBe('Bearer test-key');
    expect(second).toMatchObject({ method: 'GET', path: '/unrouted', body: '' });
  });

  it('lets later routes win, and `times` hands back to the earlier route once used up', async () => {
    server.on('GET', /^\/search/, { json: { data: ['steady'] } });
    server.on('GET', '/search', replies.status(503), { times: 2 });
    const statuses: number[] = [];
    for (let index = 0; index < 3; index += 1) {
      const response = await fetch(`${server.url}/search?q=daft`);
      statuses.push(response.status);
      await response.arrayBuffer();
    }
    expect(statuses).toEqual([503, 503, 200]);
  });

  it('matches the method case-insensitively and `*` matches any method', async () => {
    server.on('get', '/a', { body: 'get' });
    server.on('*', '/b', { body: 'any' });
    expect(await (await fetch(`${server.url}/a`)).text()).toBe('get');
    expect(await (await fetch(`${server.url}/b`, { method: 'DELETE' })).text()).toBe('any');
    expect((await fetch(`${server.url}/a`, { method: 'POST' })).status).toBe(404);
  });

  it('builds replies from a handler function that sees the request', async () => {
    server.on('GET', /^\/track\/isrc:/, async (request) => ({
      json: { isrc: request.path.split(':')[1], market: request.query.get('market') },
    }));
    const response = await fetch(`${server.url}/track/isrc:USVI20400001?market=FR`);
    expect(await response.json()).toEqual({ isrc: 'USVI20400001', market: 'FR' });
  });

  it('answers 500 with the message when a handler throws', async () => {
    server.on('GET', '/boom', () => {
      throw new Error('handler exploded');
    });
    const response = await fetch(`${server.url}/boom`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: 'replay handler failed: handler exploded' });
  });

  it('rateLimited answers 429 with a Retry-After header and a JSON body', async () => {
    server.on('GET', '/search', replies.rateLimited(7));
    const response = await fetch(`${server.url}/search`);
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('7');
    expect(await response.json()).toEqual({ error: 'rate limited' });
  });

  it('status answers any status with a JSON or a text body and custom headers override defaults', async () => {
    server.on(
      'GET',
      '/json',
      replies.status(401, { error: { status: 401, message: 'Invalid access token' } }),
    );
    server.on('GET', '/text', replies.status(502, 'Bad Gateway from upstream'));
    server.on('GET', '/xml', { body: '<a/>', headers: { 'Content-Type': 'application/xml' } });
    const json = await fetch(`${server.url}/json`);
    expect(json.status).toBe(401);
    expect(await json.json()).toEqual({ error: { status: 401, message: 'Invalid access token' } });
    const text = await fetch(`${server.url}/text`);
    expect(text.status).toBe(502);
    expect(text.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await text.text()).toBe('Bad Gateway from upstream');
    expect((await fetch(`${server.url}/xml`)).headers.get('content-type')).toBe('application/xml');
  });

  it('waits latencyMs before answering', async () => {
    server.on('GET', '/slow', { json: {}, latencyMs: 300 });
    const startedAt = performance.now();
    await (await fetch(`${server.url}/slow`)).json();
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(280);
  });

  it('a stalled reply never answers; the client abort ends it and close() does not hang', async () => {
    server.on('GET', '/stall', { stall: true });
    await expect(fetch(`${server.url}/stall`, { signal: AbortSignal.timeout(200) })).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    // A stall still pending when the server closes: close() destroys the socket, the client sees an error.
    const pending = fetch(`${server.url}/stall`);
    await waitFor(() => server.requests.length === 2);
    await server.close();
    await expect(pending).rejects.toThrow();
  });

  it('truncateAfterBytes announces the full length, sends part of the body, then drops the socket', async () => {
    const body = 'x'.repeat(10_000);
    server.on('GET', '/big', { body, truncateAfterBytes: 1000 });
    const response = await fetch(`${server.url}/big`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe('10000');
    await expect(response.text()).rejects.toThrow();
    server.on('GET', '/empty', { json: { data: [] }, truncateAfterBytes: 0 });
    const headersOnly = await fetch(`${server.url}/empty`);
    expect(headersOnly.headers.get('content-length')).toBe('11');
    await expect(headersOnly.text()).rejects.toThrow();
  });

  it('malformed sends invalid JSON with a consistent Content-Length', async () => {
    server.on('GET', '/broken', { json: { data: [{ id: 1, title: 'One More Time' }] }, malformed: true });
    const response = await fetch(`${server.url}/broken`);
    const text = await response.text();
    expect(Number(response.headers.get('content-length'))).toBe(Buffer.byteLength(text));
    expect(text.length).toBeGreaterThan(0);
    expect(() => JSON.parse(text)).toThrow(SyntaxError);
  });

  it('serves many requests over one keep-alive connection', async () => {
    server.on('GET', '/ping', { json: { pong: true } });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const reused: boolean[] = [];
      for (let index = 0; index < 4; index += 1) {
        const { body, reusedSocket } = await getText(`${server.url}/ping`, agent);
        expect(JSON.parse(body)).toEqual({ pong: true });
        reused.push(reusedSocket);
      }
      expect(reused).toEqual([false, true, true, true]);
    } finally {
      agent.destroy();
    }
  });

  it('reset drops routes and recorded requests', async () => {
    server.on('GET', '/a', { json: 1 });
    await (await fetch(`${server.url}/a`)).arrayBuffer();
    const requests = server.requests;
    server.reset();
    expect(requests).toHaveLength(0);
    expect((await fetch(`${server.url}/a`)).status).toBe(404);
  });
});

describe('readFixture', () => {
  let scratch: string;
  beforeEach(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'nxs-fixture-'));
  });
  afterEach(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('reads a JSON fixture by file URL', async () => {
    const file = join(scratch, 'track.json');
    await writeFile(file, '{"id": 3135556, "isrc": "GBDUW0000059"}');
    expect(await readFixture(pathToFileURL(file))).toEqual({ id: 3135556, isrc: 'GBDUW0000059' });
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function getText(url: string, agent: Agent): Promise<{ body: string; reusedSocket: boolean }> {
  return new Promise((resolve, reject) => {
    const request = get(url, { agent }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve({ body, reusedSocket: request.reusedSocket }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}
