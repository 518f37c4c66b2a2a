import { describe, expect, it } from 'vitest';
import { mostInWindow, rejectionOf, useReplayServer } from '../../../test/http-engine-harness.js';
import {
  createHttpClient,
  maxPoolConnections,
  minPoolConnections,
  parseGoogleRetryDelay,
  parseRetryAfter,
  poolConnections,
  redactUrl,
} from './http-client.js';
import { serviceRateLimits } from './rate-limiter.js';

describe('http client helpers', () => {
  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfter('120')).toBe(120_000);
    expect(parseRetryAfter('1.5')).toBe(1_500);
    const now = Date.parse('Wed, 21 Oct 2026 07:28:00 GMT');
    expect(parseRetryAfter('Wed, 21 Oct 2026 07:28:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });

  it("reads Google's RetryInfo.retryDelay", () => {
    const body = {
      error: { details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '12s' }] },
    };
    expect(parseGoogleRetryDelay(body)).toBe(12_000);
    expect(parseGoogleRetryDelay({ error: { details: [] } })).toBeUndefined();
  });

  it('masks secrets in URLs', () => {
    expect(redactUrl('https://user:pw@api.song.link/v1?url=x&key=abc&api_key=d&access_token=e')).toBe(
      'https://api.song.link/v1?url=x&key=***&api_key=***&access_token=***',
    );
  });
});

describe('http client', () => {
  const context = useReplayServer();

  it('uses a fetch override instead of its own pool', async () => {
    context.server.on('GET', '/thing', { json: { ok: true } });
    const seen: string[] = [];
    const client = context.track(
      createHttpClient({
        name: 'test',
        baseURL: context.server.url,
        fetch: (input, init) => {
          seen.push(input);
          return fetch(input, init);
        },
      }),
    );
    const response = await client.json({ path: '/thing', query: { a: 1, skip: undefined } });
    expect(response.data).toEqual({ ok: true });
    expect(seen).toEqual([`${context.server.url}/thing?a=1`]);
  });

  it('aborts in-flight requests on close() and refuses new ones', async () => {
    context.server.on('GET', '/slow', { stall: true });
    const client = createHttpClient({ name: 'test', baseURL: context.server.url });
    const pending = rejectionOf(client.json({ path: '/slow' }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await client.close();
    expect((await pending).code).toBe('NXS_ABORTED');
    expect((await rejectionOf(client.json({ path: '/slow' }))).code).toBe('NXS_ABORTED');
  });

  it('reports a refused connection and a name that does not resolve as a retryable NXS_UNREACHABLE', async () => {
    const refused = context.track(createHttpClient({ name: 'test', baseURL: 'http://127.0.0.1:9' }));
    const error = await rejectionOf(refused.json({ path: '/x' }));
    expect(error.code).toBe('NXS_UNREACHABLE');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(
      /^\[GET\] "http:\/\/127\.0\.0\.1:9\/x": cannot reach the service \(ECONNREFUSED\)/,
    );
    // `.invalid` never resolves (RFC 2606), online or not.
    const unknownName = context.track(
      createHttpClient({ name: 'test', baseURL: 'http://nexstream-test.invalid', retry: { retries: 0 } }),
    );
    const dns = await rejectionOf(unknownName.json({ path: '/x' }));
    expect(dns.code).toBe('NXS_UNREACHABLE');
    expect(dns.message).toMatch(/ENOTFOUND|EAI_AGAIN/);
  });
});

describe('pools sized by the published limits', () => {
  const context = useReplayServer();

  it('opens as many connections as each service lets requests start in one window', () => {
    expect(poolConnections(serviceRateLimits.deezer)).toBe(50);
    expect(poolConnections(serviceRateLimits.itunes)).toBe(20);
    expect(poolConnections(serviceRateLimits.spotify)).toBe(50);
    expect(poolConnections(serviceRateLimits.groq)).toBe(30);
    expect(poolConnections(serviceRateLimits.odesli)).toBe(10);
    // One request a second still gets a second connection, so that a slow answer does not hold the next.
    expect(poolConnections(serviceRateLimits.musicbrainz)).toBe(minPoolConnections);
    expect(poolConnections({ limit: 10_000, windowMs: 60_000 })).toBe(maxPoolConnections);
  });

  it('starts at once every request the limit allows, and no more than the limit in any window', async () => {
    const times: number[] = [];
    context.server.on('GET', /^\/item\//, (request) => {
      times.push(performance.now());
      return { json: { path: request.path }, latencyMs: 300 };
    });
    const client = context.track(
      createHttpClient({
        name: 'test',
        baseURL: context.server.url,
        serviceLimit: { limit: 5, windowMs: 1_000 },
      }),
    );
    await Promise.all(Array.from({ length: 12 }, (_, index) => client.json({ path: `/item/${index}` })));
    const sorted = [...times].sort((a, b) => a - b);
    // The first five went together (a pool of 8 would not change that; a pool of 2 would need three rounds of
    // 300 ms); the margin is for a loaded machine.
    expect(sorted[4]! - sorted[0]!).toBeLessThan(500);
    expect(mostInWindow(times, 950)).toBe(5);
    expect(sorted[5]! - sorted[0]!).toBeGreaterThanOrEqual(950);
  });

  it('with the limiter off, sizes the pool by the service limit: requests beyond it wait for a connection', async () => {
    const times: number[] = [];
    context.server.on('GET', /^\/item\//, () => {
      times.push(performance.now());
      return { latencyMs: 800 };
    });
    const client = context.track(
      createHttpClient({
        name: 'test',
        baseURL: context.server.url,
        serviceLimit: { limit: 4, windowMs: 1_000 },
        rateLimit: false,
      }),
    );
    await Promise.all(Array.from({ length: 8 }, (_, index) => client.text({ path: `/item/${index}` })));
    const sorted = [...times].sort((a, b) => a - b);
    // Four start together; the fifth waits for a connection (one 800 ms round). Wide margins: a loaded machine.
    expect(sorted[3]! - sorted[0]!).toBeLessThan(500);
    expect(sorted[4]! - sorted[0]!).toBeGreaterThanOrEqual(700);
    expect(sorted[4]! - sorted[0]!).toBeLessThan(2_000);
  });

  it('sends 100 identical GETs in flight as one request, each caller with its own copy of the body', async () => {
    context.server.on('GET', '/track/1', { json: { title: 'One', artists: ['A'] }, latencyMs: 100 });
    const client = context.track(
      createHttpClient({ name: 'test', baseURL: context.server.url, serviceLimit: serviceRateLimits.deezer }),
    );
    const responses = await Promise.all(Array.from({ length: 100 }, () => client.json({ path: '/track/1' })));
    expect(context.server.requests).toHaveLength(1);
    expect(responses.every((response) => (response.data as { title: string }).title === 'One')).toBe(true);
    (responses[0]!.data as { artists: string[] }).artists.push('changed');
    expect((responses[1]!.data as { artists: string[] }).artists).toEqual(['A']);
    // Once answered, the next call asks again (in-flight sharing, not a cache).
    await client.json({ path: '/track/1' });
    expect(context.server.requests).toHaveLength(2);
  });

  it('keeps a shared request running for the callers still waiting, and aborts it when none is', async () => {
    context.server.on('GET', '/slow', { json: { ok: true }, latencyMs: 300 });
    context.server.on('GET', '/stalled', { stall: true });
    const client = context.track(createHttpClient({ name: 'test', baseURL: context.server.url }));
    const leaving = new AbortController();
    const left = rejectionOf(client.json({ path: '/slow', signal: leaving.signal }));
    const staying = client.json({ path: '/slow' });
    setTimeout(() => leaving.abort(new Error('gone')), 50);
    expect((await left).code).toBe('NXS_ABORTED');
    expect((await staying).data).toEqual({ ok: true });
    expect(context.server.requests).toHaveLength(1);

    const controllers = [new AbortController(), new AbortController()];
    const stalled = controllers.map((controller) =>
      rejectionOf(client.json({ path: '/stalled', signal: controller.signal })),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (const controller of controllers) controller.abort(new Error('gone'));
    for (const error of await Promise.all(stalled)) expect(error.code).toBe('NXS_ABORTED');
    expect(context.server.requests).toHaveLength(2);
    // The abandoned request was dropped: the next call sends its own.
    const again = new AbortController();
    const third = rejectionOf(client.json({ path: '/stalled', signal: again.signal }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(context.server.requests).toHaveLength(3);
    again.abort(new Error('gone'));
    expect((await third).code).toBe('NXS_ABORTED');
  });

  it('does not share requests with coalesce: false', async () => {
    context.server.on('GET', '/track/1', { json: {}, latencyMs: 50 });
    const client = context.track(
      createHttpClient({ name: 'test', baseURL: context.server.url, coalesce: false }),
    );
    await Promise.all(Array.from({ length: 5 }, () => client.json({ path: '/track/1' })));
    expect(context.server.requests).toHaveLength(5);
  });
});
