import { RedisBudget, RedisHierarchy } from '@budgetry/redis';
import type { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';

/**
 * What one Redis row drives: an op of two scripts (a reserve and the call that gives it back,
 * or their closest equivalent), a check of the state it left in Redis, and its deletion.
 *
 * @example
 * ```ts
 * const subject = await openBare(redis, 'budgetry-bench:doc', 1_000);
 * if (await subject.op()) console.log(await subject.verify(1)); // undefined: exact
 * await subject.close();
 * ```
 */
export interface Subject {
  /** One op; resolves whether its reserve was granted. */
  op(): Promise<boolean>;
  /**
   * After `granted` granted ops: why the state in Redis is not what they leave, or
   * `undefined` when it is exactly that.
   */
  verify(granted: number): Promise<string | undefined>;
  /** What `verify` checked, for the line printed at the end. */
  readonly checks: string;
  /** Deletes what the subject made in Redis. */
  close(): Promise<void>;
}

/** Opens a subject under `prefix` with `capacity` units. */
export type OpenSubject = (redis: Redis, prefix: string, capacity: number) => Promise<Subject>;

/** Units one op reserves (every row's cost). */
const cost = 1;

/**
 * Runs a script by SHA, and by its text when the server answers `NOSCRIPT` (after a restart or
 * `SCRIPT FLUSH`), as `@budgetry/redis` and ioredis's own scripts do.
 */
function scriptCaller(redis: Redis, text: string, keys: number) {
  let sha = '';
  return {
    async load(): Promise<void> {
      sha = String(await redis.script('LOAD', text));
    },
    call(...args: string[]): Promise<unknown> {
      return redis.evalsha(sha, keys, ...args).catch((error: unknown) => {
        if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
        return redis.eval(text, keys, ...args);
      });
    },
  };
}

/** A script that does nothing: what one round trip with a script in it costs at the least. */
export const emptyScript = 'return 1';

/** Check-and-decrement: take ARGV[1] units from the counter unless fewer are left. */
export const bareReserveScript = `local left = tonumber(redis.call('GET', KEYS[1]) or '0')
local cost = tonumber(ARGV[1])
if left < cost then return 0 end
redis.call('DECRBY', KEYS[1], cost)
return 1`;

/** Increment-back: return ARGV[1] units to the counter. */
export const bareReleaseScript = `return redis.call('INCRBY', KEYS[1], ARGV[1])`;

/** The ceiling: two calls of {@link emptyScript} per op, no keys, no state. */
export const openCeiling: OpenSubject = async (redis) => {
  const empty = scriptCaller(redis, emptyScript, 0);
  await empty.load();
  return {
    async op() {
      await empty.call();
      await empty.call();
      return true;
    },
    verify: async () => undefined,
    checks: 'no state to check',
    close: async () => {},
  };
};

/** The bare reference: one counter, reserved by {@link bareReserveScript}, given back by {@link bareReleaseScript}. */
export const openBare: OpenSubject = async (redis, prefix, capacity) => {
  const key = `${prefix}:units`;
  const reserve = scriptCaller(redis, bareReserveScript, 1);
  const release = scriptCaller(redis, bareReleaseScript, 1);
  await Promise.all([reserve.load(), release.load()]);
  await redis.set(key, String(capacity));
  const units = String(cost);
  return {
    async op() {
      if ((await reserve.call(key, units)) !== 1) return false;
      await release.call(key, units);
      return true;
    },
    async verify() {
      const left = Number(await redis.get(key));
      return left === capacity ? undefined : `the counter holds ${left}, not ${capacity}`;
    },
    checks: `the counter back at ${capacity}`,
    close: async () => {
      await redis.del(key);
    },
  };
};

/** `RedisBudget`'s count API: `await tryReserve(1)`, then `await release(1)`. */
export const openBudgetCount: OpenSubject = async (redis, prefix, capacity) => {
  const budget = new RedisBudget(capacity, { redis, name: 'count', keyPrefix: prefix });
  return {
    async op() {
      if (!(await budget.tryReserve(cost))) return false;
      await budget.release(cost);
      return true;
    },
    async verify() {
      const s = await budget.snapshot();
      return s.available === capacity && s.held === 0 && s.overReleased === 0
        ? undefined
        : `available ${s.available} of ${capacity}, held ${s.held}, over-released ${s.overReleased}`;
    },
    checks: `available = capacity = ${capacity}, held 0, nothing over-released`,
    close: () => budget.destroy(),
  };
};

/**
 * `RedisBudget`'s permits: `await tryAcquire(1)` (a lease), then `await permit.commit()`;
 * `maxBatch` as the budget option (its default when not given).
 */
export const openBudgetPermit =
  (maxBatch?: number): OpenSubject =>
  async (redis, prefix, capacity) => {
    const budget = new RedisBudget(capacity, {
      redis,
      name: 'permits',
      keyPrefix: prefix,
      ...(maxBatch === undefined ? {} : { maxBatch }),
    });
    return {
      async op() {
        const permit = await budget.tryAcquire(cost);
        if (permit === null) return false;
        await permit.commit();
        return true;
      },
      async verify(granted) {
        const s = await budget.snapshot();
        const spent = granted * cost;
        return s.available === capacity - spent && s.leases === 0 && s.expiredLeases === 0
          ? undefined
          : `available ${s.available}, expected ${capacity - spent}; ${s.leases} leases live, ${s.expiredLeases} expired`;
      },
      checks: 'available = capacity − units committed, no lease live or expired',
      close: () => budget.destroy(),
    };
  };

/** Three levels, root → tenant → user, every level as large as the flat budget. */
export function threeLevels(capacity: number) {
  return { capacity, children: { capacity, children: { capacity } } };
}

/**
 * `RedisHierarchy`, three levels: on the leaf `at('acme', 'alice')`, `await tryAcquire(1)` and
 * `await permit.commit()`, each one script charging (or settling) all three nodes.
 */
export const openHierarchy: OpenSubject = async (redis, prefix, capacity) => {
  const tree = new RedisHierarchy(threeLevels(capacity), {
    redis,
    name: 'tree',
    keyPrefix: prefix,
  });
  const leaf = tree.at('acme', 'alice');
  return {
    async op() {
      const permit = await leaf.tryAcquire(cost);
      if (permit === null) return false;
      await permit.commit();
      return true;
    },
    async verify(granted) {
      const spent = granted * cost;
      const path = await Promise.all([tree, tree.child('acme'), leaf].map((n) => n.snapshot()));
      const held = path.map((node) => node.held);
      const { leases, expiredLeases } = path[0]!;
      return held.every((h) => h === spent) && leases === 0 && expiredLeases === 0
        ? undefined
        : `held ${held.join(', ')} from the root down, expected ${spent} at each; ${leases} leases live, ${expiredLeases} expired`;
    },
    checks: 'root, tenant and leaf each held = units committed, no lease live or expired',
    close: () => tree.destroy(),
  };
};

/**
 * rate-limiter-flexible's `RateLimiterRedis`: `await consume(key, 1)`, then `await reward(key,
 * 1)`. With a `duration` of an hour both run its Lua script (by SHA, through ioredis's
 * `defineCommand`); no window ends during a run.
 */
export const openRateLimiterFlexible: OpenSubject = async (redis, prefix, capacity) => {
  const limiter = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: `${prefix}:rlf`,
    points: capacity,
    duration: 3_600,
  });
  const key = 'tenant';
  return {
    async op() {
      await limiter.consume(key, cost);
      await limiter.reward(key, cost);
      return true;
    },
    async verify() {
      const res = await limiter.get(key);
      const consumed = res?.consumedPoints ?? 0;
      return consumed === 0 ? undefined : `${consumed} points consumed, not 0`;
    },
    checks: 'no point left consumed',
    close: async () => {
      await limiter.delete(key);
    },
  };
};
