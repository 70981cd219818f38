import { describe, expect, it } from 'vitest';
import { pairedRatio, summarize } from './stats.js';

describe('summarize', () => {
  it('takes the middle sample of an odd count, whatever the order', () => {
    expect(summarize([5, 1, 3])).toEqual({ median: 3, min: 1, max: 5 });
  });

  it('averages the middle two samples of an even count', () => {
    expect(summarize([10, 2, 4, 8])).toEqual({ median: 6, min: 2, max: 10 });
  });

  it('handles a single sample', () => {
    expect(summarize([7])).toEqual({ median: 7, min: 7, max: 7 });
  });

  it('sorts numerically, not as strings', () => {
    expect(summarize([100, 9, 20]).median).toBe(20);
  });

  it('does not reorder the caller’s array', () => {
    const samples = [3, 1, 2];
    summarize(samples);
    expect(samples).toEqual([3, 1, 2]);
  });

  it('refuses an empty sample set', () => {
    expect(() => summarize([])).toThrow(RangeError);
  });
});

describe('pairedRatio', () => {
  it('is the median of the per-round ratios', () => {
    // Per round: 0.5, 0.5, 4 → median 0.5; the ratio of medians would be 20 / 20 = 1.
    expect(pairedRatio([10, 20, 80], [20, 40, 20])).toBe(0.5);
  });

  it('falls back to the ratio of medians when the round counts differ', () => {
    expect(pairedRatio([10, 30], [10, 20, 40])).toBe(1);
  });

  it('is null when a side is empty or a divisor is zero', () => {
    expect(pairedRatio([], [1])).toBeNull();
    expect(pairedRatio([1], [])).toBeNull();
    expect(pairedRatio([1, 2], [1, 0])).toBeNull();
  });
});
