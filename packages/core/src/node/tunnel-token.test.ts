import { describe, expect, it } from 'vitest';
import { NexStreamError } from '../errors.js';
import { mintTunnelToken, verifyTunnelToken } from './tunnel-token.js';

const secret = 'a-test-secret-that-is-long-enough-for-hmac-sha256';
const now = 1_800_000_000_000;

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return NexStreamError.is(error) ? error.code : 'not a NexStreamError';
  }
  return undefined;
}

describe('tunnel tokens', () => {
  it('round-trips the media id, format id, expiry and signed options', () => {
    const token = mintTunnelToken(secret, {
      mediaId: 'youtube:dQw4w9WgXcQ',
      formatId: '137',
      expiresInMs: 60_000,
      options: { filename: 'Rick Astley – Never Gonna Give You Up.mp4', disposition: 'inline' },
      now,
    });
    expect(token).toMatch(/^v1\.[\w-]+\.[\w-]{43}$/);
    expect(verifyTunnelToken(secret, token, now + 1000)).toEqual({
      mediaId: 'youtube:dQw4w9WgXcQ',
      formatId: '137',
      expiresAt: now + 60_000,
      options: { filename: 'Rick Astley – Never Gonna Give You Up.mp4', disposition: 'inline' },
    });
  });

  it('refuses a token once it expired', () => {
    const token = mintTunnelToken(secret, { mediaId: 'm', formatId: 'f', expiresInMs: 1000, now });
    expect(codeOf(() => verifyTunnelToken(secret, token, now + 999))).toBeUndefined();
    expect(codeOf(() => verifyTunnelToken(secret, token, now + 1000))).toBe('NXS_FORBIDDEN');
  });

  it('refuses a payload swapped for other media, a changed signature and another secret', () => {
    const token = mintTunnelToken(secret, { mediaId: 'youtube:aaaaaaaaaaa', formatId: '251', now });
    const other = mintTunnelToken(secret, { mediaId: 'youtube:bbbbbbbbbbb', formatId: '251', now });
    const [version, , signature] = token.split('.');
    const swapped = `${version}.${other.split('.')[1]}.${signature}`;
    const flipped = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    const foreign = mintTunnelToken(`${secret}-other`, {
      mediaId: 'youtube:aaaaaaaaaaa',
      formatId: '251',
      now,
    });
    for (const bad of [swapped, flipped, foreign, '', 'v1.x', 'v2.a.b', `${token}.extra`, 'x'.repeat(5000)]) {
      expect(codeOf(() => verifyTunnelToken(secret, bad, now))).toBe('NXS_FORBIDDEN');
    }
  });

  it('refuses secrets shorter than 32 bytes', () => {
    expect(codeOf(() => mintTunnelToken('short', { mediaId: 'm', formatId: 'f' }))).toBe('NXS_INVALID_INPUT');
  });
});
