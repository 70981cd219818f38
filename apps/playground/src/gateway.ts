import {
  type Coordinator,
  coordinator,
  type HierarchyRoot,
  hierarchy,
  intervalRefill,
  type RefillingGuard,
  type TokenBucket,
  tokenBucket,
} from '@budgetry/compose';
import type { FakeClock } from '@budgetry/testing';
import type { Attachments } from './attachments.js';
import { localMidnights, TokenAudit } from './audit.js';
import type { Backend, BackendBudget, CoreTokenBudget } from './backend.js';
import type { BudgetView } from './result.js';
import type { BudgetName } from './stats.js';

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
export type Fault =
  /** Tokens per minute forgive overage instead of owing it (the Rust reference's bug). */
  | 'forgive-debt'
  /** Tokens per minute refill every 30 seconds: twice the capacity a minute should allow. */
  | 'early-refill';

/** The gateway's two token budgets, each on the backend with its own auditor. */
export type MeterName = 'tokens' | 'dollars';

/**
 * One generation of a token budget (tokens per minute or dollars per day): the budget on the
 * backend, on its refill schedule, and the auditor that mirrors it. A capacity change builds a
 * new generation (see `CapacityChanges`); the old one keeps settling its calls in flight.
 */
export interface Meter {
  readonly name: MeterName;
  readonly capacity: number;
  readonly budget: BackendBudget;
  readonly audit: TokenAudit;
}

/** Everything the gateway is made of. */
export interface Gateway {
  readonly requests: TokenBucket;
  readonly tenants: HierarchyRoot;
  readonly tenantsPerMinute: RefillingGuard<HierarchyRoot>;
  /** The current generations of the two token budgets. */
  tokens: Meter;
  dollars: Meter;
  /** Every generation, oldest first (the current one last). */
  readonly generations: Meter[];
  /** Stops the schedules and closes the backend. */
  close(): Promise<void>;
}

/**
 * Builds the gateway: requests per minute (a token bucket), tokens per minute (a token budget
 * on the backend, refilled lazily each minute) and dollars per local day (a token budget on the
 * backend, refilled at midnight in {@link TIME_ZONE}); each dispatch also charges the tenant's
 * node of a hierarchy (a budget per tenant inside a global one, refilled every minute by a
 * timer on the simulated clock). {@link llmCoordinator} puts them under one coordinator.
 *
 * @param backend - where the two token budgets live.
 * @param clock - the simulated clock.
 * @param fault - a fault to inject (tests only).
 * @param attached - what `--otel` wraps the token budgets in, if anything.
 * @returns the gateway.
 */
export function buildGateway(
  backend: Backend,
  clock: FakeClock,
  fault?: Fault,
  attached?: Attachments,
): Gateway {
  const wrap = (name: MeterName) =>
    attached && ((budget: CoreTokenBudget) => attached.tokenBudget(name, budget));
  const tokens = buildMeter('tokens', LIMITS.tokensPerMinute, backend, {
    fault,
    wrap: wrap('tokens'),
    clock,
  });
  const dollars = buildMeter('dollars', LIMITS.usdMicrosPerDay, backend, {
    wrap: wrap('dollars'),
    clock,
  });
  const requests = tokenBucket({
    burst: LIMITS.requestBurst,
    rate: LIMITS.requestsPerSecond,
    per: 1_000,
    clock,
  });
  const tenants = hierarchy({
    capacity: LIMITS.tenantsPerMinute,
    children: { capacity: LIMITS.tenantPerMinute },
  });
  const tenantsPerMinute = intervalRefill(tenants, { intervalMs: 60_000, clock });
  const generations = [tokens, dollars];
  return {
    requests,
    tenants,
    tenantsPerMinute,
    tokens,
    dollars,
    generations,
    close: async () => {
      tenantsPerMinute.close();
      for (const meter of generations) meter.budget.retire();
      await backend.close();
    },
  };
}

/**
 * A generation of one token budget, starting now: tokens per minute refill lazily a minute
 * from now and every minute after (build it on a minute boundary), dollars per day at each
 * local midnight.
 *
 * @param name - which budget.
 * @param capacity - its capacity per epoch.
 * @param backend - where it lives (on the simulated clock).
 * @param options - a fault to inject (`fault`, tests only; tokens per minute only), its name in
 * the report and the checks (`label`), what wraps the budget before its schedule (`wrap`,
 * `--otel-shadow`), and the simulated clock its auditor reads the schedule's boundaries on.
 * @returns the meter.
 */
export function buildMeter(
  name: MeterName,
  capacity: number,
  backend: Backend,
  options: {
    readonly fault?: Fault | undefined;
    readonly label?: string;
    readonly wrap?: ((budget: CoreTokenBudget) => CoreTokenBudget) | undefined;
    readonly clock: FakeClock;
  },
): Meter {
  const { fault, label = METER_LABELS[name], wrap, clock } = options;
  // The auditor knows the schedule on its own: a refill before its boundary breaks the check.
  const from = clock.now();
  const audit = new TokenAudit(label, capacity, {
    now: () => clock.now(),
    earliest:
      name === 'tokens' ? (epoch) => from + epoch * 60_000 : localMidnights(from, TIME_ZONE),
    timeZone: TIME_ZONE,
  });
  const early = fault === 'early-refill' && name === 'tokens' ? { everyMs: 30_000 } : {};
  const budget = backend.tokenBudget(capacity, {
    name: METER_LABELS[name],
    observer: audit.observe,
    schedule:
      name === 'tokens' ? { every: 'minute', ...early } : { every: 'day', timeZone: TIME_ZONE },
    wrap,
    // The reference's bug: overage forgiven instead of owed. The auditor expects exact debt.
    ...(fault === 'forgive-debt' && name === 'tokens' ? { maxDebt: 0 } : {}),
  });
  return { name, capacity, budget, audit };
}

/** The two token budgets' names in the report. */
export const METER_LABELS: Readonly<Record<MeterName, string>> = {
  tokens: 'tokens/min',
  dollars: 'dollars/day',
};

/**
 * The coordinator over the gateway's current budgets: one all-or-nothing reservation of a
 * request, tokens and dollars.
 *
 * @param g - the gateway.
 * @param requests - the requests dimension (the gateway's bucket, or a traced view of it).
 * @returns the coordinator (each tenant's adds its node: `with({ tenant })`).
 */
export function llmCoordinator(
  g: Gateway,
  requests: TokenBucket = g.requests,
): Coordinator<Exclude<Dimension, 'tenant'>> {
  return coordinator({
    requests,
    tokens: g.tokens.budget.dimension,
    dollars: g.dollars.budget.dimension,
  });
}

/**
 * Each budget as the live views show it, the token budgets' current generations as last read
 * from their backend.
 *
 * @param g - the gateway.
 * @returns requests, tokens, dollars and all tenants, in that order.
 */
export function budgetViews(g: Gateway): BudgetView[] {
  const tokens = g.tokens.budget.reading();
  const dollars = g.dollars.budget.reading();
  return [
    view('requests', g.requests.available(), LIMITS.requestBurst, 0),
    view('tokens', tokens.available, g.tokens.capacity, tokens.debt),
    view('dollars', dollars.available, g.dollars.capacity, dollars.debt),
    view('global', LIMITS.tenantsPerMinute - g.tenants.held(), LIMITS.tenantsPerMinute, 0),
  ];
}

function view(name: BudgetName, available: number, capacity: number, debt: number): BudgetView {
  const utilization = debt > 0 ? 1 : 1 - Math.max(0, available) / capacity;
  return { name, available, capacity, debt, utilization, refills: 0 };
}
