import { describe, expect, it } from 'vitest';
import {
  httpStatusFor,
  isAbortError,
  NexStreamError,
  NexStreamErrorCode,
  toNexStreamError,
} from './errors.js';

describe('NexStreamError', () => {
  it('carries a stable code, retry hint and details, and serializes without its cause', () => {
    const error = new NexStreamError('NXS_RATE_LIMITED', 'Deezer quota exceeded: retry in 5 s', {
      cause: new Error('secret token abc'),
      retryAfterMs: 5000,
      details: { engine: 'deezer' },
    });
    expect(error.code).toBe('NXS_RATE_LIMITED');
    expect(error.retryable).toBe(true);
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      code: 'NXS_RATE_LIMITED',
      message: 'Deezer quota exceeded: retry in 5 s',
      retryable: true,
      retryAfterMs: 5000,
      details: { engine: 'deezer' },
    });
    expect(JSON.stringify(error)).not.toContain('secret');
  });

  it('is recognized across copies of the package by its global marker, not its prototype', () => {
    const fromOtherCopy = Object.assign(new Error('x'), {
      [Symbol.for('@nexstream/core/NexStreamError')]: true,
    });
    expect(NexStreamError.is(fromOtherCopy)).toBe(true);
    expect(NexStreamError.is(new Error('plain'))).toBe(false);
    expect(NexStreamError.is(null)).toBe(false);
  });

  it('maps every code to an HTTP status', () => {
    for (const code of Object.values(NexStreamErrorCode)) {
      expect(httpStatusFor(code)).toBeGreaterThanOrEqual(400);
    }
    expect(httpStatusFor('NXS_INVALID_INPUT')).toBe(400);
    expect(httpStatusFor('NXS_FORBIDDEN')).toBe(403);
    expect(httpStatusFor('NXS_TOO_LARGE')).toBe(413);
    expect(httpStatusFor('NXS_UNSUPPORTED_MEDIA')).toBe(415);
  });

  it('normalizes thrown values, turning aborts into NXS_ABORTED', () => {
    const controller = new AbortController();
    controller.abort();
    const aborted = toNexStreamError(controller.signal.reason);
    expect(aborted.code).toBe('NXS_ABORTED');
    expect(isAbortError(aborted)).toBe(true);
    expect(toNexStreamError('boom', 'NXS_UPSTREAM').code).toBe('NXS_UPSTREAM');
    const original = new NexStreamError('NXS_NO_MATCH', 'none');
    expect(toNexStreamError(original)).toBe(original);
  });
});
