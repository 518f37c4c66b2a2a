import type { CoverArt } from '@nexstream/core';
import { NexStreamError, NexStreamErrorCode, parseIsrc } from '@nexstream/core';

/** Like core's `parseIsrc`, but throws `NXS_INVALID_INPUT` for a malformed ISRC (engine inputs). */
export function requireIsrc(value: string, engine: string): string {
  const isrc = parseIsrc(value);
  if (!isrc) {
    throw new NexStreamError(
      NexStreamErrorCode.InvalidInput,
      `${engine}: "${value}" is not an ISRC (expected 12 characters like GBDUW0000059)`,
      { retryable: false },
    );
  }
  return isrc;
}

/** Seconds (number or numeric string) → whole milliseconds, or `undefined`. */
export function secondsToMs(value: unknown): number | undefined {
  const seconds = typeof value === 'string' ? Number(value) : value;
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0
    ? Math.round(seconds * 1000)
    : undefined;
}

/** A positive finite number of milliseconds, or `undefined`. */
export function positiveMs(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.round(value) : undefined;
}

/** A non-empty trimmed string, or `undefined`. */
export function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** A date prefix `YYYY`, `YYYY-MM` or `YYYY-MM-DD` from an ISO date or timestamp, or `undefined`. */
export function isoDate(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const compact = /^(\d{4})(\d{2})(\d{2})$/.exec(value.trim());
  if (compact) return `${compact[1]}-${compact[2]}-${compact[3]}`;
  const match = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?/.exec(value.trim());
  return match ? [match[1], match[2], match[3]].filter(Boolean).join('-') : undefined;
}

/** Adds names to a list once each (case-insensitive), keeping order. */
export function uniqueNames(names: Array<string | undefined>): string[] {
  const seen = new Set<string>();
  const result: string[] = [];
  for (const name of names) {
    const value = text(name);
    if (!value) continue;
    const key = value.toLocaleLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    result.push(value);
  }
  return result;
}

/** Reads a credential from the explicit option, else the env var; empty strings count as unset. */
export function credential(
  explicit: string | undefined,
  env: Record<string, string | undefined>,
  variable: string,
): string | undefined {
  return text(explicit) ?? text(env[variable]);
}

/** A credential an engine needs: the option that carries it and the env var it falls back to. */
export interface CredentialSource {
  option: string;
  variable: string;
}

/**
 * The error of an engine whose credentials are missing, naming the options and env vars to set:
 * `NXS_INVALID_INPUT` (a configuration problem, not retryable). Engines that cannot work without a key
 * (Soundcharts, Groq, Gemini) throw it from their factory; an optional key (Spotify's Web API) throws it from
 * the call that needs it.
 */
export function missingCredentials(engine: string, needed: readonly CredentialSource[]): NexStreamError {
  const options = needed.map((source) => source.option).join(' and ');
  const variables = needed.map((source) => source.variable).join(' and ');
  return new NexStreamError(
    NexStreamErrorCode.InvalidInput,
    `${engine} needs ${needed.length > 1 ? 'credentials' : 'an API key'}: pass ${options}, or set ${variables}`,
    { retryable: false, details: { service: engine, variables: needed.map((source) => source.variable) } },
  );
}

/** The value if it is a plain object, else an empty object (parsers tolerate drifting shapes). */
export function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/** The value if it is an array, else an empty array. */
export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** An id as a string (Deezer and iTunes ids are numbers). */
export function idString(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return text(value);
}

/** Throws `NXS_INVALID_INPUT` when an engine is asked to look up a platform it does not cover. */
export function unsupportedLookup(engine: string, what: string): NexStreamError {
  return new NexStreamError(NexStreamErrorCode.InvalidInput, `${engine} cannot look up ${what}`, {
    retryable: false,
  });
}

/** An image URL with its pixel size, when known. */
export interface SizedImage {
  url: string;
  width?: number;
}

/**
 * Sorts images into core's cover-art sizes: `small` the largest up to 200 px, `medium` the largest below
 * 1000 px, `large` the largest from 1000 px. Images without a width count as medium.
 */
export function coverArtFromImages(images: SizedImage[]): CoverArt | undefined {
  const art: CoverArt = {};
  const best: Record<keyof CoverArt, number> = { small: -1, medium: -1, large: -1 };
  for (const image of images) {
    const width = image.width ?? 300;
    const size: keyof CoverArt = width <= 200 ? 'small' : width < 1000 ? 'medium' : 'large';
    if (width > best[size]) {
      best[size] = width;
      art[size] = image.url;
    }
  }
  return Object.keys(art).length > 0 ? art : undefined;
}
