import { describe, expect, it } from 'vitest';
import { rejectionOf, useReplayServer } from '../../../test/http-engine-harness.js';
import { createHttpClient, parseGoogleRetryDelay, parseRetryAfter, redactUrl } from './http-client.js';

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
