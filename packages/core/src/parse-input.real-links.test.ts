import { describe, expect, it } from 'vitest';
import realLinks from './__fixtures__/real-links.json' with { type: 'json' };
import { NexStreamError } from './errors.js';
import { parseInput } from './parse-input.js';

/** One link people actually posted (issue trackers, docs, forums), with what it names. */
interface RealLink {
  input: string;
  /** Where the link was seen: an issue / pull request URL or a public file. */
  source: string;
  app: 'ios' | 'android' | 'desktop' | 'web' | 'unknown';
  /** The expected `TrackRef` fields, or `{ error }`: a regex the `NXS_INVALID_INPUT` message must match. */
  expect: Record<string, string> | { error: string };
}

const rows = realLinks as RealLink[];
const accepted = rows.filter((row) => !('error' in row.expect));
const refused = rows.filter((row) => 'error' in row.expect);

describe('parseInput: real links (issue 15)', () => {
  it('has at least 100 distinct links, about 10 of them refused', () => {
    expect(new Set(rows.map((row) => row.input)).size).toBe(rows.length);
    expect(rows.length).toBeGreaterThanOrEqual(100);
    expect(refused.length).toBeGreaterThanOrEqual(10);
  });

  it.each(accepted)('reads $input ($source)', ({ input, expect: expected }) => {
    expect(parseInput(input)).toMatchObject(expected);
  });

  it.each(refused)('refuses $input ($source)', ({ input, expect: expected }) => {
    let thrown: unknown;
    try {
      parseInput(input);
    } catch (error) {
      thrown = error;
    }
    expect(NexStreamError.is(thrown)).toBe(true);
    expect((thrown as NexStreamError).code).toBe('NXS_INVALID_INPUT');
    expect((thrown as NexStreamError).message).toMatch(new RegExp((expected as { error: string }).error));
  });
});
