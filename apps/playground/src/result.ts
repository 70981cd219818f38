import type { Check } from './audit.js';
import type { OtelSummary } from './otel-summary.js';
import type { BudgetName, Interval, RefillEvent, TenantCounts, TenantInfo } from './stats.js';
import type { TenantKind } from './tenants.js';

/** One budget as the live view shows it. */
export interface BudgetView {
  readonly name: BudgetName;
  readonly available: number;
  readonly capacity: number;
  readonly debt: number;
  /** 0 … 1; 1 while in debt. */
  readonly utilization: number;
  /** Refills so far. */
  readonly refills: number;
}

/** One tenant as the live view shows it. */
export interface TenantView {
  readonly name: string;
  readonly kind: TenantKind;
  /** This simulated minute so far. */
  readonly counts: TenantCounts;
  /** Callers waiting for budget now. */
  readonly waiting: number;
  /** Calls admitted and not answered yet. */
  readonly inFlight: number;
  /** What the tenant's own budget holds this minute, and its capacity. */
  readonly budgetHeld: number;
  readonly budgetCapacity: number;
}

/** The state of a run at one instant: everything the live view draws. */
export interface Snapshot {
  readonly seed: number;
  readonly backend: string;
  /** Simulated wall-clock time, `hh:mm:ss` in {@link Snapshot.timeZone}. */
  readonly clock: string;
  readonly timeZone: string;
  /** The simulated minute running now, 1-based. */
  readonly minute: number;
  readonly minutes: number;
  /** 0 … 1. */
  readonly progress: number;
  readonly tenants: readonly TenantView[];
  readonly budgets: readonly BudgetView[];
  /** The latest refills, oldest first. */
  readonly refills: readonly RefillEvent[];
}

/** A whole run: what `--json` prints and the final report reads. */
export interface RunResult {
  readonly scenario: {
    readonly seed: number;
    readonly minutes: number;
    readonly backend: string;
    readonly timeZone: string;
    /** The simulated start, ISO 8601 (UTC). */
    readonly start: string;
    /** The same instant on the wall clock of {@link RunResult.scenario.timeZone}, `hh:mm`. */
    readonly startLocal: string;
    readonly stepMs: number;
    readonly limits: Readonly<Record<string, number>>;
    readonly tenants: readonly TenantInfo[];
    /** How the calls were made, when not by the scenario's own code (`--ai-sdk`). */
    readonly calls?: string;
  };
  /** Figures per simulated minute (not running totals). */
  readonly intervals: readonly Interval[];
  readonly refills: readonly RefillEvent[];
  /** The conservation checks on the final state. */
  readonly checks: readonly Check[];
  /** Whether every check held. */
  readonly held: boolean;
  /** What `--otel` exported, checked against the run's own figures. */
  readonly otel?: OtelSummary;
}
