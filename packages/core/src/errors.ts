/**
 * Stable error codes. Match on `error.code`, never on the message or on `instanceof`: two copies of a
 * NexStream package can be loaded in one process, and codes survive serialization (SSE, JSON bodies).
 */
export const NexStreamErrorCode = {
  /** The input (link, ISRC, query, request field) is malformed or of an unsupported kind. */
  InvalidInput: 'NXS_INVALID_INPUT',
  /** An external program (ffmpeg, ffprobe, yt-dlp) is missing or too old. */
  DependencyMissing: 'NXS_DEPENDENCY_MISSING',
  /** An outside service answered with an error or a body we could not read. */
  Upstream: 'NXS_UPSTREAM',
  /**
   * An outside service could not be reached at all: its name did not resolve (DNS) or the connection was
   * refused or found no route. The server's own network is the usual cause (offline, a firewall, a proxy).
   */
  Unreachable: 'NXS_UNREACHABLE',
  /** An outside service (or our own guard) refused the request for rate reasons. */
  RateLimited: 'NXS_RATE_LIMITED',
  /** An operation took longer than its deadline. */
  Timeout: 'NXS_TIMEOUT',
  /** The caller aborted the operation through its `AbortSignal`. */
  Aborted: 'NXS_ABORTED',
  /** Nothing acceptable was found (the resolver's race ended without a match). */
  NoMatch: 'NXS_NO_MATCH',
  /** The thing asked for does not exist. */
  NotFound: 'NXS_NOT_FOUND',
  /** A registry write was attempted with a match that was not ISRC-verified. */
  UnverifiedMatch: 'NXS_UNVERIFIED_MATCH',
  /** The registry database cannot be opened or used (not a database, newer schema, closed). */
  Registry: 'NXS_REGISTRY',
  /** A media link expired (403/410 from the CDN) and must be refreshed. */
  LinkExpired: 'NXS_LINK_EXPIRED',
  /** A token was missing, tampered with, expired, or named other media. */
  Forbidden: 'NXS_FORBIDDEN',
  /** The caller is not authenticated. */
  Unauthorized: 'NXS_UNAUTHORIZED',
  /** A request body or upload exceeds its size limit. */
  TooLarge: 'NXS_TOO_LARGE',
  /** An upload or input file is not playable media (the probe's reason is in the message). */
  UnsupportedMedia: 'NXS_UNSUPPORTED_MEDIA',
  /** ffmpeg, ffprobe or yt-dlp failed; the message carries the program's last stderr lines. */
  ProcessFailed: 'NXS_PROCESS_FAILED',
  /** The operation conflicts with the current state (for example: starting a running channel). */
  Conflict: 'NXS_CONFLICT',
  /** A requested byte range cannot be satisfied. */
  RangeNotSatisfiable: 'NXS_RANGE_NOT_SATISFIABLE',
  /** A bug or an unexpected state inside NexStream. */
  Internal: 'NXS_INTERNAL',
} as const;

/** One of the stable error code strings in {@link NexStreamErrorCode}. */
export type NexStreamErrorCode = (typeof NexStreamErrorCode)[keyof typeof NexStreamErrorCode];

/** Options for {@link NexStreamError}. */
export interface NexStreamErrorOptions {
  /** The underlying error, kept for logs and debuggers. */
  cause?: unknown;
  /** Whether trying the same operation again later can succeed. Defaults per code. */
  retryable?: boolean;
  /** When retryable: how long to wait before retrying, in milliseconds (for example from `Retry-After`). */
  retryAfterMs?: number;
  /** Structured data for the caller (for example the best rejected candidates of a race). */
  details?: unknown;
}

const marker = Symbol.for('@nexstream/core/NexStreamError');

const retryableByDefault: ReadonlySet<NexStreamErrorCode> = new Set([
  NexStreamErrorCode.Upstream,
  NexStreamErrorCode.RateLimited,
  NexStreamErrorCode.Timeout,
  NexStreamErrorCode.LinkExpired,
]);

/**
 * The one error class NexStream throws. `code` is stable; `message` says what failed, where, and what to do.
 *
 * @example
 * ```ts
 * try { parseInput(text) } catch (error) {
 *   if (NexStreamError.is(error) && error.code === 'NXS_INVALID_INPUT') showHint(error.message);
 * }
 * ```
 */
export class NexStreamError extends Error {
  /** The stable code to match on. */
  readonly code: NexStreamErrorCode;
  /** Whether the same operation can succeed if tried again later. */
  readonly retryable: boolean;
  /** Suggested wait before a retry, in milliseconds, when the source said so. */
  readonly retryAfterMs: number | undefined;
  /** Structured data for the caller; safe to serialize. */
  readonly details: unknown;

  constructor(code: NexStreamErrorCode, message: string, options: NexStreamErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NexStreamError';
    this.code = code;
    this.retryable = options.retryable ?? retryableByDefault.has(code);
    this.retryAfterMs = options.retryAfterMs;
    this.details = options.details;
    Object.defineProperty(this, marker, { value: true });
  }

  /** True for a NexStreamError from any copy of this package (checks a global symbol, not the prototype). */
  static is(error: unknown): error is NexStreamError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
  }

  /** A plain object for JSON bodies and SSE `error` events; never includes `cause` (it may hold secrets). */
  toJSON(): SerializedError {
    return {
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs }),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

/** The wire form of an error, as sent in JSON bodies and SSE `error` events. */
export interface SerializedError {
  code: NexStreamErrorCode;
  message: string;
  retryable: boolean;
  retryAfterMs?: number;
  details?: unknown;
}

/**
 * Turns anything thrown into a NexStreamError: NexStreamErrors pass through, an `AbortError` becomes
 * `NXS_ABORTED`, everything else `fallbackCode` (default `NXS_INTERNAL`) with the original as `cause`.
 */
export function toNexStreamError(
  error: unknown,
  fallbackCode: NexStreamErrorCode = NexStreamErrorCode.Internal,
): NexStreamError {
  if (NexStreamError.is(error)) return error;
  if (isAbortError(error)) {
    return new NexStreamError(NexStreamErrorCode.Aborted, 'the operation was aborted', { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new NexStreamError(fallbackCode, message, { cause: error });
}

/** True for the errors `AbortSignal` produces (`AbortError`, `TimeoutError`) and for `NXS_ABORTED`. */
export function isAbortError(error: unknown): boolean {
  if (NexStreamError.is(error)) return error.code === NexStreamErrorCode.Aborted;
  return (
    typeof error === 'object' &&
    error !== null &&
    ((error as { name?: unknown }).name === 'AbortError' ||
      (error as { name?: unknown }).name === 'TimeoutError')
  );
}

const statusByCode: Record<NexStreamErrorCode, number> = {
  NXS_INVALID_INPUT: 400,
  NXS_DEPENDENCY_MISSING: 500,
  NXS_UPSTREAM: 502,
  NXS_UNREACHABLE: 503,
  NXS_RATE_LIMITED: 429,
  NXS_TIMEOUT: 504,
  NXS_ABORTED: 499,
  NXS_NO_MATCH: 404,
  NXS_NOT_FOUND: 404,
  NXS_UNVERIFIED_MATCH: 422,
  NXS_REGISTRY: 500,
  NXS_LINK_EXPIRED: 502,
  NXS_FORBIDDEN: 403,
  NXS_UNAUTHORIZED: 401,
  NXS_TOO_LARGE: 413,
  NXS_UNSUPPORTED_MEDIA: 415,
  NXS_PROCESS_FAILED: 500,
  NXS_CONFLICT: 409,
  NXS_RANGE_NOT_SATISFIABLE: 416,
  NXS_INTERNAL: 500,
};

/**
 * The HTTP status that fits an error code: the one place HTTP layers map codes to statuses.
 * 499 ("client closed request") is only ever logged, since the client is gone.
 */
export function httpStatusFor(code: NexStreamErrorCode): number {
  return statusByCode[code] ?? 500;
}
