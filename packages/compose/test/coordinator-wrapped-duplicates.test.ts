// One budget given twice to a coordinator — once bare and once behind a wrapper that charges
// it (a refill schedule, a token guard, a waiting line) — would be charged twice by every
// dispatch; it is refused as the bare duplicate is, and changes nothing.
import { AtomicBudget, AtomicTokenBudget } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { coordinator, lazyRefill, tokenGuard, waiting } from '../src/index.js';
import { codeOf } from './helpers/code-of.js';
import { TestClock } from './helpers/test-clock.js';

describe('a coordinator refuses one budget given twice behind a wrapper', () => {
  const clock = new TestClock();
  const scheduled = (budget: AtomicBudget) => lazyRefill(budget, { intervalMs: 1_000, clock });
  const pairs: [string, (rows: AtomicBudget, tokens: AtomicTokenBudget) => object][] = [
    ['bare and on a refill schedule', (rows) => ({ a: rows, b: scheduled(rows) })],
    ['bare and behind a token guard', (_, tokens) => ({ t: tokens, g: tokenGuard(tokens) })],
    ['bare and behind a waiting line', (rows) => ({ a: rows, w: waiting(rows) })],
    ['behind two wrappers', (rows) => ({ s: scheduled(rows), w: waiting(rows) })],
  ];
  for (const [how, dimensions] of pairs) {
    it(how, () => {
      const rows = new AtomicBudget(10);
      const tokens = new AtomicTokenBudget(100);
      expect(codeOf(() => coordinator(dimensions(rows, tokens) as never))).toBe('INVALID_ARGUMENT');
      expect([rows.available(), tokens.available()]).toEqual([10, 100]);
    });
  }

  it('with(): a dimension whose budget the coordinator already has behind a wrapper', () => {
    const rows = new AtomicBudget(10);
    const base = coordinator({ rows });
    expect(codeOf(() => base.with({ again: waiting(rows) }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => base.with({ again: scheduled(rows) }))).toBe('INVALID_ARGUMENT');
    expect(base.with({ other: new AtomicBudget(5) }).dimensions).toEqual(['rows', 'other']);
  });
});
