import { NexStreamError } from '@nexstream/core';
import { describe, expect, it } from 'vitest';
import { sampleMatchInput } from '../test/fixtures.js';
import { createVerifiedMatch } from './verification.js';

function problemsOf(input: unknown): string[] {
  try {
    createVerifiedMatch(input as never);
  } catch (error) {
    expect(NexStreamError.is(error)).toBe(true);
    expect((error as NexStreamError).code).toBe('NXS_UNVERIFIED_MATCH');
    return ((error as NexStreamError).details as { problems: string[] }).problems;
  }
  throw new Error('createVerifiedMatch accepted the input');
}

describe('createVerifiedMatch', () => {
  it('builds a frozen match with a normalized ISRC', () => {
    const input = sampleMatchInput(40, 1);
    expect(input.track.isrc).toBe('QZ0140000001');
    const match = createVerifiedMatch({ ...input, track: { ...input.track, isrc: 'qz-014-00-00001' } });
    expect(match.track.isrc).toBe('QZ0140000001');
    expect(Object.isFrozen(match)).toBe(true);
    expect(Object.isFrozen(match.track)).toBe(true);
    expect(Object.isFrozen(match.media.formats)).toBe(true);
    expect(match.media.formats).toEqual(input.media.formats);
    expect(match.media.formats).not.toBe(input.media.formats);
  });

  it('defaults verifiedAt to now', () => {
    const { verifiedAt: _ignored, ...input } = sampleMatchInput(40, 2);
    expect(createVerifiedMatch(input, 1_800_000_000_000).verifiedAt).toBe(1_800_000_000_000);
  });

  it('rejects a wrong ISRC', () => {
    const input = sampleMatchInput(40, 3);
    const problems = problemsOf({ ...input, track: { ...input.track, isrc: 'US-RC1-76' } });
    expect(problems.join()).toMatch(/track\.isrc must be a normalized ISRC/);
  });

  it('rejects a track without platform ids, or with malformed or unknown ones', () => {
    const input = sampleMatchInput(40, 4);
    expect(problemsOf({ ...input, track: { ...input.track, ids: {} } }).join()).toMatch(
      /track\.ids is empty/,
    );
    expect(problemsOf({ ...input, track: { ...input.track, ids: undefined } }).join()).toMatch(
      /track\.ids is missing/,
    );
    const malformed = problemsOf({
      ...input,
      track: { ...input.track, ids: { spotify: 'short', tidal: '1' } },
    });
    expect(malformed.join()).toMatch(/not a valid spotify id/);
    expect(malformed.join()).toMatch(/tidal: unknown platform/);
  });

  it('rejects a missing or malformed media id', () => {
    const input = sampleMatchInput(40, 5);
    expect(problemsOf({ ...input, media: { ...input.media, id: '' } }).join()).toMatch(/media\.id/);
    expect(problemsOf({ ...input, media: { ...input.media, id: 'youtube:tooshort' } }).join()).toMatch(
      /11-character/,
    );
    expect(problemsOf({ ...input, media: undefined }).join()).toMatch(/media is missing/);
  });

  it('rejects media that is not a YouTube video: a page another extractor read cannot be verified', () => {
    const input = sampleMatchInput(40, 5);
    const generic = { ...input.media, id: 'generic:attacker-page', platform: 'generic' };
    expect(problemsOf({ ...input, media: generic }).join()).toMatch(/not a YouTube video/);
    const mislabelled = { ...input.media, id: 'generic:dQw4w9WgXcQ', platform: 'youtube' };
    expect(problemsOf({ ...input, media: mislabelled }).join()).toMatch(/not a YouTube video/);
  });

  it('rejects durations in seconds and durations too far apart', () => {
    const input = sampleMatchInput(40, 6);
    expect(problemsOf({ ...input, track: { ...input.track, durationMs: 212 } }).join()).toMatch(
      /track\.durationMs/,
    );
    expect(problemsOf({ ...input, media: { ...input.media, durationMs: 212.5 } }).join()).toMatch(
      /media\.durationMs/,
    );
    const apart = problemsOf({
      ...input,
      media: { ...input.media, durationMs: input.track.durationMs + 2001 },
    });
    expect(apart.join()).toMatch(/more than 2000 ms apart/);
  });

  it('rejects link expiries in seconds and non-http links', () => {
    const input = sampleMatchInput(40, 7);
    const [format] = input.media.formats;
    const problems = problemsOf({
      ...input,
      media: {
        ...input.media,
        expiresAt: 1_767_225_600,
        formats: [{ ...format, url: 'ftp://x', expiresAt: 1_767_225_600 }],
      },
    });
    expect(problems.join()).toMatch(/media\.expiresAt must be epoch milliseconds/);
    expect(problems.join()).toMatch(/formats\[0\]\.url/);
    expect(problems.join()).toMatch(/formats\[0\]\.expiresAt/);
  });

  it('rejects a match without evidence', () => {
    const input = sampleMatchInput(40, 8);
    expect(
      problemsOf({ ...input, verification: { method: 'title-guess', isrcSource: 'deezer' } }).join(),
    ).toMatch(/verification\.method/);
    expect(problemsOf({ ...input, verification: undefined }).join()).toMatch(/verification is missing/);
  });
});
