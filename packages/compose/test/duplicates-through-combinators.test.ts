// One budget charged through two dimensions of a coordinator, or two members of an all-of,
// one of them an all-of or any-of that contains it, would be charged twice by every dispatch
// or reservation: it is refused as a budget given twice is, before anything is built. Found by
// a hostile review: the check saw through wrappers, not through combinators.
import { AtomicBudget, AtomicTokenBudget } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { allOf, anyOf, coordinator, lazyRefill, waiting } from '../src/index.js';
import { codeOf } from './helpers/code-of.js';

describe('a budget inside a combinator counts as given', () => {
  const cases: [string, (b: AtomicBudget, x: AtomicBudget) => Record<string, object>][] = [
    ['bare, and inside an all-of', (b, x) => ({ a: b, z: allOf({ b, x }) })],
    ['bare, and inside an any-of', (b, x) => ({ a: b, z: anyOf({ b, x }) })],
    ['inside two all-ofs', (b, x) => ({ a: allOf([b, new AtomicBudget(5)]), z: allOf({ b, x }) })],
    ['behind a line, inside an all-of', (b, x) => ({ a: waiting(b), z: allOf({ b, x }) })],
    [
      'deep, behind a schedule',
      (b, x) => ({ a: x, z: waiting(allOf([anyOf([lazyRefill(b, { intervalMs: 1_000 })]), x])) }),
    ],
  ];
  for (const [how, build] of cases) {
    it(`coordinator, ${how}: refused, nothing charged`, () => {
      const b = new AtomicBudget(10);
      const x = new AtomicBudget(10);
      const dims = build(b, x);
      expect(codeOf(() => coordinator(dims as never))).toBe('INVALID_ARGUMENT');
      expect(codeOf(() => coordinator({ z: dims.z! } as never).with({ a: dims.a! as never }))).toBe(
        'INVALID_ARGUMENT',
      );
      expect(codeOf(() => allOf(dims as never))).toBe('INVALID_ARGUMENT');
      expect([b.available(), x.available()]).toEqual([10, 10]);
    });
  }

  it('a token budget inside an all-of and as a dimension of its own: refused', () => {
    const tokens = new AtomicTokenBudget(100);
    const rows = new AtomicBudget(10);
    expect(codeOf(() => coordinator({ tokens, both: allOf({ rows, tokens }) }))).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('budgets shared only inside one dimension are that dimension’s business', () => {
    const shared = new AtomicBudget(10);
    const pool = anyOf({
      primary: allOf({ shared, key: new AtomicBudget(5) }),
      fallback: allOf({ shared, key: new AtomicBudget(5) }),
    });
    const b = new AtomicBudget(10);
    const llm = coordinator({ pool, b });
    expect(llm.dimensions).toEqual(['pool', 'b']);
    expect(codeOf(() => llm.with({ again: allOf({ shared, other: new AtomicBudget(1) }) }))).toBe(
      'INVALID_ARGUMENT',
    );
    const d = llm.tryReserveSync({ pool: 2, b: 1 });
    expect(d.ok).toBe(true);
    expect([shared.available(), b.available()]).toEqual([8, 9]);
  });
});
