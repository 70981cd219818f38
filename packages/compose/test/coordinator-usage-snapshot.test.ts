// A settle reads its usage once — the record's own enumerable properties, as an estimate is
// read — and checks and charges that one reading. Found by a hostile review: usage was checked
// through Object.entries but charged through Object.hasOwn, so a non-enumerable property with
// a bad amount got past the check and threw with the dispatch half-settled, and a getter was
// checked at one value and charged at another.
import { AtomicBudget, AtomicTokenBudget } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { coordinator } from '../src/index.js';

function setup() {
  const requests = new AtomicBudget(10);
  const tokens = new AtomicTokenBudget(1_000);
  const llm = coordinator({ requests, tokens });
  const d = llm.tryReserveSync({ requests: 2, tokens: 100 });
  if (!d.ok) throw new Error('not reserved');
  return { requests, tokens, dispatch: d.permit };
}

describe('a settle reads its usage once', () => {
  for (const how of ['settleSync', 'settle'] as const) {
    it(`${how}: a non-enumerable property is not usage: its dimension settles at the estimate`, async () => {
      const { requests, tokens, dispatch } = setup();
      const usage = { requests: 1 };
      Object.defineProperty(usage, 'tokens', { value: -50, enumerable: false });
      await dispatch[how](usage);
      expect(dispatch.state).toBe('settled');
      expect([requests.available(), tokens.available(), tokens.tokensConsumedSync()]).toEqual([
        9, 900, 100,
      ]);
    });

    it(`${how}: a getter is read once, and what was checked is what is charged`, async () => {
      const { tokens, dispatch } = setup();
      let reads = 0;
      const usage = {
        get tokens() {
          reads++;
          return reads === 1 ? 90 : 5_000;
        },
      };
      await dispatch[how](usage);
      expect(reads).toBe(1);
      expect([tokens.tokensConsumedSync(), tokens.debt(), tokens.available()]).toEqual([
        90, 0, 910,
      ]);
    });
  }

  it('a getter that turns bad after the check cannot leave the dispatch half-settled', () => {
    const { requests, tokens, dispatch } = setup();
    let reads = 0;
    const usage = {
      requests: 1,
      get tokens() {
        return ++reads === 1 ? 50 : -1;
      },
    };
    dispatch.settleSync(usage);
    expect([reads, dispatch.state]).toEqual([1, 'settled']);
    expect([requests.available(), tokens.available(), tokens.tokensConsumedSync()]).toEqual([
      9, 950, 50,
    ]);
  });
});
