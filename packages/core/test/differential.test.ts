// Differential tests: random sequential operation sequences run against the real budgets and
// against a small model of the intended semantics (BRIEF.md section 3). The model derives
// `available` from first principles (capacity minus what is held and spent) rather than
// keeping a running counter as the implementation does, so the two can disagree.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AtomicBudget } from '../src/budgets/atomic-budget.js';
import { AtomicTokenBudget } from '../src/budgets/atomic-token-budget.js';
import type { TokenReservation } from '../src/budgets/token-reservation.js';
import { BudgetError } from '../src/spec/budget-error.js';
import type { SyncBudgetPermit } from '../src/spec/budget-guard.js';
import type { RefillPolicy } from '../src/spec/refill-policy.js';

const CAPACITY = 50;
const amount = fc.nat(CAPACITY + 10);
const policy = fc.constantFrom<RefillPolicy>('reset', 'carry');

interface PermitModel {
  cost: number;
  epoch: number;
  state: 'held' | 'released' | 'committed';
}

class GuardModel {
  epoch = 0;
  countHeld = 0;
  spent = 0;
  overReleased = 0;
  readonly permits: PermitModel[] = [];
  constructor(readonly policy: RefillPolicy) {}

  live(p: PermitModel): boolean {
    return this.policy === 'carry' || p.epoch === this.epoch;
  }
  heldByPermits(): number {
    return this.permits
      .filter((p) => p.state === 'held' && this.live(p))
      .reduce((sum, p) => sum + p.cost, 0);
  }
  available(): number {
    return CAPACITY - this.countHeld - this.heldByPermits() - this.spent;
  }
  refill(): void {
    this.epoch++;
    this.spent = 0;
    if (this.policy === 'reset') this.countHeld = 0;
  }
}

type GuardOp =
  | { op: 'reserve' | 'acquire' | 'release'; cost: number }
  | { op: 'releasePermit' | 'commitPermit'; index: number }
  | { op: 'refill' };

const guardOp: fc.Arbitrary<GuardOp> = fc.oneof(
  fc.record({ op: fc.constantFrom('reserve', 'acquire', 'release' as const), cost: amount }),
  fc.record({ op: fc.constantFrom('releasePermit', 'commitPermit' as const), index: fc.nat(20) }),
  fc.constant({ op: 'refill' as const }),
);

describe('AtomicBudget against a model', () => {
  it('agrees on every result and every counter after each operation', () => {
    fc.assert(
      fc.property(
        policy,
        fc.array(guardOp, { maxLength: 60, size: 'max' }),
        (refillPolicy, ops) => {
          const real = new AtomicBudget(CAPACITY, { refillPolicy, leakBackstop: false });
          const model = new GuardModel(refillPolicy);
          const permits: SyncBudgetPermit[] = [];
          for (const step of ops) {
            switch (step.op) {
              case 'reserve': {
                const expected = step.cost <= model.available();
                expect(real.tryReserveSync(step.cost)).toBe(expected);
                if (expected) model.countHeld += step.cost;
                break;
              }
              case 'acquire': {
                const expected = step.cost <= model.available();
                const permit = real.tryAcquireSync(step.cost);
                expect(permit !== null).toBe(expected);
                if (permit) {
                  permits.push(permit);
                  model.permits.push({ cost: step.cost, epoch: model.epoch, state: 'held' });
                }
                break;
              }
              case 'release': {
                const accepted = Math.min(step.cost, model.countHeld);
                model.overReleased += step.cost - accepted;
                model.countHeld -= accepted;
                real.releaseSync(step.cost);
                break;
              }
              case 'releasePermit':
              case 'commitPermit': {
                const permit = permits[step.index];
                const m = model.permits[step.index];
                if (!permit || !m) break;
                const settles = m.state === 'held';
                if (settles && step.op === 'commitPermit' && model.live(m)) model.spent += m.cost;
                if (settles) m.state = step.op === 'releasePermit' ? 'released' : 'committed';
                const result =
                  step.op === 'releasePermit' ? permit.releaseSync() : permit.commitSync();
                expect(result).toBe(settles);
                expect(permit.state).toBe(m.state);
                break;
              }
              case 'refill':
                model.refill();
                real.refill();
                break;
            }
            expect(real.available()).toBe(model.available());
            expect(real.held()).toBe(model.countHeld + model.heldByPermits());
            expect(real.overReleased()).toBe(model.overReleased);
            expect(real.epoch).toBe(model.epoch);
            expect(real.available()).toBeGreaterThanOrEqual(0);
            expect(real.available()).toBeLessThanOrEqual(CAPACITY);
          }
        },
      ),
      { numRuns: 1_000 },
    );
  });
});

interface ReservationModel {
  estimate: number;
  epoch: number;
  state: 'armed' | 'disarmed' | 'recorded' | 'refunded';
}

class TokenModel {
  epoch = 0;
  /** Charged to the current epoch by recorded usage. */
  spent = 0;
  /** Debt brought into the current epoch by the last refill. */
  debtAtStart = 0;
  consumed = 0;
  forgiven = 0;
  /** Held through the count API (tryReserveSync / releaseSync). */
  countHeld = 0;
  overReleased = 0;
  readonly reservations: ReservationModel[] = [];
  constructor(
    readonly policy: RefillPolicy,
    readonly maxDebt: number,
  ) {}

  live(r: ReservationModel): boolean {
    return this.policy === 'carry' || r.epoch === this.epoch;
  }
  outstanding(): number {
    return (
      this.countHeld +
      this.reservations
        .filter((r) => (r.state === 'armed' || r.state === 'disarmed') && this.live(r))
        .reduce((sum, r) => sum + r.estimate, 0)
    );
  }
  net(): number {
    return CAPACITY - this.debtAtStart - this.outstanding() - this.spent;
  }
  record(r: ReservationModel, actual: number): void {
    this.consumed += actual;
    this.spent += this.live(r) ? actual : Math.max(0, actual - r.estimate);
    r.state = 'recorded';
    const overCap = -this.net() - this.maxDebt;
    if (overCap > 0) {
      this.forgiven += overCap;
      this.spent -= overCap;
    }
  }
  refill(): void {
    // Under carry the outstanding reservations move into the new epoch: only the debt the
    // old epoch owes without them is brought along.
    const carried = this.policy === 'carry' ? this.outstanding() : 0;
    const debt = Math.max(0, -(this.net() + carried));
    this.epoch++;
    this.spent = 0;
    this.debtAtStart = debt;
    if (this.policy === 'reset') this.countHeld = 0;
  }
}

type TokenOp =
  | { op: 'reserve'; estimate: number }
  | { op: 'countReserve' | 'countRelease'; cost: number }
  | { op: 'record'; index: number; prompt: number; completion: number }
  | { op: 'dispose' | 'disarmRefund'; index: number }
  | { op: 'refill' };

const tokenOp: fc.Arbitrary<TokenOp> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('reserve' as const), estimate: amount }), weight: 3 },
  {
    arbitrary: fc.record({
      op: fc.constant('record' as const),
      index: fc.nat(20),
      prompt: fc.nat(40),
      completion: fc.nat(40),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      op: fc.constantFrom('dispose', 'disarmRefund' as const),
      index: fc.nat(20),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      op: fc.constantFrom('countReserve', 'countRelease' as const),
      cost: amount,
    }),
    weight: 2,
  },
  { arbitrary: fc.constant({ op: 'refill' as const }), weight: 1 },
);

describe('AtomicTokenBudget against a model', () => {
  it('agrees on results, availability, debt and consumption after each operation', () => {
    fc.assert(
      fc.property(
        policy,
        fc.oneof(fc.constant(Number.POSITIVE_INFINITY), fc.nat(30)),
        fc.array(tokenOp, { maxLength: 60, size: 'max' }),
        (refillPolicy, maxDebt, ops) => {
          const real = new AtomicTokenBudget(CAPACITY, {
            refillPolicy,
            maxDebt,
            leakBackstop: false,
          });
          const model = new TokenModel(refillPolicy, maxDebt);
          const handles: TokenReservation[] = [];
          for (const step of ops) {
            switch (step.op) {
              case 'reserve': {
                const expected = step.estimate <= Math.max(0, model.net());
                const r = real.tryReserveTokensSync(step.estimate);
                expect(r !== null).toBe(expected);
                if (r) {
                  handles.push(r);
                  model.reservations.push({
                    estimate: step.estimate,
                    epoch: model.epoch,
                    state: 'armed',
                  });
                }
                break;
              }
              case 'record': {
                const r = handles[step.index];
                const m = model.reservations[step.index];
                if (!r || !m) break;
                const recordable = m.state === 'armed' || m.state === 'disarmed';
                let code: string | undefined;
                try {
                  real.recordUsageSync(r, step.prompt, step.completion);
                } catch (error) {
                  code = BudgetError.isInstance(error) ? error.code : 'other';
                }
                expect(code).toBe(recordable ? undefined : 'ALREADY_SETTLED');
                if (recordable) model.record(m, step.prompt + step.completion);
                break;
              }
              case 'dispose':
              case 'disarmRefund': {
                const r = handles[step.index];
                const m = model.reservations[step.index];
                if (!r || !m) break;
                if (step.op === 'dispose') {
                  r[Symbol.dispose]();
                  if (m.state === 'armed') m.state = 'refunded';
                } else {
                  const refund = r.disarm();
                  expect(refund !== null).toBe(m.state === 'armed');
                  if (refund) {
                    m.state = 'disarmed';
                    refund();
                    m.state = 'refunded';
                  }
                }
                break;
              }
              case 'countReserve': {
                const expected = step.cost <= Math.max(0, model.net());
                expect(real.tryReserveSync(step.cost)).toBe(expected);
                if (expected) model.countHeld += step.cost;
                break;
              }
              case 'countRelease': {
                const accepted = Math.min(step.cost, model.countHeld);
                model.overReleased += step.cost - accepted;
                model.countHeld -= accepted;
                real.releaseSync(step.cost);
                break;
              }
              case 'refill':
                model.refill();
                real.refill();
                break;
            }
            expect(real.overReleased()).toBe(model.overReleased);
            expect(real.available()).toBe(Math.max(0, model.net()));
            expect(real.debt()).toBe(Math.max(0, -model.net()));
            expect(real.tokensConsumedSync()).toBe(model.consumed);
            expect(real.forgivenDebt()).toBe(model.forgiven);
            expect(real.reserved()).toBe(model.outstanding());
            expect(real.available()).toBeLessThanOrEqual(CAPACITY);
            expect(real.debt()).toBeLessThanOrEqual(maxDebt);
          }
        },
      ),
      { numRuns: 1_000 },
    );
  });
});
