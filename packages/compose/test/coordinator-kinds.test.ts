// The coordinator against the kit's independent auditor, over the member kinds the first
// audit (coordinator-audit.test.ts) does not cover: continuous rate limiters, all-of and
// any-of of several budgets (nested too), timer-driven and calendar schedules with a
// scheduled token budget beside them, and a tenant of a hierarchy — settling under, at and
// over the estimate, cancelling and refilling, under reset and carry. Every audited budget's
// availability, and the token budget's availability, debt and consumption, must equal what
// the auditor recomputes from the same events after every step.
import { AtomicBudget, AtomicTokenBudget, type RefillPolicy } from '@budgetry/core';
import { Auditor } from '@budgetry/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  allOf,
  anyOf,
  calendarRefill,
  coordinator,
  type Dimension,
  type Dispatch,
  hierarchy,
  intervalRefill,
  lazyRefill,
  slidingWindow,
  tokenBucket,
} from '../src/index.js';
import { dispatchSteps } from './helpers/dispatch-steps.js';
import { TestClock } from './helpers/test-clock.js';

const ROWS = 10;
const TOKENS = 100;

/** One budget inside the rows dimension and the auditor that follows it. */
interface Audited {
  readonly audit: Auditor;
  /** What the budget says is available, and what the auditors say it must be. */
  actual(): number;
  expected(): number;
}

interface Rig {
  readonly rows: Dimension;
  readonly tokens: AtomicTokenBudget;
  readonly tokenDim: Dimension;
  /** `all`: every audited budget is charged; `first`: the first that admits (an any-of). */
  readonly mode: 'all' | 'first';
  readonly audited: readonly Audited[];
  /** Begins a new epoch everywhere, the way users of this kind would; absent: rows never refill. */
  readonly refill: (() => void) | undefined;
}

function plainAudit(budget: { available(): number }, audit: Auditor): Audited {
  return { audit, actual: () => budget.available(), expected: () => audit.available };
}

type Kind =
  | 'tokenBucket'
  | 'slidingWindow'
  | 'allOf(a, b)'
  | 'anyOf(a, b)'
  | 'anyOf(allOf(a, b))'
  | 'intervalRefill + scheduled tokens'
  | 'calendarRefill + scheduled tokens'
  | 'hierarchy tenant';

function rig(kind: Kind, policy: RefillPolicy): Rig {
  const clock = new TestClock(0);
  const tokens = new AtomicTokenBudget(TOKENS, { refillPolicy: policy, leakBackstop: false });
  const atomic = (capacity: number) =>
    new AtomicBudget(capacity, { refillPolicy: policy, leakBackstop: false });
  const audit = (capacity: number) => new Auditor({ capacity, policy });
  const both = (refill: () => void) => () => {
    refill();
    tokens.refill();
  };
  switch (kind) {
    case 'tokenBucket':
    case 'slidingWindow': {
      // The clock stands still: a continuous limiter is then a plain pool with partial commit.
      const b =
        kind === 'tokenBucket'
          ? tokenBucket({ burst: ROWS, rate: 1, clock })
          : slidingWindow({ limit: ROWS, windowMs: 1_000, clock });
      return {
        rows: b,
        tokens,
        tokenDim: tokens,
        mode: 'all',
        audited: [plainAudit(b, audit(ROWS))],
        refill: undefined,
      };
    }
    case 'allOf(a, b)':
    case 'anyOf(a, b)':
    case 'anyOf(allOf(a, b))': {
      const a = atomic(ROWS);
      const b = atomic(ROWS - 3);
      const rows =
        kind === 'allOf(a, b)'
          ? allOf([a, b])
          : kind === 'anyOf(a, b)'
            ? anyOf([a, b])
            : anyOf([allOf([a, b])]);
      return {
        rows,
        tokens,
        tokenDim: tokens,
        mode: kind === 'anyOf(a, b)' ? 'first' : 'all',
        audited: [plainAudit(a, audit(ROWS)), plainAudit(b, audit(ROWS - 3))],
        refill: both(() => {
          a.refill();
          b.refill();
        }),
      };
    }
    case 'intervalRefill + scheduled tokens':
    case 'calendarRefill + scheduled tokens': {
      const rowsBudget = atomic(ROWS);
      const interval = kind.startsWith('interval');
      const rows = interval
        ? intervalRefill(rowsBudget, { intervalMs: 1_000, clock })
        : calendarRefill(rowsBudget, { unit: 'minute', timeZone: 'UTC', timer: true, clock });
      const period = interval ? 1_000 : 60_000;
      const tokenDim = lazyRefill(tokens, { intervalMs: period, clock });
      return {
        rows,
        tokens,
        tokenDim,
        mode: 'all',
        audited: [plainAudit(rowsBudget, audit(ROWS))],
        // One boundary passes; the timer refills the rows, the next use the tokens.
        refill: () => clock.advance(period),
      };
    }
    case 'hierarchy tenant': {
      const root = hierarchy({ capacity: ROWS, children: { capacity: ROWS - 4 } });
      const tenant = root.child('acme');
      const rootAudit = audit(ROWS);
      const tenantAudit = audit(ROWS - 4);
      return {
        rows: tenant,
        tokens,
        tokenDim: tokens,
        mode: 'all',
        audited: [
          plainAudit(root, rootAudit),
          {
            audit: tenantAudit,
            actual: () => tenant.available(),
            expected: () => Math.min(tenantAudit.available, rootAudit.available),
          },
        ],
        refill: both(() => root.refill()),
      };
    }
  }
}

const step = dispatchSteps(ROWS);

interface Open {
  readonly dispatch: Dispatch<'rows' | 'tokens'>;
  readonly rows: number;
  /** The auditors' handles, by audited budget (undefined: not charged there). */
  readonly rowHandles: readonly (number | undefined)[];
  readonly tokenHandle: number;
}

/** Releases, on each audited budget, the handle the dimension took there (if any). */
function releaseRows(r: Rig, handles: readonly (number | undefined)[]): void {
  for (const [i, h] of handles.entries()) if (h !== undefined) r.audited[i]!.audit.release(h);
}

/** Commits (`used` of) each handle the dimension took. */
function commitRows(r: Rig, handles: readonly (number | undefined)[], used?: number): void {
  for (const [i, h] of handles.entries()) {
    if (h !== undefined) r.audited[i]!.audit.commit(h, used);
  }
}

/** Grants `amount` the way the dimension charges: every audited budget, or the first. */
function grantRows(r: Rig, amount: number): (number | undefined)[] | undefined {
  if (r.mode === 'first') {
    for (let i = 0; i < r.audited.length; i++) {
      const h = r.audited[i]!.audit.grant(amount);
      if (h !== undefined) return r.audited.map((_, j) => (j === i ? h : undefined));
    }
    return undefined;
  }
  const handles: (number | undefined)[] = [];
  for (const a of r.audited) {
    const h = a.audit.grant(amount);
    if (h === undefined) {
      releaseRows(r, handles);
      return undefined;
    }
    handles.push(h);
  }
  return handles;
}

const kinds: Kind[] = [
  'tokenBucket',
  'slidingWindow',
  'allOf(a, b)',
  'anyOf(a, b)',
  'anyOf(allOf(a, b))',
  'intervalRefill + scheduled tokens',
  'calendarRefill + scheduled tokens',
  'hierarchy tenant',
];

describe('coordinator over every member kind, checked by the independent auditor', () => {
  for (const kind of kinds) {
    const single =
      kind === 'hierarchy tenant' || kind === 'tokenBucket' || kind === 'slidingWindow';
    const policies: RefillPolicy[] = single ? ['reset'] : ['reset', 'carry'];
    for (const policy of policies) {
      it(`rows through ${kind}, ${policy}: every budget equals the auditor after every step`, () => {
        fc.assert(
          fc.property(fc.array(step, { maxLength: 50, size: 'max' }), (steps) => {
            const r = rig(kind, policy);
            const c = coordinator({ rows: r.rows, tokens: r.tokenDim });
            const tokensAudit = new Auditor({ capacity: TOKENS, policy });
            const open: Open[] = [];
            for (const s of steps) {
              if (s.op === 'reserve') {
                const d = c.tryReserveSync({ rows: s.rows, tokens: s.tokens });
                const rowHandles = grantRows(r, s.rows);
                const tokenHandle = rowHandles && tokensAudit.grant(s.tokens);
                if (rowHandles !== undefined && tokenHandle === undefined) {
                  releaseRows(r, rowHandles);
                }
                expect(d.ok).toBe(tokenHandle !== undefined);
                if (d.ok) {
                  open.push({
                    dispatch: d.permit,
                    rows: s.rows,
                    rowHandles: rowHandles!,
                    tokenHandle: tokenHandle!,
                  });
                }
              } else if (s.op === 'settle' || s.op === 'cancel') {
                const o = open.splice(s.index % Math.max(1, open.length), 1)[0];
                if (o === undefined) continue;
                const charged = r.audited.filter((_, i) => o.rowHandles[i] !== undefined);
                if (s.op === 'cancel') {
                  o.dispatch.cancelSync();
                  releaseRows(r, o.rowHandles);
                  tokensAudit.release(o.tokenHandle);
                } else {
                  const report = o.dispatch.settleSync({ rows: s.rows, tokens: s.tokens });
                  commitRows(r, o.rowHandles, Math.min(s.rows, o.rows));
                  // Over the estimate: as much of the overage as the dimension has room for
                  // is taken and kept (on every member of an all-of; an any-of takes it
                  // wherever it fits first), the rest reported.
                  const over = s.rows - o.rows;
                  let short = 0;
                  // An any-of's overage is reported, never taken: a fresh reservation could
                  // come from another member than the one the permit names.
                  if (over > 0 && kind.startsWith('anyOf')) short = over;
                  else if (over > 0) {
                    const room =
                      r.mode === 'first'
                        ? Math.max(...r.audited.map((a) => a.expected()))
                        : Math.min(...r.audited.map((a) => a.expected()));
                    const take = Math.min(over, room);
                    if (take > 0) {
                      commitRows(r, grantRows(r, take)!);
                    }
                    short = over - take;
                  }
                  tokensAudit.record(o.tokenHandle, s.tokens, 0);
                  expect((report.shortfall as { rows?: number }).rows ?? 0).toBe(short);
                  expect(charged.length).toBeGreaterThan(0);
                }
              } else {
                if (r.refill === undefined) continue;
                r.refill();
                for (const a of r.audited) a.audit.refill();
                tokensAudit.refill();
              }
              for (const a of r.audited) expect(a.actual()).toBe(a.expected());
              expect([
                r.tokens.available(),
                r.tokens.debt(),
                r.tokens.tokensConsumedSync(),
              ]).toEqual([tokensAudit.available, tokensAudit.debt, tokensAudit.consumed]);
            }
          }),
          { numRuns: 150 },
        );
      });
    }
  }
});
