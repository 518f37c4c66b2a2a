import { readFixture } from '@nexstream/testkit';
import { describe, expect, it } from 'vitest';
import {
  describeHttpFailures,
  rejectionOf,
  testSettings,
  useReplayServer,
} from '../../../test/http-engine-harness.js';
import type { SynthesizedQuery } from '../../engine.js';
import { createGroqEngine } from './groq-engine.js';

const fixture = (name: string) => readFixture(new URL(`../../__fixtures__/groq/${name}`, import.meta.url));
const track = {
  title: 'Harder Better Faster Stronger',
  artists: ['Daft Punk'],
  album: 'Discovery',
  durationMs: 224_693,
};

describe('groq engine', () => {
  const context = useReplayServer();
  const engine = (settings = {}) =>
    context.track(
      createGroqEngine({
        baseURL: context.server.url,
        apiKey: 'gsk_test_secret',
        ...testSettings,
        ...settings,
      }),
    );

  it('asks Llama 3.3 in JSON mode and returns the query and alternatives', async () => {
    context.server.on('POST', '/chat/completions', { json: await fixture('completion.json') });
    const result = await engine().doSynthesizeQuery({ track });
    const request = context.server.requests[0]!;
    const body = JSON.parse(request.body);
    expect(request.headers.authorization).toBe('Bearer gsk_test_secret');
    expect(body).toMatchObject({
      model: 'llama-3.3-70b-versatile',
      temperature: 0,
      response_format: { type: 'json_object' },
    });
    expect(body.messages[1].content).toBe(
      'title=Harder Better Faster Stronger; artists=Daft Punk; album=Discovery; duration=225s',
    );
    expect(result).toEqual({
      engine: 'groq',
      query: 'Daft Punk Harder Better Faster Stronger official audio',
      alternatives: ['Daft Punk - Harder, Better, Faster, Stronger (Topic)'],
    });
  });

  it('turns a prose answer into a retryable NXS_UPSTREAM, not a crash', async () => {
    context.server.on('POST', '/chat/completions', { json: await fixture('completion-not-json.json') });
    const error = await rejectionOf(engine().doSynthesizeQuery({ track }));
    expect(error.code).toBe('NXS_UPSTREAM');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/not valid JSON/);
  });

  it("maps Groq's 400 json_validate_failed to a retryable NXS_UPSTREAM", async () => {
    context.server.on('POST', '/chat/completions', {
      status: 400,
      json: await fixture('json-validate-failed.json'),
    });
    const error = await rejectionOf(engine().doSynthesizeQuery({ track }));
    expect(error.code).toBe('NXS_UPSTREAM');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/Failed to generate JSON/);
  });

  it('maps 401 to NXS_UNAUTHORIZED without echoing the key', async () => {
    context.server.on('POST', '/chat/completions', {
      status: 401,
      json: { error: { message: 'Invalid API Key', code: 'invalid_api_key' } },
    });
    const error = await rejectionOf(engine().doSynthesizeQuery({ track }));
    expect(error.code).toBe('NXS_UNAUTHORIZED');
    expect(error.message).toMatch(/GROQ_API_KEY/);
    expect(error.message).not.toContain('gsk_test_secret');
  });

  it('honours retry-after on its 429 rate-limit body', async () => {
    context.server.on('POST', '/chat/completions', { json: await fixture('completion.json') });
    context.server.on(
      'POST',
      '/chat/completions',
      {
        status: 429,
        headers: { 'retry-after': '1', 'x-ratelimit-remaining-tokens': '0' },
        json: await fixture('rate-limited.json'),
      },
      { times: 1 },
    );
    const result = await engine().doSynthesizeQuery({ track });
    expect(result.query).toMatch(/Daft Punk/);
    expect(context.server.requests).toHaveLength(2);
  });

  it('tolerates unknown extra fields', async () => {
    const body = (await fixture('completion.json')) as object;
    context.server.on('POST', '/chat/completions', {
      json: { ...body, new_usage: { cached: 1 }, reasoning: null },
    });
    expect((await engine().doSynthesizeQuery({ track })).query).toMatch(/official audio/);
  });

  it('needs a key from options or GROQ_API_KEY', () => {
    expect(() => createGroqEngine({ env: {} })).toThrow(/GROQ_API_KEY/);
  });
});

describeHttpFailures({
  method: 'POST',
  path: '/chat/completions',
  success: { json: { choices: [{ message: { content: '{"query":"a b"}' } }] } },
  create: (baseURL, settings) => createGroqEngine({ ...settings, apiKey: 'k', baseURL }),
  call: (engine, signal) => engine.doSynthesizeQuery({ track, ...(signal ? { signal } : {}) }),
  expectSuccess: (result) => expect((result as SynthesizedQuery).query).toBe('a b'),
});
