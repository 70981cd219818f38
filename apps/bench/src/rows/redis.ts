import { randomBytes } from 'node:crypto';
import type { Redis, RedisOptions } from 'ioredis';
import type { ThroughputRow } from '../row.js';
import {
  benchRedisUrl,
  connectRow,
  decideRedisRows,
  deleteKeysUnder,
  probeRedis,
  redisSkippedVariable,
  serverMicrosPerScript,
  skipMessage,
} from './redis-connection.js';
import {
  type OpenSubject,
  openBare,
  openBudgetCount,
  openBudgetPermit,
  openCeiling,
  openHierarchy,
  openRateLimiterFlexible,
  type Subject,
} from './redis-subjects.js';

const group = 'Redis: one ioredis client, 64 calls in flight';

/** Ops in flight on the row's one connection: 64 concurrent loops, each awaiting its op. */
export const inFlight = 64;

/** Units of every row's budget: more than any run can spend, so no reserve is ever refused. */
const benchCapacity = 1e12;

/** Untimed ops after each row's timed runs, over which the server's time per script is read. */
const serverTimedOps = 2_000;

/** Where the rows run and what they start from. */
export interface RedisRowsOptions {
  /** The server. */
  readonly url: string;
  /** Every row's keys start with this, then `:` and the row's id. */
  readonly prefixRoot: string;
  /** Units of each row's budget (default: 10^12). */
  readonly capacity?: number;
  /** Untimed ops for the server-time line at the end (default 2 000; 0 for none). */
  readonly serverTimedOps?: number;
  /** Where the closing line of each row goes (default: stderr). */
  readonly log?: (line: string) => void;
}

/**
 * Runs `ops` ops as {@link inFlight} concurrent loops (fewer when there are fewer ops), each
 * awaiting its op before the next, and counts the grants.
 */
async function concurrently(ops: number, op: () => Promise<boolean>): Promise<number> {
  if (ops <= 0) return 0;
  const loops = Math.min(inFlight, ops);
  const base = Math.floor(ops / loops);
  const extra = ops % loops;
  const loop = async (n: number): Promise<number> => {
    let granted = 0;
    for (let i = 0; i < n; i++) if (await op()) granted++;
    return granted;
  };
  const runs: Promise<number>[] = [];
  for (let k = 0; k < loops; k++) runs.push(loop(base + (k < extra ? 1 : 0)));
  let granted = 0;
  for (const n of await Promise.all(runs)) granted += n;
  return granted;
}

/**
 * One Redis row: a client of its own, the subject under its own key prefix, every run's reserves
 * all granted (else the run fails: a refused op is half the work), and at the end the state in
 * Redis checked against the ops, the server's time per script read, and every key deleted. The
 * runner calls no `teardown` after a failed step, so a failed setup or run deletes the keys and
 * closes the client itself before it rethrows.
 */
function redisRow(
  fields: Pick<ThroughputRow, 'id' | 'name' | 'reference' | 'target'>,
  open: OpenSubject,
  options: RedisRowsOptions,
  clientOptions: RedisOptions = {},
): ThroughputRow {
  // Every key of the row is under `${prefix}:` — so that one row's clean-up cannot reach the
  // keys of a row whose id begins with this one's.
  const prefix = `${options.prefixRoot}:${fields.id}`;
  const capacity = options.capacity ?? benchCapacity;
  const log = options.log ?? ((line: string) => console.error(line));
  let redis: Redis | undefined;
  let subject: Subject | undefined;
  let granted = 0;
  let runs = 0;
  const cleanUp = async (): Promise<void> => {
    const client = redis;
    const made = subject;
    redis = undefined;
    subject = undefined;
    if (client === undefined) return;
    try {
      await made?.close();
      await deleteKeysUnder(client, `${prefix}:`);
    } finally {
      client.disconnect();
    }
  };
  /** Runs `step`; if it fails, cleans up (a second failure there is dropped) and rethrows. */
  const orCleanUp = async <T>(step: () => Promise<T>): Promise<T> => {
    try {
      return await step();
    } catch (error) {
      await cleanUp().catch(() => {});
      throw error;
    }
  };
  return {
    kind: 'throughput',
    ...fields,
    group,
    setup: () =>
      orCleanUp(async () => {
        redis = await connectRow(options.url, clientOptions);
        await deleteKeysUnder(redis, `${prefix}:`);
        subject = await open(redis, prefix, capacity);
      }),
    run: (iterations) =>
      orCleanUp(async () => {
        const ok = await concurrently(iterations, subject!.op);
        granted += ok;
        runs++;
        if (ok !== iterations) {
          throw new Error(`${iterations - ok} of ${iterations} reserves refused; none should be`);
        }
        return ok;
      }),
    async teardown() {
      if (redis === undefined || subject === undefined) return;
      const client = redis;
      const made = subject;
      try {
        const problem = await made.verify(granted);
        if (problem !== undefined) throw new Error(`not exact after ${runs} runs: ${problem}`);
        const extra = options.serverTimedOps ?? serverTimedOps;
        const measured =
          extra > 0
            ? await serverMicrosPerScript(client, () => concurrently(extra, made.op))
            : null;
        // A batching budget carries several calls in one script call: per op is what compares.
        const server =
          measured === null
            ? ''
            : `; server time ${measured.perCall.toFixed(1)} µs per script call, ${((measured.perCall * measured.calls) / extra).toFixed(1)} µs per op`;
        log(`bench: ${fields.id}: exact after ${runs} runs (${made.checks})${server}`);
      } finally {
        await cleanUp();
      }
    },
  };
}

/** Row ids, for references and tests. */
export const redisRowIds = {
  ceiling: 'redis-ceiling',
  autoPipelined: 'redis-ceiling-autopipelined',
  bare: 'redis-bare',
  count: 'redis-budget-count',
  permit: 'redis-budget-permit',
  unbatched: 'redis-budget-permit-unbatched',
  hierarchy: 'redis-hierarchy-3',
  rlf: 'redis-rlf',
} as const;

const bareTarget = {
  label: `≥ 0.9× ${redisRowIds.bare}`,
  against: redisRowIds.bare,
  atLeast: 0.9,
} as const;

/**
 * The Redis rows, in table order, against the server and under the key prefix given.
 *
 * @param options - server, key prefix, and the test knobs.
 * @returns the ceilings (ioredis's defaults, then with auto-pipelining), the bare script,
 * `RedisBudget`'s count API and permits, a three-level `RedisHierarchy`, and
 * rate-limiter-flexible's `RateLimiterRedis`.
 * @example
 * ```ts
 * const rows = makeRedisRows({ url: 'redis://127.0.0.1:6379', prefixRoot: 'budgetry-bench:doc' });
 * ```
 */
export function makeRedisRows(options: RedisRowsOptions): ThroughputRow[] {
  const id = redisRowIds;
  return [
    redisRow(
      {
        id: id.ceiling,
        name: 'ceiling: EVALSHA of `return 1`, twice per op (scripts/s = 2 × ops/s)',
      },
      openCeiling,
      options,
    ),
    redisRow(
      {
        id: id.autoPipelined,
        name: 'the same with enableAutoPipelining: the calls of one tick sent in one write',
        reference: id.ceiling,
      },
      openCeiling,
      options,
      { enableAutoPipelining: true },
    ),
    redisRow(
      {
        id: id.bare,
        name: 'bare Lua: EVALSHA check-and-decrement + EVALSHA increment-back',
        reference: id.ceiling,
      },
      openBare,
      options,
    ),
    redisRow(
      {
        id: id.count,
        name: 'RedisBudget: await tryReserve(1) + await release(1)',
        reference: id.bare,
        target: bareTarget,
      },
      openBudgetCount,
      options,
    ),
    redisRow(
      {
        id: id.permit,
        name: 'RedisBudget: await tryAcquire(1) (a lease) + await permit.commit()',
        reference: id.bare,
        target: bareTarget,
      },
      openBudgetPermit(),
      options,
    ),
    redisRow(
      {
        id: id.unbatched,
        name: 'the same with maxBatch: 1 — every call its own script call, as the bare rows send them',
        reference: id.bare,
      },
      openBudgetPermit(1),
      options,
    ),
    redisRow(
      {
        id: id.hierarchy,
        name: 'RedisHierarchy, 3 levels: leaf tryAcquire(1) + commit(), one script each for the whole path',
        reference: id.permit,
      },
      openHierarchy,
      options,
    ),
    redisRow(
      {
        id: id.rlf,
        name: 'rate-limiter-flexible RateLimiterRedis: await consume(key, 1) + await reward(key, 1)',
        reference: id.bare,
      },
      openRateLimiterFlexible,
      options,
    ),
  ];
}

const url = benchRedisUrl();
const decision = await decideRedisRows(process.env, () => probeRedis(url));
if (!decision.register && decision.announce) {
  console.error(skipMessage(url, decision.reason));
  // The child processes of this run inherit it: they skip the rows without asking again.
  process.env[redisSkippedVariable] = decision.reason;
}

/**
 * The registered Redis rows: measured against {@link benchRedisUrl}, each under a key prefix
 * of this process's own; none when no Redis answers outside CI (the skip is printed once).
 */
export const redisRows: readonly ThroughputRow[] = decision.register
  ? makeRedisRows({
      url,
      prefixRoot: `budgetry-bench:${process.pid}-${randomBytes(3).toString('hex')}`,
    })
  : [];
