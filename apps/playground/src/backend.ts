import {
  calendarRefill,
  lazyRefill,
  type RefillingGuard,
  type RefillingTokenBudget,
} from '@budgetry/compose';
import {
  AtomicTokenBudget,
  type BudgetCapabilities,
  type BudgetObserver,
  type RetryHint,
  SharedTokenBudget,
  type TokenBudget,
} from '@budgetry/core';
import type { FakeClock } from '@budgetry/testing';
import { type BackendKind, DEFAULTS } from './options.js';

/** A token budget of either in-process kind: the same semantics, the same methods. */
export type CoreTokenBudget = AtomicTokenBudget | SharedTokenBudget;

/** When a token budget begins a new epoch, on the simulated clock. */
export type RefillSchedule =
  /** Every minute from when the budget is built (build it on a minute boundary). */
  | {
      readonly every: 'minute';
      /** Tests only: a faulty schedule that refills more often than every minute. */
      readonly everyMs?: number;
    }
  /** At each local midnight in `timeZone`. */
  | { readonly every: 'day'; readonly timeZone: string };

/** Settings of one token budget the scenario builds on a backend. */
export interface TokenBudgetSettings {
  readonly name: string;
  readonly observer: BudgetObserver;
  readonly schedule: RefillSchedule;
  /** A debt cap; absent means exact debt (the scenario's policy). */
  readonly maxDebt?: number;
  /**
   * Wraps an in-process budget before its schedule (`--otel-shadow` puts a shadow there);
   * the auditor still reads the budget itself.
   */
  readonly wrap?: ((budget: CoreTokenBudget) => CoreTokenBudget) | undefined;
}

/** A token budget's own figures, read through its own API: what the auditor holds it to. */
export interface BudgetReading {
  readonly available: number;
  readonly debt: number;
  readonly consumed: number;
  readonly epoch: number;
  /** Estimates still reserved in live epochs. */
  readonly reserved: number;
  /** Handles that were never settled: garbage-collected, or leases that expired. */
  readonly leaks: number;
}

/** What the coordinator reserves on: a token budget with a retry hint to its next refill. */
export type BudgetDimension = TokenBudget &
  RetryHint & { readonly capabilities: BudgetCapabilities };

/** One of the scenario's token budgets (tokens per minute, dollars per day) on its backend. */
export interface BackendBudget {
  /** The coordinator's dimension: synchronous in process, asynchronous on Redis. */
  readonly dimension: BudgetDimension;
  /**
   * Begins the epochs its schedule says are due. In process the schedule does so on every
   * access anyway; on Redis this is where each boundary's `refill()` is sent.
   */
  catchUp(): Promise<void>;
  /** Reads its figures where it lives (one round trip on Redis). */
  refresh(): Promise<void>;
  /** Its figures as last read (in process: as they are now). */
  reading(): BudgetReading;
  /**
   * Charges `amount` as usage on a zero reservation: what a new generation owes on taking
   * over from the one it replaces.
   */
  charge(amount: number): Promise<void>;
  /** A newer generation replaced it: stop its schedule's timers (its calls still settle on it). */
  retire(): void;
  /** In process: the budget its schedule drives (wrapped, if asked), for `@budgetry/otel` to watch. */
  readonly watchable?: CoreTokenBudget;
}

/** Where the scenario's token budgets (tokens per minute, dollars per day) live. */
export interface Backend {
  readonly kind: BackendKind;
  /** Whether its budgets are in process: reserved and settled synchronously. */
  readonly sync: boolean;
  /** One line for the report's header: what lives there, and how its epochs begin. */
  readonly description: string;
  /** On Redis: this run's own key prefix (every key the run makes starts with it and `:`). */
  readonly keyPrefix?: string;
  tokenBudget(capacity: number, settings: TokenBudgetSettings): BackendBudget;
  /** Frees what the backend holds: shared memory handles, or the Redis keys and connection. */
  close(): Promise<void>;
}

/** The backend cannot be used; the message is one line for the user. */
export class BackendUnavailable extends Error {
  override readonly name = 'BackendUnavailable';
}

/**
 * Opens a backend on the scenario's simulated clock.
 *
 * @param kind - `memory`, `shared` or `redis`.
 * @param clock - the simulated clock.
 * @param redisUrl - the Redis server, for `redis`.
 * @returns the backend.
 * @throws BackendUnavailable when it cannot be used here.
 */
export async function openBackend(
  kind: BackendKind,
  clock: FakeClock,
  redisUrl: string = DEFAULTS.redisUrl,
): Promise<Backend> {
  switch (kind) {
    case 'memory':
      return {
        kind,
        sync: true,
        description: 'memory (AtomicTokenBudget, in this process)',
        tokenBudget: (capacity, { schedule, wrap, ...options }) =>
          inProcess(new AtomicTokenBudget(capacity, options), schedule, clock, wrap),
        close: async () => {},
      };
    case 'shared':
      return sharedBackend(clock);
    case 'redis': {
      // Loaded only when asked for: the other backends never touch ioredis.
      const { openRedisBackend } = await import('./redis-backend.js');
      return openRedisBackend(redisUrl, clock);
    }
  }
}

/**
 * Puts `target` on `schedule`: `lazyRefill` every minute, `calendarRefill` each local day.
 *
 * @param target - the budget to refill, or `{ capacity }` for a fresh one that only counts
 * epochs.
 * @param schedule - when epochs begin.
 * @param clock - the simulated clock.
 * @returns the scheduled view.
 */
export function scheduled(
  target: CoreTokenBudget,
  schedule: RefillSchedule,
  clock: FakeClock,
): RefillingTokenBudget<CoreTokenBudget>;
export function scheduled(
  target: { readonly capacity: number },
  schedule: RefillSchedule,
  clock: FakeClock,
): RefillingGuard;
export function scheduled(
  target: CoreTokenBudget | { readonly capacity: number },
  schedule: RefillSchedule,
  clock: FakeClock,
): RefillingTokenBudget<CoreTokenBudget> | RefillingGuard {
  // Both schedulers take either kind of target at run time; their overloads only type results.
  const t = target as CoreTokenBudget;
  return schedule.every === 'minute'
    ? lazyRefill(t, { intervalMs: schedule.everyMs ?? 60_000, clock })
    : calendarRefill(t, { unit: 'day', timeZone: schedule.timeZone, clock });
}

/** A budget in this process: the compose schedule refills it on every access. */
function inProcess(
  budget: CoreTokenBudget,
  schedule: RefillSchedule,
  clock: FakeClock,
  wrap: TokenBudgetSettings['wrap'],
): BackendBudget {
  const watchable = wrap?.(budget) ?? budget;
  const refilling = scheduled(watchable, schedule, clock);
  return {
    dimension: refilling,
    watchable,
    catchUp: async () => {},
    refresh: async () => {},
    reading: () => ({
      available: budget.available(),
      debt: budget.debt(),
      consumed: budget.tokensConsumedSync(),
      epoch: budget.epoch,
      reserved: budget.reserved(),
      leaks: budget.leaks(),
    }),
    charge: async (amount) => {
      const reservation = budget.tryReserveTokensSync(0)!;
      budget.recordUsageSync(reservation, amount, 0);
    },
    retire: () => refilling.close(),
  };
}

function sharedBackend(clock: FakeClock): Backend {
  if (typeof SharedArrayBuffer !== 'function') {
    throw new BackendUnavailable(
      '--backend shared needs SharedArrayBuffer, which this Node.js does not provide',
    );
  }
  const opened: SharedTokenBudget[] = [];
  return {
    kind: 'shared',
    sync: true,
    description: 'shared (SharedTokenBudget, on a SharedArrayBuffer)',
    tokenBudget: (capacity, { schedule, wrap, ...options }) => {
      let budget: SharedTokenBudget;
      try {
        budget = new SharedTokenBudget(capacity, { ...options, clock, maxHandles: 4 });
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new BackendUnavailable(`--backend shared is unavailable: ${reason}`);
      }
      opened.push(budget);
      return inProcess(budget, schedule, clock, wrap);
    },
    close: async () => {
      for (const budget of opened.splice(0)) budget.close();
    },
  };
}
