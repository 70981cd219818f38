import {
  type Coordinator,
  coordinator,
  type Decision,
  type Dispatch,
  hierarchy,
  lazyRefill,
  type SettleReport,
  tokenBucket,
  type Usage,
} from '@budgetry/compose';
import {
  AtomicBudget,
  AtomicTokenBudget,
  type PermitBudgetGuard,
  type TokenBudget,
} from '@budgetry/core';
import { describe, expectTypeOf, test } from 'vitest';

declare const remote: PermitBudgetGuard;
declare const remoteTokens: TokenBudget;

type Dim = 'requests' | 'tokens';
const llm = coordinator({
  requests: tokenBucket({ burst: 60, rate: 1 }),
  tokens: lazyRefill(new AtomicTokenBudget(90_000), { intervalMs: 60_000 }),
});

describe('coordinator: usage is keyed by the dimension names', () => {
  test('the coordinator is typed by its dimension names', () => {
    expectTypeOf(llm).toEqualTypeOf<Coordinator<Dim>>();
    expectTypeOf(llm.dimensions).toEqualTypeOf<Dim[]>();
    expectTypeOf<Usage<Dim>>().toEqualTypeOf<{
      readonly requests?: number;
      readonly tokens?: number;
    }>();
  });

  test('a reservation takes known dimensions only and names the one that denied', () => {
    const decision = llm.tryReserveSync({ requests: 1, tokens: 1_200 });
    expectTypeOf(decision).toEqualTypeOf<Decision<Dim, Dispatch<Dim>>>();
    if (!decision.ok) expectTypeOf(decision.deniedBy).toEqualTypeOf<Dim>();
    // @ts-expect-error 'dollars' is not a dimension
    llm.tryReserveSync({ requests: 1, dollars: 3 });
    // @ts-expect-error 'dollars' is not a dimension
    void llm.tryReserve({ dollars: 3 });
  });

  test('settle takes known dimensions only and reports a shortfall by dimension', async () => {
    const decision = llm.tryReserveSync({ requests: 1, tokens: 1_200 });
    if (!decision.ok) return;
    const dispatch = decision.permit;
    expectTypeOf(dispatch.estimate).toEqualTypeOf<Usage<Dim>>();
    const report = dispatch.settleSync({ tokens: 950 });
    expectTypeOf(report).toEqualTypeOf<SettleReport<Dim>>();
    expectTypeOf(report.shortfall).toEqualTypeOf<Usage<Dim>>();
    expectTypeOf(await dispatch.settle({ tokens: 950 })).toEqualTypeOf<SettleReport<Dim>>();
    // @ts-expect-error 'dollars' is not a dimension
    dispatch.settleSync({ tokens: 950, dollars: 2 });
    // @ts-expect-error 'dollars' is not a dimension
    await dispatch.settle({ dollars: 2 });
  });

  test('run: estimate, dispatch, usage and result are keyed by the dimensions', async () => {
    const out = await llm.run({ requests: 1, tokens: 1_200 }, async (signal, dispatch) => {
      expectTypeOf(signal).toEqualTypeOf<AbortSignal | undefined>();
      expectTypeOf(dispatch).toEqualTypeOf<Dispatch<Dim>>();
      return { value: 'answer', usage: { tokens: 950 } };
    });
    if (out.ok) {
      expectTypeOf(out.value).toEqualTypeOf<string>();
      expectTypeOf(out.report).toEqualTypeOf<SettleReport<Dim>>();
    } else {
      expectTypeOf(out.deniedBy).toEqualTypeOf<Dim>();
      expectTypeOf(out.retryAfterMs).toEqualTypeOf<number | undefined>();
    }

    // @ts-expect-error 'dollars' is not a dimension
    await llm.run({ requests: 1, dollars: 3 }, async () => ({ value: 1 }));
    // @ts-expect-error usage naming no dimension at all
    await llm.run({ requests: 1 }, async () => ({ value: 1, usage: { dollars: 3 } }));
    // Not asserted: usage naming a dimension *and* an unknown key ({ tokens: 950, dollars: 3 })
    // compiles today, since fn's return type is inferred and gets no excess-property check.
  });

  test('with() adds dimensions to the key type', () => {
    const tenants = hierarchy({ capacity: 1_000, children: { capacity: 10 } });
    const perTenant = llm.with({ tenant: tenants.child('acme') });
    expectTypeOf(perTenant).toEqualTypeOf<Coordinator<Dim | 'tenant'>>();
    perTenant.tryReserveSync({ requests: 1, tenant: 1_200 });
    // @ts-expect-error 'tenant' is a dimension of perTenant only
    llm.tryReserveSync({ tenant: 1_200 });
  });
});

describe('coordinator: dimensions are guards or token budgets', () => {
  test('remote guards and token budgets are accepted', () => {
    expectTypeOf(coordinator({ rows: new AtomicBudget(1), remote, remoteTokens })).toEqualTypeOf<
      Coordinator<'rows' | 'remote' | 'remoteTokens'>
    >();
  });

  test('anything else is refused', () => {
    // @ts-expect-error a { capacity } spec is not a budget
    coordinator({ rows: { capacity: 10 } });
    // @ts-expect-error a guard without tryAcquire cannot be part of a dispatch
    coordinator({ rows: { tryReserve: async () => true, release: async () => {} } });
  });
});
