/** An error from the server (`{ error: { code, message } }`) or from a package (`NexStreamError`), for display. */
export interface ApiError {
  code: string;
  message: string;
  /** The server's hint that the same request can succeed later (absent: decided by the code). */
  retryable?: boolean;
}

/** An error explained to a person: what happened, what to do, and whether trying again can help. */
export interface ErrorExplanation {
  /** What happened, in one sentence. */
  what: string;
  /** What the person can do about it. */
  todo: string;
  /** True when the same request can succeed later: the page offers "Try again". */
  retry: boolean;
}

/** What each error code means to a person and what they can do about it. One place for every page. */
const explanations: Record<string, ErrorExplanation> = {
  NXS_INVALID_INPUT: {
    what: 'NexStream cannot read that.',
    todo: 'Paste a Spotify, Deezer, Apple Music or YouTube link, an ISRC, or an artist and title.',
    retry: false,
  },
  NXS_NO_MATCH: {
    what: 'No video matching this track was found.',
    todo: 'Check the link, or search with the artist and title instead.',
    retry: false,
  },
  NXS_NOT_FOUND: {
    what: 'That was not found: it may have been removed, or the server was restarted.',
    todo: 'Resolve the link again.',
    retry: false,
  },
  NXS_RATE_LIMITED: {
    what: 'Too many requests right now.',
    todo: 'Wait a minute, then try again.',
    retry: true,
  },
  NXS_TIMEOUT: {
    what: 'A music service or the video site took too long to answer.',
    todo: 'Try again; if it keeps happening, the service may be down.',
    retry: true,
  },
  NXS_UPSTREAM: {
    what: 'A music service or the video site gave an answer the server could not use.',
    todo: 'Try again in a moment; if it keeps happening, the server may need an update of yt-dlp.',
    retry: true,
  },
  NXS_UNREACHABLE: {
    what: 'The server cannot reach the music services: it looks offline, or a firewall or proxy blocks it.',
    todo: 'Check the server’s internet connection, or start it with NEXSTREAM_FIXTURES=1 to try NexStream offline on recorded data.',
    retry: true,
  },
  NXS_CONNECTION_LOST: {
    what: 'This page lost its connection to the NexStream server.',
    todo: 'Check that the server is running and that you are online, then try again.',
    retry: true,
  },
  NXS_ABORTED: { what: 'Cancelled.', todo: 'Resolve again when you are ready.', retry: false },
  NXS_UNAUTHORIZED: {
    what: 'This server needs an API key.',
    todo: 'Enter the key in the field at the top of the page.',
    retry: false,
  },
  NXS_FORBIDDEN: {
    what: 'The download link is no longer valid.',
    todo: 'Start the download again.',
    retry: false,
  },
  NXS_LINK_EXPIRED: {
    what: 'The video link expired and could not be renewed.',
    todo: 'Resolve the track again.',
    retry: false,
  },
  NXS_TOO_LARGE: {
    what: 'The file is too large for this server.',
    todo: 'Choose a lower quality, or ask the operator to raise the limit.',
    retry: false,
  },
  NXS_UNSUPPORTED_MEDIA: {
    what: 'That file is not a video this channel can play (it may be damaged or have no video track).',
    todo: 'Choose another file.',
    retry: false,
  },
  NXS_DEPENDENCY_MISSING: {
    what: 'The server is missing a program it needs (ffmpeg or yt-dlp), or this browser lacks a feature.',
    todo: 'Ask the server’s operator to install it, or try another browser.',
    retry: false,
  },
  NXS_PROCESS_FAILED: {
    what: 'The server could not process the media.',
    todo: 'Try another format; if it keeps failing, ask the operator to check the server log.',
    retry: false,
  },
  NXS_CONFLICT: {
    what: 'That cannot be done right now (for example, the channel is already running).',
    todo: 'Reload the page to see the current state.',
    retry: false,
  },
  NXS_REGISTRY: {
    what: 'The track database is unavailable.',
    todo: 'Ask the server’s operator to check its registry.',
    retry: false,
  },
  NXS_UNVERIFIED_MATCH: {
    what: 'The match could not be verified.',
    todo: 'Pick another candidate or try another link.',
    retry: false,
  },
  NXS_RANGE_NOT_SATISFIABLE: {
    what: 'The download could not be resumed where it stopped.',
    todo: 'Start the download again.',
    retry: false,
  },
  NXS_INTERNAL: {
    what: 'Something went wrong on the server.',
    todo: 'Try another link; if it keeps happening, ask the operator to check the server log.',
    retry: false,
  },
};

/** What happened and what to do, for any error (an unknown code keeps the server's own message). */
export function explainError(error: ApiError): ErrorExplanation {
  const known = explanations[error.code];
  if (known) return known;
  return { what: error.message || 'Something went wrong.', todo: '', retry: error.retryable ?? false };
}

/** A sentence for people: what went wrong and what to do (the server's own message is kept as a detail). */
export function describeError(error: ApiError): string {
  const { what, todo } = explainError(error);
  return todo ? `${what} ${todo}` : what;
}

/** Turns anything thrown into an {@link ApiError}. */
export function toApiError(error: unknown): ApiError {
  if (error && typeof error === 'object' && 'code' in error && typeof (error as ApiError).code === 'string') {
    const { code, message, retryable } = error as ApiError;
    return { code, message: String(message ?? ''), ...(typeof retryable === 'boolean' ? { retryable } : {}) };
  }
  if (error instanceof DOMException && error.name === 'AbortError')
    return { code: 'NXS_ABORTED', message: 'aborted' };
  if (error instanceof TypeError)
    return { code: 'NXS_CONNECTION_LOST', message: `network error: ${error.message}` };
  return { code: 'NXS_INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

const keyStorage = 'nexstream.apiKey';

/** The API key the person entered (kept in this browser only). */
export function apiKey(): string {
  return localStorage.getItem(keyStorage) ?? '';
}

/** Stores or clears the API key. */
export function setApiKey(key: string): void {
  if (key) localStorage.setItem(keyStorage, key);
  else localStorage.removeItem(keyStorage);
}

/** Headers with the API key, when one is set. */
export function authHeaders(): Record<string, string> {
  const key = apiKey();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

/** A URL with `?key=` added (EventSource cannot send headers). */
export function withKey(url: string): string {
  const key = apiKey();
  if (!key) return url;
  return `${url}${url.includes('?') ? '&' : '?'}key=${encodeURIComponent(key)}`;
}

/** Calls the JSON API; throws an {@link ApiError} for non-2xx answers. */
export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      ...init,
      headers: {
        ...(init.body ? { 'Content-Type': 'application/json' } : {}),
        ...authHeaders(),
        ...(init.headers ?? {}),
      },
    });
  } catch (error) {
    throw toApiError(error);
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const error = (body as { error?: ApiError } | undefined)?.error;
    throw error ?? { code: 'NXS_UPSTREAM', message: `${response.status} ${response.statusText}` };
  }
  return body as T;
}

/** `m:ss` from milliseconds. */
export function formatDuration(durationMs: number | undefined): string {
  if (durationMs === undefined || !Number.isFinite(durationMs)) return '–';
  const total = Math.round(durationMs / 1000);
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
}

/** `12.3 MB` from bytes. */
export function formatBytes(bytes: number | undefined | null): string {
  if (bytes === undefined || bytes === null || !Number.isFinite(bytes)) return '–';
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
