/** An error from the server (`{ error: { code, message } }`) or from a package (`NexStreamError`), for display. */
export interface ApiError {
  code: string;
  message: string;
}

/** What each error code means to a person, with what they can do about it. */
const errorTexts: Record<string, string> = {
  NXS_INVALID_INPUT:
    'That does not look like something NexStream can read. Paste a Spotify, Deezer, Apple Music or YouTube link, an ISRC, or an artist and title.',
  NXS_NO_MATCH: 'No matching video was found for this track.',
  NXS_NOT_FOUND:
    'That was not found. It may have been removed, or the server was restarted — try resolving the link again.',
  NXS_RATE_LIMITED: 'Too many requests right now. Wait a moment and try again.',
  NXS_TIMEOUT: 'A service took too long to answer. Try again.',
  NXS_UPSTREAM: 'A music service or the video site did not answer properly. Try again in a moment.',
  NXS_UNREACHABLE:
    'The server cannot reach the music services: it looks offline, or a firewall or proxy blocks it. Check its internet connection — or start it with NEXSTREAM_FIXTURES=1 to try NexStream offline on recorded data.',
  NXS_ABORTED: 'Cancelled.',
  NXS_UNAUTHORIZED: 'This server needs an API key. Enter it in the settings at the top of the page.',
  NXS_FORBIDDEN: 'The download link is no longer valid. Start the download again.',
  NXS_LINK_EXPIRED: 'The video link expired and could not be renewed. Resolve the track again.',
  NXS_TOO_LARGE: 'The file is too large for this server.',
  NXS_UNSUPPORTED_MEDIA:
    'That file is not a video this channel can play (it may be damaged or have no video track).',
  NXS_DEPENDENCY_MISSING:
    'The server is missing a program it needs (ffmpeg or yt-dlp), or your browser lacks a feature. Ask the operator.',
  NXS_PROCESS_FAILED: 'Processing the media failed on the server.',
  NXS_CONFLICT: 'That cannot be done in the current state (for example, the channel is already running).',
  NXS_REGISTRY: 'The track database is unavailable right now.',
  NXS_UNVERIFIED_MATCH: 'The match could not be verified.',
  NXS_RANGE_NOT_SATISFIABLE: 'The download could not be resumed at that position.',
  NXS_INTERNAL: 'Something went wrong on the server.',
};

/** A sentence for people: what went wrong and what to do (the server's own message is kept as a detail). */
export function describeError(error: ApiError): string {
  return errorTexts[error.code] ?? error.message;
}

/** Turns anything thrown into an {@link ApiError}. */
export function toApiError(error: unknown): ApiError {
  if (error && typeof error === 'object' && 'code' in error && typeof (error as ApiError).code === 'string') {
    return { code: (error as ApiError).code, message: String((error as ApiError).message ?? '') };
  }
  if (error instanceof DOMException && error.name === 'AbortError')
    return { code: 'NXS_ABORTED', message: 'aborted' };
  if (error instanceof TypeError) return { code: 'NXS_UPSTREAM', message: `network error: ${error.message}` };
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
