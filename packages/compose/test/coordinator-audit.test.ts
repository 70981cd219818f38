// The coordinator against the kit's independent auditor: every dispatch, settle (under, at
// and over the estimate), cancel and refill on a row guard behind each kind of wrapper and a
// token budget, under reset and carry, with the budgets' availability and debt compared
// with what the auditor recomputes from the same events after every step.
import { AtomicBudget, AtomicTokenBudget, type RefillPolicy } from '@budgetry/core';
import { Auditor } from '@budgetry/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { anyOf } from '../src/any-of/any-of.js';
import { coordinator } from '../src/coordinator/coordinator.js';
import type { Dispatch } from '../src/coordinator/dispatch.js';
import { hierarchy } from '../src/hierarchy/hierarchy.js';
import { lazyRefill } from '../src/refill/lazy-refill.js';
import { waiting } from '../src/waiting/waiter-queue.js';
import { dispatchSteps } from './helpers/dispatch-steps.js';
import { TestClock } from './helpers/test-clock.js';

const ROWS = 10;
const TOKENS = 100;

type Wrapper = 'plain' | 'waiting' | 'anyOf' | 'lazyRefill' | 'hierarchy root';

interface Rig {
  readonly rows: { available(): number };
  readonly tokens: AtomicTokenBudget;
  readonly dims: { rows: Parameters<typeof coordinator>[0][string]; tokens: AtomicTokenBudget };
  /** Begins a new epoch on both, the way this wrapper's users would. */
  refill(): void;
}

function rig(wrapper: Wrapper, policy: RefillPolicy): Rig {
  const tokens = new AtomicTokenBudget(TOKENS, { refillPolicy: policy, leakBackstop: false });
  if (wrapper === 'hierarchy root') {
    const root = hierarchy({ capacity: ROWS, children: { capacity: 1 } }, { leakBackstop: false });
    return {
      rows: root,
      tokens,
      dims: { rows: root, tokens },
      refill: () => {
        root.refill();
        tokens.refill();
      },
    };
  }
  const rows = new AtomicBudget(ROWS, { refillPolicy: policy, leakBackstop: false });
  if (wrapper === 'lazyRefill') {
    const clock = new TestClock(0);
    const scheduled = lazyRefill(rows, { intervalMs: 1_000, clock });
    return {
      rows,
      tokens,
      dims: { rows: scheduled, tokens },
      refill: () => {
        clock.advance(1_000); // nothing touches the budget: the next call catches up
        tokens.refill();
      },
    };
  }
  const dim = wrapper === 'waiting' ? waiting(rows) : wrapper === 'anyOf' ? anyOf([rows]) : rows;
  return {
    rows,
    tokens,
    dims: { rows: dim, tokens },
    refill: () => {
      rows.refill();
      tokens.refill();
    },
  };
}

const step = dispatchSteps(ROWS);

interface Open {
  readonly dispatch: Dispatch<'rows' | 'tokens'>;
  readonly rows: number;
  readonly rowHandle: number;
  readonly tokenHandle: number;
}

describe('coordinator, checked by the independent auditor', () => {
  const wrappers: Wrapper[] = ['plain', 'waiting', 'anyOf', 'lazyRefill', 'hierarchy root'];
  for (const wrapper of wrappers) {
    const policies: RefillPolicy[] = wrapper === 'hierarchy root' ? ['reset'] : ['reset', 'carry'];
    for (const policy of policies) {
      it(`rows behind ${wrapper}, ${policy}: availability and debt equal the auditor's after every step`, () => {
        fc.assert(
          fc.property(fc.array(step, { maxLength: 60, size: 'max' }), (steps) => {
            const r = rig(wrapper, policy);
            const c = coordinator(r.dims);
            const rowsAudit = new Auditor({ capacity: ROWS, policy });
            const tokensAudit = new Auditor({ capacity: TOKENS, policy });
            const open: Open[] = [];
            for (const s of steps) {
              if (s.op === 'reserve') {
                const d = c.tryReserveSync({ rows: s.rows, tokens: s.tokens });
                const rowHandle = rowsAudit.grant(s.rows);
                const tokenHandle =
                  rowHandle === undefined ? undefined : tokensAudit.grant(s.tokens);
                if (rowHandle !== undefined && tokenHandle === undefined)
                  rowsAudit.release(rowHandle);
                expect(d.ok).toBe(rowHandle !== undefined && tokenHandle !== undefined);
                if (d.ok) {
                  open.push({
                    dispatch: d.permit,
                    rows: s.rows,
                    rowHandle: rowHandle!,
                    tokenHandle: tokenHandle!,
                  });
                }
              } else if (s.op === 'settle' || s.op === 'cancel') {
                const o = open.splice(s.index % Math.max(1, open.length), 1)[0];
                if (o === undefined) continue;
                if (s.op === 'cancel') {
                  o.dispatch.cancelSync();
                  rowsAudit.release(o.rowHandle);
                  tokensAudit.release(o.tokenHandle);
                } else {
                  const report = o.dispatch.settleSync({ rows: s.rows, tokens: s.tokens });
                  // Rows: a partial commit under the estimate; over it, the permit committed
                  // and as much of the overage as fits taken and kept.
                  rowsAudit.commit(o.rowHandle, Math.min(s.rows, o.rows));
                  const over = s.rows - o.rows;
                  let short = 0;
                  // An any-of's overage is reported, never taken: a fresh reservation could
                  // come from another member than the one the permit names.
                  if (over > 0 && wrapper === 'anyOf') short = over;
                  else if (over > 0) {
                    const take = Math.min(over, rowsAudit.available);
                    if (take > 0) rowsAudit.commit(rowsAudit.grant(take)!);
                    short = over - take;
                  }
                  tokensAudit.record(o.tokenHandle, s.tokens, 0);
                  expect((report.shortfall as { rows?: number }).rows ?? 0).toBe(short);
                }
              } else {
                r.refill();
                rowsAudit.refill();
                tokensAudit.refill();
              }
              expect(r.rows.available()).toBe(rowsAudit.available);
              expect([
                r.tokens.available(),
                r.tokens.debt(),
                r.tokens.tokensConsumedSync(),
              ]).toEqual([tokensAudit.available, tokensAudit.debt, tokensAudit.consumed]);
            }
          }),
          { numRuns: 300 },
        );
      });
    }
  }
});
