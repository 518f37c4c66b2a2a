import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import type { QueryEngine } from '../../engine.js';
import { createHttpClient, type HttpEngineSettings } from '../shared/http-client.js';
import { describeTrack, parseSynthesizedQuery, queryInstructions } from '../shared/llm-query.js';
import { serviceRateLimits } from '../shared/rate-limiter.js';
import { credential, list, missingCredentials, record, text } from '../shared/track-fields.js';

/** Settings for {@link createGroqEngine}. */
export interface GroqSettings extends HttpEngineSettings {
  /** Default `https://api.groq.com/openai/v1`. */
  baseURL?: string;
  /** Falls back to `GROQ_API_KEY`. */
  apiKey?: string;
  /** Default `llama-3.3-70b-versatile` (JSON mode; it is not listed for `json_schema`). */
  model?: string;
}

/**
 * Groq (OpenAI-compatible chat completions, Llama 3.3 by default) as a query synthesizer: JSON mode via
 * `response_format: {type: "json_object"}`. Groq's own `json_validate_failed` (400) and an unreadable
 * answer are `NXS_UPSTREAM` (retryable), never a crash. Only when `GROQ_API_KEY` is configured.
 *
 * @throws NexStreamError `NXS_INVALID_INPUT` when no key is configured.
 */
export function createGroqEngine(settings: GroqSettings = {}): QueryEngine {
  const env = settings.env ?? process.env;
  const apiKey = credential(settings.apiKey, env, 'GROQ_API_KEY');
  if (!apiKey) throw missingCredentials('groq', [{ option: 'apiKey', variable: 'GROQ_API_KEY' }]);
  const model = settings.model ?? 'llama-3.3-70b-versatile';
  const client = createHttpClient({
    name: 'groq',
    serviceLimit: serviceRateLimits.groq,
    credentialsHint: 'check GROQ_API_KEY',
    ...settings,
    headers: { authorization: `Bearer ${apiKey}`, ...settings.headers },
    baseURL: settings.baseURL ?? 'https://api.groq.com/openai/v1',
  });

  return {
    kind: 'query',
    id: 'groq',
    tier: 2,
    capabilities: ['query'],
    async doSynthesizeQuery({ track, signal, onLog }) {
      const response = await client.json({
        method: 'POST',
        path: '/chat/completions',
        json: {
          model,
          temperature: 0,
          response_format: { type: 'json_object' },
          messages: [
            { role: 'system', content: queryInstructions },
            { role: 'user', content: describeTrack(track) },
          ],
        },
        signal,
        onLog,
        acceptStatus: [400],
      });
      const where = `[POST] "${response.url}"`;
      if (response.status === 400) {
        const error = record(record(response.data).error);
        const failedJson = error.code === 'json_validate_failed';
        throw new NexStreamError(
          NexStreamErrorCode.Upstream,
          `${where}: 400 Bad Request (${text(error.message) ?? 'no message'})${failedJson ? '; the model produced invalid JSON, try again' : ''}`,
          { retryable: failedJson, details: { status: 400, service: 'groq', code: error.code } },
        );
      }
      const choice = record(list(record(response.data).choices)[0]);
      return parseSynthesizedQuery('groq', record(choice.message).content, where);
    },
    close: () => client.close(),
  };
}
