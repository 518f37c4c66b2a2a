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

  it('refuses a job without inputs, an unknown container and an unknown engine', () => {
    const cases: Array<[Parameters<typeof mux>[0], RegExp]> = [
      [{ container: 'mp4' }, /give at least one of video or audio/],
      [
        { video: 'https://example.test/v.mp4', container: 'avi' as 'mp4' },
        /container must be "mp4", "webm" or "mkv", not "avi"/,
      ],
      [
        { video: 'https://example.test/v.mp4', container: 'mp4', engine: 'fast' as 'auto' },
        /engine must be "auto", "direct" or "libav", not "fast"/,
      ],
    ];
    for (const [options, message] of cases) {
      const error = refusal(options);
      expect(NexStreamError.is(error) && error.code).toBe(NexStreamErrorCode.InvalidInput);
      expect((error as Error).message).toMatch(message);
    }
  });
});
