import {
  type AsyncTokenGuard,
  lazyRefill,
  type SyncTokenGuard,
  type SyncTokenPermit,
  type TokenPermit,
  tokenGuard,
} from '@budgetry/compose';
import {
  AtomicBudget,
  AtomicTokenBudget,
  type PermitBudgetGuard,
  type SyncBudgetGuard,
  type SyncTokenBudget,
  type TokenBudget,
  type TokenReservation,
} from '@budgetry/core';
import { describe, expectTypeOf, test } from 'vitest';

declare const syncTokens: SyncTokenBudget;
declare const remoteTokens: TokenBudget;

describe('tokenGuard: a synchronous token budget gives a SyncTokenGuard', () => {
  test('for AtomicTokenBudget, any SyncTokenBudget and a refilling token budget', () => {
    expectTypeOf(tokenGuard(new AtomicTokenBudget(1_000))).toEqualTypeOf<SyncTokenGuard>();
    expectTypeOf(tokenGuard(syncTokens)).toEqualTypeOf<SyncTokenGuard>();
    const tpm = lazyRefill(new AtomicTokenBudget(90_000), { intervalMs: 60_000 });
    expectTypeOf(tokenGuard(tpm)).toEqualTypeOf<SyncTokenGuard>();
  });

  test('its permits are synchronous and carry the reservation', () => {
    const guard = tokenGuard(new AtomicTokenBudget(1_000));
    expectTypeOf(guard).toExtend<SyncBudgetGuard>();
    expectTypeOf(guard.tokens).toEqualTypeOf<SyncTokenBudget>();
    const permit = guard.tryAcquireSync(100);
    expectTypeOf(permit).toEqualTypeOf<SyncTokenPermit | null>();
    expectTypeOf(permit!.reservation).toEqualTypeOf<TokenReservation>();
    expectTypeOf(permit!.releaseSync).returns.toEqualTypeOf<boolean>();
  });
});

describe('tokenGuard: an asynchronous token budget gives an AsyncTokenGuard', () => {
  test('the overload and its permits', async () => {
    const guard = tokenGuard(remoteTokens);
    expectTypeOf(guard).toEqualTypeOf<AsyncTokenGuard>();
    expectTypeOf(guard).toExtend<PermitBudgetGuard>();
    expectTypeOf(guard).not.toExtend<SyncBudgetGuard>();
    expectTypeOf(guard.tokens).toEqualTypeOf<TokenBudget>();
    expectTypeOf(await guard.tryAcquire(100)).toEqualTypeOf<TokenPermit | null>();
    // @ts-expect-error an AsyncTokenGuard has no synchronous API
    guard.tryAcquireSync(100);
  });

  test('a guard that is not a token budget is refused', () => {
    // @ts-expect-error an AtomicBudget is not a token budget
    tokenGuard(new AtomicBudget(10));
  });
});
