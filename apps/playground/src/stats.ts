import type { TenantKind } from './tenants.js';

/** The gateway's shared budgets: requests, tokens and dollars per period, and all tenants' tokens together. */
export const BUDGETS = ['requests', 'tokens', 'dollars', 'global'] as const;
/** One of {@link BUDGETS}. */
export type BudgetName = (typeof BUDGETS)[number];

/** What can turn a call away: a gateway budget, the tenant's own budget, or all tenants'. */
export const DENIALS = ['requests', 'tokens', 'dollars', 'tenant', 'global'] as const;
/** One of {@link DENIALS}. */
export type DenialKind = (typeof DENIALS)[number];

/** What happened to one tenant's calls in one interval (or, summed, in the whole run). */
export interface TenantCounts {
  /** New calls. */
  offered: number;
  /** Calls admitted, at once or after waiting. */
  admitted: number;
  /** Of those, admitted after waiting. */
  afterWait: number;
  /** New calls whose first attempt was denied, by the budget that denied. */
  denied: Record<DenialKind, number>;
  /** Of the denied calls, those whose callers waited for budget. */
  queued: number;
  /** Waiting callers whose deadline passed (or who were still waiting when the run ended). */
  timedOut: number;
  /** Calls that finished and were settled with the provider's usage. */
  completed: number;
  /** Calls that failed before using anything: refunded whole. */
  failed: number;
  /** Calls aborted midway: settled with the usage up to the abort. */
  aborted: number;
  /** Tokens the provider reported for this tenant's settled calls. */
  tokens: number;
  /** Micro-dollars those calls cost. */
  usdMicros: number;
  /** Tokens reported above the estimates (overage, owed as debt). */
  overage: number;
}

/** One budget's figures in one interval. */
export interface BudgetCounts {
  /** What was charged: requests admitted, tokens and micro-dollars reported. */
  used: number;
  /** Calls it denied. */
  denials: number;
  /** Highest utilization seen (after each simulated step). */
  peakUtilization: number;
  /** Highest debt seen. */
  peakDebt: number;
  /** Refills (new epochs). */
  refills: number;
}

/** One simulated minute. */
export interface Interval {
  /** 1-based. */
  readonly minute: number;
  /** Wall-clock start in the scenario's time zone, `hh:mm`. */
  readonly start: string;
  readonly tenants: Record<string, TenantCounts>;
  readonly budgets: Record<BudgetName, BudgetCounts>;
}

/** A refill as it happened. */
export interface RefillEvent {
  /** Simulated time, `hh:mm:ss` in the scenario's zone. */
  readonly at: string;
  readonly budget: BudgetName;
  /** The new epoch. */
  readonly epoch: number;
  /** Debt the new epoch started by paying (token budgets). */
  readonly debtPaid: number;
}

/** A tenant as the report shows it. */
export interface TenantInfo {
  readonly name: string;
  readonly kind: TenantKind;
}

/**
 * No denials yet.
 *
 * @returns a fresh record, 0 for every kind.
 */
export function emptyDenials(): Record<DenialKind, number> {
  return { requests: 0, tokens: 0, dollars: 0, tenant: 0, global: 0 };
}

/**
 * Empty counters.
 *
 * @returns a fresh record.
 */
export function emptyTenantCounts(): TenantCounts {
  return {
    offered: 0,
    admitted: 0,
    afterWait: 0,
    denied: emptyDenials(),
    queued: 0,
    timedOut: 0,
    completed: 0,
    failed: 0,
    aborted: 0,
    tokens: 0,
    usdMicros: 0,
    overage: 0,
  };
}

/**
 * Empty budget figures, one per budget.
 *
 * @returns a fresh record.
 */
export function emptyBudgetCounts(): Record<BudgetName, BudgetCounts> {
  const one = (): BudgetCounts => ({
    used: 0,
    denials: 0,
    peakUtilization: 0,
    peakDebt: 0,
    refills: 0,
  });
  return { requests: one(), tokens: one(), dollars: one(), global: one() };
}

/**
 * Denials of every kind together.
 *
 * @param counts - a tenant's counters.
 * @returns the sum.
 */
export function totalDenied(counts: TenantCounts): number {
  let sum = 0;
  for (const kind of DENIALS) sum += counts.denied[kind];
  return sum;
}

/**
 * Sums tenant counters (intervals into a total).
 *
 * @param all - the counters to add.
 * @returns their sum.
 */
export function sumTenantCounts(all: readonly TenantCounts[]): TenantCounts {
  const sum = emptyTenantCounts();
  for (const c of all) {
    for (const key of Object.keys(c) as (keyof TenantCounts)[]) {
      if (key === 'denied') {
        for (const kind of DENIALS) sum.denied[kind] += c.denied[kind];
      } else {
        sum[key] += c[key];
      }
    }
  }
  return sum;
}
