import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import { describe, expect, it } from 'vitest';
import { mux } from './mux.js';

// mux() checks its options before it starts a Worker, so bad options fail here, synchronously, with a
// stable code and a message that names the fix (the jobs themselves run in the Chromium tests).
describe('mux() options', () => {
  const refusal = (options: Parameters<typeof mux>[0]) => {
    try {
      mux(options);
    } catch (error) {
      return error;
    }
    throw new Error('mux() accepted the options');
  };

  it('refuses a job without inputs, an unknown container, an unknown writer and bad metadata', () => {
    const cases: Array<[Parameters<typeof mux>[0], RegExp]> = [
      [{ container: 'mp4' }, /give at least one of video or audio \(or input\)/],
      [
        { video: 'https://example.test/v.mp4', container: 'avi' as 'mp4' },
        /container must be "mp4", "m4a", "webm", "mkv", not "avi"/,
      ],
      [
        { input: 'https://example.test/a.mp4', audio: 'https://example.test/a.m4a', container: 'mp4' },
        /either input \(one file copied whole\) or video\/audio, not both/,
      ],
      [
        { video: 'https://example.test/v.mp4', container: 'm4a' },
        /container "m4a" holds audio only: leave video out, or use "mp4"/,
      ],
      [
        {
          audio: 'https://example.test/a.m4a',
          container: 'm4a',
          metadata: { title: 42 as unknown as string },
        },
        /metadata\.title must be a string/,
      ],
      [
        {
          audio: 'https://example.test/a.m4a',
          container: 'm4a',
          metadata: { cover: {} as { bytes: Uint8Array } },
        },
        /metadata\.cover needs a url or bytes/,
      ],
      [
        { video: 'https://example.test/v.mp4', container: 'mp4', writer: 'fast' as 'auto' },
        /writer must be "auto", "mp4" or "libav", not "fast"/,
      ],
    ];
    for (const [options, message] of cases) {
      const error = refusal(options);
      expect(NexStreamError.is(error) && error.code).toBe(NexStreamErrorCode.InvalidInput);
      expect((error as Error).message).toMatch(message);
    }
  });
});
