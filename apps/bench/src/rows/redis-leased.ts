import { randomBytes } from 'node:crypto';
import { AtomicBudget } from '@budgetry/core';
import { RedisLeasedBudget } from '@budgetry/redis';
import type { Redis } from 'ioredis';
import type { ThroughputRow } from '../row.js';
import { redisRows } from './redis.js';
import { benchRedisUrl, connectRow, deleteKeysUnder } from './redis-connection.js';

const group = 'Redis: a leased child (RedisLeasedBudget), sync, in-process';

/** Units of the pool: a lone process leases all of it. */
const poolCapacity = 1_000_000;

/** Row ids, for references and tests. */
export const leasedRowIds = {
  atomic: 'leased-atomic-reference',
  leased: 'redis-leased-sync',
} as const;

// Set in setup rather than a literal, so the JIT cannot fold the amount into the loop.
let cost = 0;

/** Where the rows run and what they start from. */
export interface LeasedRowsOptions {
  /** The server. */
  readonly url: string;
  /** The pool's keys start with this. */
  readonly prefixRoot: string;
  /** Where the closing line goes (default: stderr). */
  readonly log?: (line: string) => void;
}

/**
 * The leased child's rows: a plain `AtomicBudget` pair, then `RedisLeasedBudget`'s pair on a
 * slice of a pool in Redis, in one process, so the ratio is the cost of the lease checks.
 * The leased row fails a run with any refusal (its lease covers every op), and at teardown
 * checks in Redis that the pool leased no more than its capacity, with nothing left held.
 *
 * @param options - server and key prefix.
 * @returns the two rows, reference first.
 * @example
 * ```ts
 * const rows = makeLeasedRows({ url: 'redis://127.0.0.1:6379', prefixRoot: 'budgetry-bench:doc' });
 * ```
 */
export function makeLeasedRows(options: LeasedRowsOptions): ThroughputRow[] {
  const prefix = `${options.prefixRoot}:${leasedRowIds.leased}`;
  const log = options.log ?? ((line: string) => console.error(line));
  let atomic = new AtomicBudget(0);
  let redis: Redis | undefined;
  let leased: RedisLeasedBudget | undefined;
  let runs = 0;
  const cleanUp = async (): Promise<void> => {
    const client = redis;
    const budget = leased;
    redis = undefined;
    leased = undefined;
    if (client === undefined) return;
    try {
      await budget?.close();
      await deleteKeysUnder(client, prefix);
    } finally {
      client.disconnect();
    }
  };
  const reference: ThroughputRow = {
    kind: 'throughput',
    id: leasedRowIds.atomic,
    name: 'AtomicBudget tryReserveSync(1) + releaseSync(1), beside the leased child',
    group,
    setup() {
      cost = 1;
      atomic = new AtomicBudget(poolCapacity);
    },
    run(iterations) {
      const b = atomic;
      let granted = 0;
      for (let i = 0; i < iterations; i++) {
        if (b.tryReserveSync(cost)) granted++;
        b.releaseSync(cost);
      }
      return granted + b.available();
    },
  };
  const child: ThroughputRow = {
    kind: 'throughput',
    id: leasedRowIds.leased,
    name: 'RedisLeasedBudget tryReserveSync(1) + releaseSync(1) on a slice leased from Redis',
    group,
    reference: leasedRowIds.atomic,
    target: { label: '≥ 1 M ops/s', atLeast: 1_000_000 },
    async setup() {
      cost = 1;
      redis = await connectRow(options.url);
      try {
        await deleteKeysUnder(redis, prefix);
        // A long lease: a timed run is one synchronous loop, during which nothing renews.
        leased = await RedisLeasedBudget.open(poolCapacity, {
          redis,
          name: 'leased',
          keyPrefix: prefix,
          leaseMs: 60_000,
          wants: () => poolCapacity,
        });
      } catch (error) {
        await cleanUp().catch(() => {});
        throw error;
      }
    },
    run(iterations) {
      const b = leased!;
      let granted = 0;
      for (let i = 0; i < iterations; i++) {
        if (b.tryReserveSync(cost)) granted++;
        b.releaseSync(cost);
      }
      runs++;
      if (granted !== iterations) {
        throw new Error(
          `${iterations - granted} of ${iterations} reserves refused; none should be`,
        );
      }
      return granted + b.available();
    },
    async teardown() {
      const b = leased;
      if (b === undefined) return;
      try {
        const pool = await b.pool();
        const s = b.snapshot();
        if (pool.leased > pool.capacity || s.held !== 0 || s.lapses !== 0) {
          throw new Error(
            `not exact after ${runs} runs: leased ${pool.leased} of ${pool.capacity}, held ${s.held}, lapses ${s.lapses}`,
          );
        }
        log(
          `bench: ${leasedRowIds.leased}: exact after ${runs} runs (leased ${pool.leased} of ${pool.capacity}, held 0, ${s.renewals} renewals)`,
        );
      } finally {
        await cleanUp();
      }
    },
  };
  return [reference, child];
}

/** The registered rows: only where the Redis rows are (the same decision, made once). */
export const redisLeasedRows: readonly ThroughputRow[] =
  redisRows.length > 0
    ? makeLeasedRows({
        url: benchRedisUrl(),
        prefixRoot: `budgetry-bench:${process.pid}-${randomBytes(3).toString('hex')}`,
      })
    : [];
