import {
  type Coordinator,
  calendarRefill,
  coordinator,
  type HierarchyRoot,
  hierarchy,
  intervalRefill,
  lazyRefill,
  type RefillingGuard,
  type RefillingTokenBudget,
  type TokenBucket,
  tokenBucket,
} from '@budgetry/compose';
import type { FakeClock } from '@budgetry/testing';
import { TokenAudit } from './audit.js';
import type { Backend, CoreTokenBudget } from './backend.js';

/** The gateway's limits. */
export const LIMITS = {
  /** Requests per minute: a token bucket, 2 a second with bursts of 20. */
  requestsPerSecond: 2,
  requestBurst: 20,
  /** The provider's tokens per minute. */
  tokensPerMinute: 50_000,
  /** Dollars per local day, in micro-dollars ($1.50). */
  usdMicrosPerDay: 1_500_000,
  /** Tokens per minute for all tenants together (the global budget) and for each tenant. */
  tenantsPerMinute: 56_000,
  tenantPerMinute: 20_000,
} as const;

/** Prices per token, in micro-dollars ($3 and $15 per million). */
export const PRICE = { prompt: 3, completion: 15 } as const;

/** The scenario's time zone: the daily dollar cap refills at local midnight there. */
export const TIME_ZONE = 'America/New_York';

/** A coordinator dimension: the names the gateway charges. */
export type Dimension = 'requests' | 'tokens' | 'dollars' | 'tenant';

/** Faults a test can inject to see the conservation check fail. */
export type Fault = 'forgive-debt';

/** Everything the gateway is made of. */
export interface Gateway {
  readonly requests: TokenBucket;
  readonly tokens: CoreTokenBudget;
  readonly dollars: CoreTokenBudget;
  readonly tokensPerMinute: RefillingTokenBudget<CoreTokenBudget>;
  readonly dollarsPerDay: RefillingTokenBudget<CoreTokenBudget>;
  readonly tenants: HierarchyRoot;
  readonly tenantsPerMinute: RefillingGuard<HierarchyRoot>;
  readonly llm: Coordinator<Exclude<Dimension, 'tenant'>>;
  readonly audits: { readonly tokens: TokenAudit; readonly dollars: TokenAudit };
  close(): void;
}

/**
 * Builds the gateway: one coordinator over requests per minute (a token bucket), tokens per
 * minute (a token budget on the backend, refilled lazily each minute) and dollars per local
 * day (a token budget on the backend, refilled at midnight in {@link TIME_ZONE}); each
 * dispatch also charges the tenant's node of a hierarchy (a budget per tenant inside a
 * global one, refilled every minute by a timer on the simulated clock).
 *
 * @param backend - where the two token budgets live.
 * @param clock - the simulated clock.
 * @param fault - a fault to inject (tests only).
 * @returns the gateway.
 */
export function buildGateway(backend: Backend, clock: FakeClock, fault?: Fault): Gateway {
  const audits = {
    tokens: new TokenAudit('tokens/min', LIMITS.tokensPerMinute),
    dollars: new TokenAudit('dollars/day', LIMITS.usdMicrosPerDay),
  };
  const tokens = backend.tokenBudget(LIMITS.tokensPerMinute, {
    name: 'tokens/min',
    observer: audits.tokens.observe,
    // The reference's bug: overage forgiven instead of owed. The auditor expects exact debt.
    ...(fault === 'forgive-debt' ? { maxDebt: 0 } : {}),
  });
  const dollars = backend.tokenBudget(LIMITS.usdMicrosPerDay, {
    name: 'dollars/day',
    observer: audits.dollars.observe,
  });
  const requests = tokenBucket({
    burst: LIMITS.requestBurst,
    rate: LIMITS.requestsPerSecond,
    per: 1_000,
    clock,
  });
  const tokensPerMinute = lazyRefill(tokens, { intervalMs: 60_000, clock });
  const dollarsPerDay = calendarRefill(dollars, { unit: 'day', timeZone: TIME_ZONE, clock });
  const tenants = hierarchy({
    capacity: LIMITS.tenantsPerMinute,
    children: { capacity: LIMITS.tenantPerMinute },
  });
  const tenantsPerMinute = intervalRefill(tenants, { intervalMs: 60_000, clock });
  const llm = coordinator({ requests, tokens: tokensPerMinute, dollars: dollarsPerDay });
  return {
    requests,
    tokens,
    dollars,
    tokensPerMinute,
    dollarsPerDay,
    tenants,
    tenantsPerMinute,
    llm,
    audits,
    close: () => {
      tenantsPerMinute.close();
      tokensPerMinute.close();
      dollarsPerDay.close();
      backend.close();
    },
  };
}
