import { describe, expect, it } from 'vitest';
import { defaultRaceTimings, plainVideoQuery, type SettlementState, settlementDecision } from './race.js';

const allPending = { 0: false, 1: false, 2: false } as const;
const allDone = { 0: true, 1: true, 2: true } as const;
const state = (overrides: Partial<SettlementState>): SettlementState => ({
  nowMs: 1000,
  graceMs: 15_000,
  tierDone: allPending,
  deadlinePassed: false,
  ...overrides,
});

describe('settlementDecision', () => {
  it('settles at once on a verified or exact candidate, whatever is still running', () => {
    expect(settlementDecision(state({ bestGrade: 'verified', acceptableSinceMs: 1000 }))).toBe('settle');
    expect(settlementDecision(state({ bestGrade: 'exact', acceptableSinceMs: 1000 }))).toBe('settle');
  });

  it('settles a strong candidate once tiers 0 and 1 are done, without waiting for tier 2', () => {
    expect(settlementDecision(state({ bestGrade: 'strong', acceptableSinceMs: 900 }))).toBe('wait');
    expect(
      settlementDecision(
        state({ bestGrade: 'strong', acceptableSinceMs: 900, tierDone: { 0: true, 1: true, 2: false } }),
      ),
    ).toBe('settle');
  });

  it('holds a fuzzy candidate until every tier is done or the grace period is over', () => {
    expect(
      settlementDecision(
        state({ bestGrade: 'fuzzy', acceptableSinceMs: 0, tierDone: { 0: true, 1: true, 2: false } }),
      ),
    ).toBe('wait');
    expect(settlementDecision(state({ bestGrade: 'fuzzy', acceptableSinceMs: 0, tierDone: allDone }))).toBe(
      'settle',
    );
    expect(settlementDecision(state({ bestGrade: 'fuzzy', acceptableSinceMs: 0, nowMs: 15_000 }))).toBe(
      'settle',
    );
  });

  it('lets a hanging tier delay a strong candidate by the grace period at most', () => {
    expect(settlementDecision(state({ bestGrade: 'strong', acceptableSinceMs: 0, nowMs: 14_999 }))).toBe(
      'wait',
    );
    expect(settlementDecision(state({ bestGrade: 'strong', acceptableSinceMs: 0, nowMs: 15_000 }))).toBe(
      'settle',
    );
  });

  it('gives up when nothing acceptable came and nothing more can, or at the deadline', () => {
    expect(settlementDecision(state({}))).toBe('wait');
    expect(settlementDecision(state({ bestGrade: 'rejected' }))).toBe('wait');
    expect(settlementDecision(state({ bestGrade: 'rejected', tierDone: allDone }))).toBe('no-match');
    expect(settlementDecision(state({ deadlinePassed: true }))).toBe('no-match');
    expect(
      settlementDecision(state({ bestGrade: 'fuzzy', acceptableSinceMs: 900, deadlinePassed: true })),
    ).toBe('settle');
  });
});

describe('race defaults', () => {
  it('starts tier 1 at 1.5 s and tier 2 at 6 s and holds fuzzy answers for 15 s', () => {
    expect(defaultRaceTimings).toMatchObject({ tier1DelayMs: 1500, tier2DelayMs: 6000, graceMs: 15_000 });
  });

  it('searches videos as "Artist - Title"', () => {
    expect(plainVideoQuery({ title: 'Hello', artists: ['Adele', 'Someone'], ids: {} })).toBe('Adele - Hello');
    expect(plainVideoQuery({ title: 'Hello', artists: [], ids: {} })).toBe('Hello');
  });
});
