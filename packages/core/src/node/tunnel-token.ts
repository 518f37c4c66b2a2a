import { createHmac, timingSafeEqual } from 'node:crypto';
import { NexStreamError, NexStreamErrorCode } from '../errors.js';

/** How the client should treat the file: save it (`attachment`, the default) or show it (`inline`). */
export type TunnelDisposition = 'attachment' | 'inline';

/** Options a token carries and signs, so a client cannot change them. */
export interface TunnelTokenOptions {
  /** The download's file name (UTF-8, any script); overrides the one `lookupMedia` gives. */
  filename?: string;
  /** `Content-Disposition` type. Default `attachment`. */
  disposition?: TunnelDisposition;
}

/** What a token names once verified. */
export interface TunnelTokenClaims {
  /** The media id the token was minted for (e.g. `youtube:dQw4w9WgXcQ`). */
  mediaId: string;
  /** The format id inside that media (yt-dlp `format_id`, e.g. `137`). */
  formatId: string;
  /** When the token stops working, epoch milliseconds. */
  expiresAt: number;
  /** The signed options. */
  options: TunnelTokenOptions;
}

/** What {@link mintTunnelToken} signs. */
export interface MintTunnelTokenInput {
  mediaId: string;
  formatId: string;
  /** How long the token works, in milliseconds. Default one hour. */
  expiresInMs?: number;
  options?: TunnelTokenOptions;
  /** The clock, epoch milliseconds. Default `Date.now()`. */
  now?: number;
}

/** The shortest secret accepted, in bytes: HMAC-SHA256 is only as strong as its key. */
export const minimumTunnelSecretBytes = 32;

/** Tokens longer than this are refused before any work, in characters. */
export const maximumTunnelTokenLength = 2048;

const version = 'v1';

interface TokenPayload {
  m: string;
  f: string;
  e: number;
  o?: TunnelTokenOptions;
}

/** The secret as bytes, checked for length. */
export function tunnelSecretBytes(secret: string | Uint8Array): Buffer {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  if (bytes.byteLength < minimumTunnelSecretBytes) {
    throw new NexStreamError(
      NexStreamErrorCode.InvalidInput,
      `tunnel secret is ${bytes.byteLength} bytes; use at least ${minimumTunnelSecretBytes} random bytes ` +
        `(for example: node -e "console.log(crypto.randomBytes(32).toString('base64url'))")`,
    );
  }
  return bytes;
}

/**
 * Mints a tunnel token: `v1.<payload>.<signature>`, where the payload is base64url JSON of the media id,
 * format id, expiry and options, and the signature is base64url HMAC-SHA256 over `v1.<payload>` with
 * `secret`. The token names a media and a format, never a URL: the tunnel asks the resolver for the
 * current origin URL when it is used.
 *
 * @throws NexStreamError `NXS_INVALID_INPUT` for a short secret, empty ids or a non-positive lifetime.
 */
export function mintTunnelToken(secret: string | Uint8Array, input: MintTunnelTokenInput): string {
  const key = tunnelSecretBytes(secret);
  const { mediaId, formatId, expiresInMs = 3_600_000, options, now = Date.now() } = input;
  if (!mediaId || !formatId) {
    throw new NexStreamError(
      NexStreamErrorCode.InvalidInput,
      'a tunnel token needs a mediaId and a formatId',
    );
  }
  if (!(Number.isFinite(expiresInMs) && expiresInMs > 0)) {
    throw new NexStreamError(
      NexStreamErrorCode.InvalidInput,
      `tunnel token expiresInMs must be a positive number of milliseconds, got ${expiresInMs}`,
    );
  }
  const payload: TokenPayload = { m: mediaId, f: formatId, e: Math.floor(now + expiresInMs) };
  const cleanOptions = pickOptions(options);
  if (cleanOptions) payload.o = cleanOptions;
  const body = `${version}.${Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url')}`;
  const token = `${body}.${sign(key, body)}`;
  if (token.length > maximumTunnelTokenLength) {
    throw new NexStreamError(
      NexStreamErrorCode.InvalidInput,
      `tunnel token would be ${token.length} characters (limit ${maximumTunnelTokenLength}): shorten the filename`,
    );
  }
  return token;
}

/**
 * Checks a token's signature in constant time, then its expiry, and returns what it names.
 *
 * @throws NexStreamError `NXS_FORBIDDEN` for a missing, malformed, tampered or expired token (the message
 *   says which, never what the right signature would be).
 */
export function verifyTunnelToken(
  secret: string | Uint8Array,
  token: string | undefined,
  now: number = Date.now(),
): TunnelTokenClaims {
  const key = tunnelSecretBytes(secret);
  if (!token) throw forbidden('no tunnel token given');
  if (token.length > maximumTunnelTokenLength) throw forbidden('the tunnel token is too long');
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== version) throw forbidden('the tunnel token is malformed');
  const body = `${parts[0]}.${parts[1]}`;
  const expected = Buffer.from(sign(key, body), 'utf8');
  const given = Buffer.from(parts[2] ?? '', 'utf8');
  if (expected.byteLength !== given.byteLength || !timingSafeEqual(expected, given)) {
    throw forbidden('the tunnel token signature does not match');
  }
  let payload: TokenPayload;
  try {
    payload = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8')) as TokenPayload;
  } catch {
    throw forbidden('the tunnel token payload is not readable');
  }
  if (
    typeof payload?.m !== 'string' ||
    typeof payload.f !== 'string' ||
    typeof payload.e !== 'number' ||
    !Number.isFinite(payload.e)
  ) {
    throw forbidden('the tunnel token payload is incomplete');
  }
  if (payload.e <= now) {
    throw forbidden(`the tunnel token expired ${Math.round((now - payload.e) / 1000)} s ago: mint a new one`);
  }
  return {
    mediaId: payload.m,
    formatId: payload.f,
    expiresAt: payload.e,
    options: pickOptions(payload.o) ?? {},
  };
}

function sign(key: Buffer, body: string): string {
  return createHmac('sha256', key).update(body, 'utf8').digest('base64url');
}

function pickOptions(options: TunnelTokenOptions | undefined): TunnelTokenOptions | undefined {
  if (!options || typeof options !== 'object') return undefined;
  const picked: TunnelTokenOptions = {};
  if (typeof options.filename === 'string' && options.filename !== '') picked.filename = options.filename;
  if (options.disposition === 'inline' || options.disposition === 'attachment') {
    picked.disposition = options.disposition;
  }
  return Object.keys(picked).length > 0 ? picked : undefined;
}

function forbidden(message: string): NexStreamError {
  return new NexStreamError(NexStreamErrorCode.Forbidden, message, { retryable: false });
}
