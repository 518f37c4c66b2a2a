import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import type { QueryEngine } from '../../engine.js';
import { createHttpClient, type HttpEngineSettings } from '../shared/http-client.js';
import { describeTrack, parseSynthesizedQuery, queryInstructions } from '../shared/llm-query.js';
import { serviceRateLimits } from '../shared/rate-limiter.js';
import { credential, list, missingCredentials, record, text } from '../shared/track-fields.js';

/** Settings for {@link createGeminiEngine}. */
export interface GeminiSettings extends HttpEngineSettings {
  /** Default `https://generativelanguage.googleapis.com`. */
  baseURL?: string;
  /** Sent as `x-goog-api-key`; falls back to `GEMINI_API_KEY`. */
  apiKey?: string;
  /** Default `gemini-2.5-flash`. */
  model?: string;
}

/** The `responseSchema` (OpenAPI-3.0 subset: upper-case types, `propertyOrdering`, no `additionalProperties`). */
export const geminiQuerySchema = {
  type: 'OBJECT',
  properties: {
    query: { type: 'STRING' },
    alt_queries: { type: 'ARRAY', items: { type: 'STRING' } },
  },
  required: ['query'],
  propertyOrdering: ['query', 'alt_queries'],
} as const;

/**
 * Gemini 2.5 (`generateContent`) as a query synthesizer: structured output via `responseMimeType:
 * "application/json"` + `responseSchema`. A 429 `RESOURCE_EXHAUSTED` honours `RetryInfo.retryDelay`.
 * An answer that is not the expected JSON (or a blocked/empty candidate) is `NXS_UPSTREAM`.
 * Only when `GEMINI_API_KEY` is configured.
 *
 * @throws NexStreamError `NXS_INVALID_INPUT` when no key is configured.
 */
export function createGeminiEngine(settings: GeminiSettings = {}): QueryEngine {
  const env = settings.env ?? process.env;
  const apiKey = credential(settings.apiKey, env, 'GEMINI_API_KEY');
  if (!apiKey) throw missingCredentials('gemini', [{ option: 'apiKey', variable: 'GEMINI_API_KEY' }]);
  const model = settings.model ?? 'gemini-2.5-flash';
  const client = createHttpClient({
    name: 'gemini',
    serviceLimit: serviceRateLimits.gemini,
    credentialsHint: 'check GEMINI_API_KEY',
    ...settings,
    headers: { 'x-goog-api-key': apiKey, ...settings.headers },
    baseURL: settings.baseURL ?? 'https://generativelanguage.googleapis.com',
  });

  return {
    kind: 'query',
    id: 'gemini',
    tier: 2,
    capabilities: ['query'],
    async doSynthesizeQuery({ track, signal, onLog }) {
      const response = await client.json({
        method: 'POST',
        path: `/v1beta/models/${encodeURIComponent(model)}:generateContent`,
        json: {
          systemInstruction: { parts: [{ text: queryInstructions }] },
          contents: [{ role: 'user', parts: [{ text: describeTrack(track) }] }],
          generationConfig: {
            temperature: 0,
            responseMimeType: 'application/json',
            responseSchema: geminiQuerySchema,
          },
        },
        signal,
        onLog,
      });
      const where = `[POST] "${response.url}"`;
      const candidate = record(list(record(response.data).candidates)[0]);
      const part = record(list(record(candidate.content).parts)[0]);
      if (text(part.text) === undefined) {
        const reason =
          text(candidate.finishReason) ?? text(record(record(response.data).promptFeedback).blockReason);
        throw new NexStreamError(
          NexStreamErrorCode.Upstream,
          `${where}: no text in the first candidate${reason ? ` (finishReason ${reason})` : ''}; try again`,
          { retryable: true, details: { service: 'gemini', finishReason: reason } },
        );
      }
      return parseSynthesizedQuery('gemini', part.text, where);
    },
    close: () => client.close(),
  };
}
