// The linearization search on small hand-made histories.
import { describe, expect, it } from 'vitest';
import { linearize, type SearchOp } from '../src/search.js';

type S = number; // units free

const reserve = (inv: number, res: number, cost: number, granted: boolean): SearchOp<S> => ({
  label: `reserve(${cost})`,
  inv,
  res,
  optional: false,
  step: (free) =>
    granted
      ? cost <= free
        ? [free - cost]
        : { reason: 'over-admitted', blame: 'G2' }
      : cost > free
        ? [free]
        : { reason: 'false denial', blame: 'G6' },
});
const key = (s: S) => String(s);

describe('linearize', () => {
  it('finds the order that explains overlapping calls', () => {
    // 10 free; reserve(6) and reserve(5) overlap; the 5 was granted, the 6 denied: only the
    // order 5 then 6 explains both.
    const result = linearize([10], [reserve(1, 4, 6, false), reserve(2, 3, 5, true)], key);
    expect(result).toEqual({ ok: true, states: [5], overflow: false });
  });

  it('respects real time: a call that returned before another began comes first', () => {
    // The denial returned before the grant began, so it saw 10 free: no order explains it.
    const result = linearize([10], [reserve(1, 2, 6, false), reserve(3, 4, 5, true)], key);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.failure.mismatch.blame).toBe('G6');
  });

  it('reports the deepest failure: an over-admission after the calls it overlapped', () => {
    const result = linearize([10], [reserve(1, 4, 6, true), reserve(2, 3, 5, true)], key);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.failure.before).toHaveLength(1);
      expect(result.failure.mismatch.reason).toBe('over-admitted');
    }
  });

  it('lets an indeterminate call take effect or not', () => {
    const maybe = { ...reserve(1, 2, 4, true), optional: true };
    const result = linearize([10], [maybe], key);
    expect(result.ok && [...result.states].sort()).toEqual([10, 6]);
  });

  it('explores 2^n rather than n! orders for n overlapping calls', () => {
    let steps = 0;
    const ops = Array.from({ length: 14 }, (_, i) => ({
      ...reserve(1 + i, 100 + i, 1, true),
      step: (free: S) => {
        steps++;
        return [free - 1];
      },
    }));
    const result = linearize([100], ops, key);
    expect(result.ok && result.states).toEqual([86]);
    expect(steps).toBeLessThan(14 * 2 ** 14);
  });

  it('stops a search that runs past MAX_SEARCH_MS, reporting an overflow', () => {
    // Twenty overlapping calls of unknown outcome, each step slow (a large state copied): the
    // whole search would take minutes; it ends after MAX_SEARCH_MS instead.
    const slow = (free: S): S[] => {
      const until = performance.now() + 0.05;
      while (performance.now() < until) {
        // a step that costs 50 µs
      }
      return [free - 1];
    };
    const ops = Array.from({ length: 20 }, (_, i) => ({
      ...reserve(1 + i, 100 + i, 1, true),
      optional: true,
      step: (free: S) => slow(free + i * 1_000),
    }));
    // Without the bound it would not return before the test's timeout.
    const result = linearize([1_000_000], ops, key);
    expect(result.ok && result.overflow).toBe(true);
  }, 30_000);
});
