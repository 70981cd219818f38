import { AtomicTokenBudget, type BudgetObserver, SharedTokenBudget } from '@budgetry/core';
import type { FakeClock } from '@budgetry/testing';
import type { BackendKind } from './options.js';

/** A token budget of either in-process kind: the same semantics, the same methods. */
export type CoreTokenBudget = AtomicTokenBudget | SharedTokenBudget;

/** Settings of one token budget the scenario builds on a backend. */
export interface TokenBudgetSettings {
  readonly name: string;
  readonly observer: BudgetObserver;
  /** A debt cap; absent means exact debt (the scenario's policy). */
  readonly maxDebt?: number;
}

/** Where the scenario's token budgets (tokens per minute, dollars per day) live. */
export interface Backend {
  readonly kind: BackendKind;
  /** One line for the report's header. */
  readonly description: string;
  tokenBudget(capacity: number, settings: TokenBudgetSettings): CoreTokenBudget;
  /** Frees what the backend holds (shared memory handles). */
  close(): void;
}

/** The backend cannot be used; the message is one line for the user. */
export class BackendUnavailable extends Error {
  override readonly name = 'BackendUnavailable';
}

/**
 * Opens a backend on the scenario's simulated clock.
 *
 * @param kind - `memory`, `shared` or `redis`.
 * @param clock - the simulated clock (shared handles beat on it).
 * @returns the backend.
 * @throws BackendUnavailable when it cannot be used here.
 */
export function openBackend(kind: BackendKind, clock: FakeClock): Backend {
  switch (kind) {
    case 'memory':
      return {
        kind,
        description: 'memory (AtomicTokenBudget, in this process)',
        tokenBudget: (capacity, settings) => new AtomicTokenBudget(capacity, settings),
        close: () => {},
      };
    case 'shared':
      return sharedBackend(clock);
    case 'redis':
      throw new BackendUnavailable(
        '--backend redis is not available yet: the Redis backend (packages/redis) is still being built; use --backend memory or --backend shared',
      );
  }
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
    description: 'shared (SharedTokenBudget, on a SharedArrayBuffer)',
    tokenBudget: (capacity, settings) => {
      let budget: SharedTokenBudget;
      try {
        budget = new SharedTokenBudget(capacity, { ...settings, clock, maxHandles: 4 });
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new BackendUnavailable(`--backend shared is unavailable: ${reason}`);
      }
      opened.push(budget);
      return budget;
    },
    close: () => {
      for (const budget of opened.splice(0)) budget.close();
    },
  };
}
