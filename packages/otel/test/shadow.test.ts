import { coordinator, waiting } from '@budgetry/compose';
import {
  AtomicBudget,
  AtomicTokenBudget,
  BudgetError,
  TokenReservation,
  tokenBucket,
} from '@budgetry/core';
import { Auditor, FakeClock } from '@budgetry/testing';
import { describe, expect, it } from 'vitest';
import { type ShadowEvent, shadow } from '../src/index.js';

function shadowed<B extends object>(budget: B) {
  const events: ShadowEvent[] = [];
  return { events, budget: shadow(budget, { name: 'policy', observer: (e) => events.push(e) }) };
}

describe('shadow', () => {
  it('grants what the policy denies on a phantom permit, charging the policy only what it admitted', () => {
    const policy = new AtomicBudget(10);
    const audit = new Auditor({ capacity: 10 });
    const { budget, events } = shadowed(policy);
    const real = budget.tryAcquireSync(8)!;
    const a = audit.grant(8)!;
    const passed = budget.tryAcquireSync(5);
    expect(audit.grant(5)).toBeUndefined(); // the auditor agrees it is a denial
    expect(passed).not.toBeNull();
    expect(passed!.state).toBe('held');
    expect(events).toEqual([{ type: 'pass', shadow: 'policy', cost: 5, reason: 'denied' }]);
    expect(policy.available()).toBe(audit.available);
    expect(passed!.commitSync(3)).toBe(true);
    expect(passed!.commitSync(3)).toBe(false); // settles once
    expect(passed!.releaseSync()).toBe(false);
    expect(events.slice(1)).toEqual([{ type: 'pass-settle', shadow: 'policy', cost: 5, used: 3 }]);
    real.commitSync(6);
    audit.commit(a, 6);
    expect(policy.available()).toBe(audit.available);
    expect(policy.available()).toBe(4);
  });

  it('keeps a token policy’s consumption and debt exact, counting passed usage beside it', () => {
    const policy = new AtomicTokenBudget(1_000);
    const audit = new Auditor({ capacity: 1_000 });
    const { budget, events } = shadowed(policy);
    const r1 = budget.tryReserveTokensSync(900)!;
    const h1 = audit.grant(900)!;
    const r2 = budget.tryReserveTokensSync(300)!; // denied by the policy
    expect(r2).toBeInstanceOf(TokenReservation);
    budget.recordUsageSync(r2, 200, 150); // overran its estimate: still only counted
    budget.recordUsageSync(r1, 900, 200); // 200 over: owed by the policy
    audit.record(h1, 900, 200);
    expect(policy.snapshot()).toMatchObject({
      available: audit.available,
      debt: audit.debt,
      consumed: audit.consumed,
    });
    expect(policy.debt()).toBe(100);
    expect(events).toEqual([
      { type: 'pass', shadow: 'policy', cost: 300, reason: 'denied' },
      { type: 'pass-settle', shadow: 'policy', cost: 300, used: 350 },
    ]);
    expect(() => budget.recordUsageSync(r2, 1, 1)).toThrow(
      expect.objectContaining({ code: 'ALREADY_SETTLED' }),
    );
  });

  it('refunds a phantom reservation disposed unrecorded as a pass that used nothing', async () => {
    const { budget, events } = shadowed(new AtomicTokenBudget(10));
    {
      using r = (await budget.tryReserveTokens(50))!;
      expect(r.armed).toBe(true);
    }
    expect(events.at(-1)).toEqual({ type: 'pass-settle', shadow: 'policy', cost: 50, used: 0 });
  });

  it('returns count-API units the policy granted first, then passed ones, and hands excess to the policy', () => {
    const policy = new AtomicBudget(10);
    const overReleases: number[] = [];
    policy.subscribe((e) => {
      if (e.type === 'over-release') overReleases.push(e.excess);
    });
    const { budget, events } = shadowed(policy);
    expect(budget.tryReserveSync(8)).toBe(true); // the policy's
    expect(budget.tryReserveSync(5)).toBe(true); // passed
    budget.releaseSync(10); // 8 to the policy, 2 of the passed
    expect(policy.available()).toBe(10);
    expect(events.at(-1)).toEqual({ type: 'pass-settle', shadow: 'policy', cost: 2, used: 0 });
    budget.releaseSync(5); // 3 passed left, 2 more than was ever held: the policy reports them
    expect(overReleases).toEqual([2]);
    expect(policy.overReleased()).toBe(2);
  });

  it('splits count-API releases that run at once as it splits them one after another', async () => {
    const policy = new AtomicBudget(10);
    const { budget, events } = shadowed(policy);
    expect(budget.tryReserveSync(4)).toBe(true); // the policy's
    expect(budget.tryReserveSync(8)).toBe(true); // passed
    await Promise.all([budget.release(4), budget.release(4)]); // the policy's 4, then 4 passed
    expect(policy.overReleased()).toBe(0);
    expect(policy.available()).toBe(10);
    expect(events.slice(1)).toEqual([{ type: 'pass-settle', shadow: 'policy', cost: 4, used: 0 }]);
    budget.releaseSync(4); // the passed 4 left: nothing for the policy
    expect(policy.overReleased()).toBe(0);
    expect(events.at(-1)).toEqual({ type: 'pass-settle', shadow: 'policy', cost: 4, used: 0 });
  });

  it('rethrows a strict policy’s OVER_RELEASE, changing nothing', () => {
    const policy = new AtomicBudget(10, { strict: true });
    const { budget } = shadowed(policy);
    budget.tryReserveSync(4);
    expect(() => budget.releaseSync(6)).toThrow(expect.objectContaining({ code: 'OVER_RELEASE' }));
    budget.releaseSync(4);
    expect(policy.available()).toBe(10);
  });

  it('lets the work through when the policy fails, and reports the failure', async () => {
    const failing = new AtomicBudget(10);
    const down = new BudgetError({ code: 'BACKEND', message: 'redis down' });
    failing.tryAcquireSync = () => {
      throw down;
    };
    failing.tryAcquire = async () => {
      throw down;
    };
    const { budget, events } = shadowed(failing);
    expect(budget.tryAcquireSync(3)).not.toBeNull();
    expect(await budget.tryAcquire(3)).not.toBeNull();
    expect(events).toEqual([
      { type: 'pass', shadow: 'policy', cost: 3, reason: 'failed', error: down },
      { type: 'pass', shadow: 'policy', cost: 3, reason: 'failed', error: down },
    ]);
  });

  it('rethrows a policy’s verdict that the caller’s input is invalid, letting nothing through', () => {
    const picky = {
      tryReserveSync: (cost: number) => {
        throw new BudgetError({ code: 'INVALID_ARGUMENT', message: `no ${cost} here` });
      },
      releaseSync: () => {},
    };
    const { budget, events } = shadowed(picky);
    expect(() => budget.tryReserveSync(3)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(events).toEqual([]);
  });

  it.each([
    ['a negative cost', -1],
    ['a fraction', 1.5],
    ['NaN', Number.NaN],
    ['a string', '3'],
    ['a bigint', 3n],
  ])('rejects %s with INVALID_AMOUNT, changing nothing and reporting nothing', async (_, bad) => {
    const policy = new AtomicTokenBudget(10);
    const { budget, events } = shadowed(policy);
    for (const call of [
      () => budget.tryReserveTokensSync(bad as never),
      () => budget.tryReserveSync(bad as never),
      () => budget.releaseSync(bad as never),
    ]) {
      expect(call).toThrow(expect.objectContaining({ code: 'INVALID_AMOUNT' }));
    }
    await expect(budget.tryReserveTokens(bad as never)).rejects.toMatchObject({
      code: 'INVALID_AMOUNT',
    });
    expect(events).toEqual([]);
    expect(policy.snapshot()).toMatchObject({ available: 10, reserved: 0, overReleased: 0 });
  });

  it('rejects recording another budget’s reservation, as the policy would', () => {
    const other = new AtomicTokenBudget(10);
    const { budget } = shadowed(new AtomicTokenBudget(10));
    const foreign = other.tryReserveTokensSync(5)!;
    expect(() => budget.recordUsageSync(foreign, 1, 1)).toThrow(
      expect.objectContaining({ code: 'FOREIGN_HANDLE' }),
    );
    expect(other.available()).toBe(5);
  });

  it('never waits in acquire: a full policy lets the work through at once', async () => {
    const policy = waiting(new AtomicBudget(1));
    const { budget, events } = shadowed(policy);
    const first = await budget.acquire(1);
    const second = await budget.acquire(1); // would wait when enforced
    const huge = await budget.acquire(5); // can never fit: a denial, let through
    expect(events.map((e) => e.type === 'pass' && e.cost)).toEqual([1, 5]);
    second.releaseSync();
    huge.releaseSync();
    first.releaseSync();
    expect(policy.available()).toBe(1);
    const aborted = AbortSignal.abort();
    await expect(budget.acquire(1, { signal: aborted })).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it.each([
    ['a negative timeout', [1, { timeoutMs: -1 }]],
    ['a priority that is not a number', [1, { priority: 'x' }]],
    ['options that are not an object', [1, 'junk']],
    ['null options', [1, null]],
    ['a signal that is not one', [1, { signal: {} }]],
  ])('rejects %s in acquire as the policy does, changing nothing', async (_, args) => {
    const policy = waiting(new AtomicBudget(10));
    const { budget, events } = shadowed(policy);
    const acquire = (b: typeof policy) => b.acquire(...(args as [number]));
    await expect(acquire(policy)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(acquire(budget)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(policy.available()).toBe(10);
    expect(events).toEqual([]);
  });

  it('lets a denial through when the policy’s retry hint throws', () => {
    const policy = tokenBucket({ burst: 1, rate: 1, clock: new FakeClock() });
    policy.retryAfterMs = () => {
      throw new BudgetError({ code: 'BACKEND', message: 'down' });
    };
    const { budget, events } = shadowed(policy);
    expect(budget.tryAcquireSync(1)).not.toBeNull();
    expect(budget.tryAcquireSync(1)).not.toBeNull(); // denied, let through
    expect(events).toEqual([{ type: 'pass', shadow: 'policy', cost: 1, reason: 'denied' }]);
  });

  it('refuses a coordinator, naming shadowCoordinator', () => {
    const llm = coordinator({ requests: new AtomicBudget(1) });
    expect(() => shadow(llm, { name: 'p' })).toThrow(
      expect.objectContaining({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(/shadowCoordinator/),
      }),
    );
  });

  it('enforces some dimensions of a coordinator and shadows others', async () => {
    const requests = new AtomicBudget(1);
    const policy = new AtomicTokenBudget(100);
    const { budget: tokens, events } = shadowed(policy);
    const llm = coordinator({ requests, tokens });
    const out = await llm.run({ requests: 1, tokens: 500 }, async () => ({
      value: 'ran',
      usage: { tokens: 420 },
    }));
    expect(out).toMatchObject({ ok: true, value: 'ran' });
    expect(events.map((e) => e.type)).toEqual(['pass', 'pass-settle']);
    expect(policy.available()).toBe(100);
    expect(requests.available()).toBe(0); // requests are enforced and were charged
    const denied = await llm.run({ requests: 1, tokens: 1 }, async () => ({ value: 'never' }));
    expect(denied).toEqual({ ok: false, deniedBy: 'requests' });
  });

  it('forwards every other member, so the shadow reads as the policy', () => {
    const policy = new AtomicBudget(10, { refillPolicy: 'carry' });
    const { budget } = shadowed(policy);
    budget.tryReserveSync(3);
    expect(budget.capacity).toBe(10);
    expect(budget.available()).toBe(7);
    expect(budget.capabilities).toBe(policy.capabilities);
    budget.refill();
    expect(policy.epoch).toBe(1);
  });

  it('rejects what is not a budget, and bad options, with INVALID_ARGUMENT', () => {
    for (const [target, options] of [
      [{}, { name: 'x' }],
      [null, { name: 'x' }],
      [new AtomicBudget(1), { name: '' }],
      [new AtomicBudget(1), { name: 'x', observer: 'log' }],
      [new AtomicBudget(1), undefined],
    ] as const) {
      expect(() => shadow(target as never, options as never)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
  });
});
