import { readFixture } from '@nexstream/testkit';
import { describe, expect, it } from 'vitest';
import {
  describeHttpFailures,
  rejectionOf,
  testSettings,
  useReplayServer,
} from '../../../test/http-engine-harness.js';
import type { SynthesizedQuery } from '../../engine.js';
import { createGeminiEngine } from './gemini-engine.js';

const fixture = (name: string) => readFixture(new URL(`../../__fixtures__/gemini/${name}`, import.meta.url));
const track = { title: 'Harder Better Faster Stronger', artists: ['Daft Punk'], durationMs: 224_000 };
const path = '/v1beta/models/gemini-2.5-flash:generateContent';

describe('gemini engine', () => {
  const context = useReplayServer();
  const engine = (settings = {}) =>
    context.track(
      createGeminiEngine({
        baseURL: context.server.url,
        apiKey: 'AIza-test-secret',
        ...testSettings,
        ...settings,
      }),
    );

  it('asks for JSON with responseMimeType + responseSchema and reads candidates[0]', async () => {
    context.server.on('POST', path, { json: await fixture('generate-content.json') });
    const result = await engine().doSynthesizeQuery({ track });
    const request = context.server.requests[0]!;
    const body = JSON.parse(request.body);
    expect(request.headers['x-goog-api-key']).toBe('AIza-test-secret');
    expect(request.query.has('key')).toBe(false);
    expect(body.generationConfig).toMatchObject({
      responseMimeType: 'application/json',
      responseSchema: { type: 'OBJECT', required: ['query'], propertyOrdering: ['query', 'alt_queries'] },
    });
    expect(JSON.stringify(body.generationConfig.responseSchema)).not.toMatch(/additionalProperties/);
    expect(result).toEqual({
      engine: 'gemini',
      query: 'Daft Punk Harder Better Faster Stronger official audio',
      alternatives: ['Daft Punk Harder Better Faster Stronger topic'],
    });
  });

  it('turns cut JSON from the model into a retryable NXS_UPSTREAM', async () => {
    context.server.on('POST', path, { json: await fixture('generate-content-truncated-json.json') });
    const error = await rejectionOf(engine().doSynthesizeQuery({ track }));
    expect(error.code).toBe('NXS_UPSTREAM');
    expect(error.retryable).toBe(true);
  });

  it('reports a candidate without text (blocked) as NXS_UPSTREAM with the finish reason', async () => {
    context.server.on('POST', path, { json: { candidates: [{ finishReason: 'SAFETY', index: 0 }] } });
    const error = await rejectionOf(engine().doSynthesizeQuery({ track }));
    expect(error.code).toBe('NXS_UPSTREAM');
    expect(error.message).toMatch(/SAFETY/);
  });

  it('waits for RetryInfo.retryDelay on RESOURCE_EXHAUSTED, then succeeds', async () => {
    context.server.on('POST', path, { json: await fixture('generate-content.json') });
    context.server.on(
      'POST',
      path,
      { status: 429, json: await fixture('resource-exhausted.json') },
      { times: 1 },
    );
    const startedAt = Date.now();
    expect((await engine().doSynthesizeQuery({ track })).query).toMatch(/Daft Punk/);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(950);
  });

  it('fails at once with retryAfterMs from a long RetryInfo delay', async () => {
    context.server.on('POST', path, { status: 429, json: await fixture('resource-exhausted-long.json') });
    const error = await rejectionOf(engine().doSynthesizeQuery({ track }));
    expect(error.code).toBe('NXS_RATE_LIMITED');
    expect(error.retryAfterMs).toBe(42_000);
  });

  it('maps 503 UNAVAILABLE (overloaded) to a retryable NXS_UPSTREAM', async () => {
    context.server.on('POST', path, { status: 503, json: await fixture('unavailable.json') });
    const error = await rejectionOf(engine().doSynthesizeQuery({ track }));
    expect(error.code).toBe('NXS_UPSTREAM');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/overloaded/);
  });

  it('tolerates unknown extra fields', async () => {
    const body = (await fixture('generate-content.json')) as object;
    context.server.on('POST', path, { json: { ...body, modelStatus: { stage: 'GA' }, createTime: 'now' } });
    expect((await engine().doSynthesizeQuery({ track })).alternatives).toHaveLength(1);
  });

  it('needs a key from options or GEMINI_API_KEY', () => {
    expect(() => createGeminiEngine({ env: {} })).toThrow(/GEMINI_API_KEY/);
  });
});

describeHttpFailures({
  method: 'POST',
  path,
  success: { json: { candidates: [{ content: { parts: [{ text: '{"query":"a b"}' }] } }] } },
  create: (baseURL, settings) => createGeminiEngine({ ...settings, apiKey: 'k', baseURL }),
  call: (engine, signal) => engine.doSynthesizeQuery({ track, ...(signal ? { signal } : {}) }),
  expectSuccess: (result) => expect((result as SynthesizedQuery).query).toBe('a b'),
});
