import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import type { SynthesizedQuery, TrackQuery } from '../../engine.js';
import { list, record, text } from './track-fields.js';

/** The instructions both LLM engines send: what a good query is, and the JSON to answer with. */
export const queryInstructions = [
  'You build YouTube search queries that find the official studio recording of a song.',
  'Prefer the art track ("Artist - Topic" channel) or the official audio; avoid live, cover, remix, karaoke,',
  'sped up, slowed, lyric and 1-hour versions unless the track itself is one.',
  'Transliterate nothing: keep titles in their original script.',
  'Answer only with JSON: {"query": string, "alt_queries": string[]} (at most 3 alternatives).',
].join(' ');

/** The user message describing the track: `title=…; artists=…; album=…; duration=224s`. */
export function describeTrack(track: TrackQuery): string {
  const parts = [`title=${track.title}`, `artists=${track.artists.join(', ')}`];
  if (track.album) parts.push(`album=${track.album}`);
  if (track.durationMs) parts.push(`duration=${Math.round(track.durationMs / 1000)}s`);
  if (track.explicit !== undefined) parts.push(`explicit=${track.explicit}`);
  return parts.join('; ');
}

/**
 * Parses the model's JSON answer (`{"query", "alt_queries"}`). Tolerates a Markdown code fence around
 * it; anything else that is not such an object is `NXS_UPSTREAM` (retryable: the next sample may be fine).
 */
export function parseSynthesizedQuery(engine: string, content: unknown, where: string): SynthesizedQuery {
  const raw = text(content);
  const fail = (reason: string, cause?: unknown) =>
    new NexStreamError(
      NexStreamErrorCode.Upstream,
      `${where}: the model's answer is ${reason}; expected {"query": string, "alt_queries": string[]}`,
      { cause, retryable: true, details: { service: engine, answer: raw?.slice(0, 200) } },
    );
  if (!raw) throw fail('empty');
  const unfenced = raw.replace(/^```(?:json)?\s*/i, '').replace(/\s*```$/, '');
  let parsed: unknown;
  try {
    parsed = JSON.parse(unfenced);
  } catch (cause) {
    throw fail('not valid JSON', cause);
  }
  const body = record(parsed);
  const query = text(body.query);
  if (!query) throw fail('missing "query"');
  const alternatives = list(body.alt_queries ?? body.alternatives)
    .map(text)
    .filter((value): value is string => value !== undefined && value !== query)
    .slice(0, 3);
  return { engine, query, alternatives };
}
