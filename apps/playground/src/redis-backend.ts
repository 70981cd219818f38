// `--backend redis`: the two token budgets live in Redis as `RedisTokenBudget`s. Given
// `refillEveryMs`, a Redis budget begins epochs by the server's clock; this run's clock is
// simulated, so the budgets are made without it: compose's schedules say when each simulated
// boundary comes, and the simulation begins the epoch there with `refill(times, ifEpoch)`.
import { randomBytes } from 'node:crypto';
import { RedisTokenBudget } from '@budgetry/redis';
import type { FakeClock } from '@budgetry/testing';
import { Redis } from 'ioredis';
import {
  type Backend,
  type BackendBudget,
  BackendUnavailable,
  type BudgetReading,
  type RefillSchedule,
  scheduled,
} from './backend.js';

/** Longest wait for Redis: to connect, and per call. */
const TIMEOUT_MS = 2_000;
/**
 * A call's lease, in Redis's clock. A call is out for at most 8 simulated seconds, far less
 * than this even at the page's slowest speed; a run that dies leaves nothing held longer.
 */
const LEASE_MS = 10 * 60_000;

/**
 * Connects to Redis and puts the scenario's token budgets there, under a key prefix of this
 * run's own; `close()` deletes every key the run made and disconnects.
 *
 * @param url - the server, `redis://host:port`.
 * @param clock - the simulated clock, whose boundaries begin the budgets' epochs.
 * @returns the backend, connected.
 * @throws BackendUnavailable when Redis cannot be reached within a few seconds.
 */
export async function openRedisBackend(url: string, clock: FakeClock): Promise<Backend> {
  const where = withoutPassword(url);
  const redis = await connect(url, where);
  const keyPrefix = `budgetry-playground:${randomBytes(6).toString('hex')}`;
  const budgets: RedisTokenBudget[] = [];
  const generations = new Map<string, number>();
  return {
    kind: 'redis',
    sync: false,
    keyPrefix,
    description: `redis (RedisTokenBudget at ${where}: tokens/min and dollars/day live there, each epoch begun by refill() at its simulated boundary)`,
    tokenBudget: (capacity, { name, observer, schedule, maxDebt }) => {
      // A capacity change builds a new generation: a budget of its own, under its own name.
      const generation = (generations.get(name) ?? 0) + 1;
      generations.set(name, generation);
      const budget = new RedisTokenBudget(capacity, {
        redis,
        keyPrefix,
        name: generation === 1 ? name : `${name} #${generation}`,
        observer,
        leaseMs: LEASE_MS,
        timeoutMs: TIMEOUT_MS,
        ...(maxDebt === undefined ? {} : { maxDebt }),
      });
      budgets.push(budget);
      return onRedis(budget, schedule, clock);
    },
    close: async () => {
      try {
        await Promise.all(budgets.splice(0).map((budget) => budget.destroy()));
        await redis.quit();
      } finally {
        redis.disconnect();
      }
    },
  };
}

/** A Redis token budget on the simulated schedule, with the figures last read from Redis. */
function onRedis(budget: RedisTokenBudget, schedule: RefillSchedule, clock: FakeClock) {
  // The schedule alone, on a one-unit budget that only counts the epochs it begins.
  const epochs = scheduled({ capacity: 1 }, schedule, clock);
  let begun = 0;
  let last: BudgetReading = {
    available: budget.capacity,
    debt: 0,
    consumed: 0,
    epoch: 0,
    reserved: 0,
    leaks: 0,
  };
  const result: BackendBudget = {
    dimension: {
      capabilities: { ...budget.capabilities, retryHint: true },
      tryReserveTokens: (estimate) => budget.tryReserveTokens(estimate),
      recordUsage: (reservation, prompt, completion) =>
        budget.recordUsage(reservation, prompt, completion),
      tokensConsumed: () => budget.tokensConsumed(),
      // As in process: a denied estimate that fits the capacity fits after the next refill.
      retryAfterMs: (cost) =>
        cost > budget.capacity ? undefined : Math.max(0, epochs.nextRefillAt() - clock.now()),
    },
    catchUp: async () => {
      const due = epochs.epoch;
      if (due === begun) return;
      // Only from the epoch it was in: a boundary begins once, whoever else refills it.
      await budget.refill(due - begun, begun);
      begun = due;
    },
    refresh: async () => {
      const s = await budget.snapshot();
      last = {
        available: s.available,
        debt: s.debt,
        consumed: s.consumed,
        epoch: s.epoch,
        reserved: s.held,
        leaks: s.expiredLeases,
      };
    },
    reading: () => last,
    charge: async (amount) => {
      const reservation = await budget.tryReserveTokens(0);
      await budget.recordUsage(reservation!, amount, 0);
    },
    retire: () => epochs.close(),
  };
  return result;
}

async function connect(url: string, where: string): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: TIMEOUT_MS,
    commandTimeout: TIMEOUT_MS,
    // Our PING is the check (ioredis's own INFO first would only add a wait of its own).
    enableReadyCheck: false,
    // A server that goes away ends the run with its error, rather than a wait for it to return.
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  });
  let reason: string | undefined;
  redis.on('error', (error: Error) => {
    reason ??= error.message;
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    const why = reason ?? (error instanceof Error ? error.message : String(error));
    throw new BackendUnavailable(
      `cannot reach Redis at ${where}: ${why} (start one with \`redis-server --daemonize yes\`, or give another --redis-url)`,
    );
  }
  return redis;
}

/** The URL as the report may print it: a password replaced by `***`. */
function withoutPassword(raw: string): string {
  const url = new URL(raw);
  if (url.password !== '') url.password = '***';
  return url.toString();
}
