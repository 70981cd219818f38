// The conformance kit against the Redis budgets: every invariant, under overlapping calls,
// long histories, invalid input, permits settled twice at once, refills in flight, misuse of
// token reservations, and the black-box probe. Each run gets a budget of its own (a fresh
// name under this file's prefix); its keys are deleted after the run.
import { suite } from '@budgetry/testing';
import { afterAll, describe, test } from 'vitest';
import { RedisBudget, RedisTokenBudget } from '../src/index.js';
import { LossyClient } from './helpers/lossy-client.js';
import { cleanUp, client, redisReady, sharedPort, uniquePrefix } from './helpers/redis.js';

const redis = redisReady ? client(await sharedPort()) : undefined;
const keyPrefix = uniquePrefix('kit');
let runs = 0;
afterAll(() => cleanUp(redis));

const options = {
  numRuns: 100,
  teardown: (subject: never) => (subject as RedisBudget).destroy(),
};

for (const policy of ['reset', 'carry'] as const) {
  describe.skipIf(!redisReady)(`kit (${policy})`, () => {
    suite({
      test,
      describe,
      kind: 'guard',
      name: `RedisBudget (${policy})`,
      timeoutMs: 60_000,
      options,
      factory: ({ capacity }) =>
        new RedisBudget(capacity, {
          redis: redis!,
          keyPrefix,
          name: `guard-${policy}-${++runs}`,
          refillPolicy: policy,
        }),
      capabilities: {
        available: true,
        permits: { dispose: 'async', partialCommit: true },
        refill: { policy },
      },
    });
    suite({
      test,
      describe,
      kind: 'token-budget',
      name: `RedisTokenBudget (${policy})`,
      timeoutMs: 60_000,
      options,
      factory: ({ capacity }) =>
        new RedisTokenBudget(capacity, {
          redis: redis!,
          keyPrefix,
          name: `tokens-${policy}-${++runs}`,
          refillPolicy: policy,
          leakBackstop: false,
        }),
      capabilities: {
        available: true,
        debt: true,
        countApi: true,
        asyncDispose: true,
        refill: { policy },
      },
    });
  });
}

describe.skipIf(!redisReady)('kit, debt cap', () => {
  suite({
    test,
    kind: 'token-budget',
    name: 'RedisTokenBudget with maxDebt 3',
    timeoutMs: 60_000,
    options,
    factory: ({ capacity }) =>
      new RedisTokenBudget(capacity, {
        redis: redis!,
        keyPrefix,
        name: `capped-${++runs}`,
        maxDebt: 3,
        leakBackstop: false,
      }),
    capabilities: {
      available: true,
      debt: true,
      countApi: true,
      maxDebt: 3,
      refill: { policy: 'reset' },
    },
  });
});

// Replies that never come: one call in nine is applied but never answered, one in nine never
// sent; the budget's time limit ends both with TIMEOUT, which the kit takes as indeterminate.
// An unanswered reservation is undone behind itself; a settle can be retried and is applied once.
// For token budgets, faults spare reservations and their settles: the kit cannot yet give
// back a probe reservation whose reply was lost (it has no handle to dispose), and core's
// TokenReservation stays refunded after a refund that timed out, which the kit's model of an
// indeterminate dispose does not foresee. Those paths have tests of their own (leases.test.ts).
function lossy(...spared: string[]): LossyClient {
  const c = new LossyClient(redis!);
  c.fate = (n, op) =>
    spared.includes(op) ? 'ok' : n % 9 === 4 ? 'hang-after' : n % 9 === 7 ? 'hang-before' : 'ok';
  return c;
}

describe.skipIf(!redisReady)('kit, replies lost', () => {
  suite({
    test,
    kind: 'guard',
    name: 'RedisBudget whose replies get lost',
    timeoutMs: 60_000,
    options: { ...options, numRuns: 40, maxCommands: 10, timeoutMs: 30_000 },
    factory: ({ capacity }) =>
      new RedisBudget(capacity, {
        redis: lossy(),
        keyPrefix,
        name: `lossy-${++runs}`,
        timeoutMs: 15,
      }),
    capabilities: {
      available: true,
      permits: { dispose: 'async', partialCommit: true },
      refill: { policy: 'reset' },
      timeouts: true,
      linearizable: false,
    },
  });
  suite({
    test,
    kind: 'token-budget',
    name: 'RedisTokenBudget whose replies get lost',
    timeoutMs: 60_000,
    options: { ...options, numRuns: 40, maxCommands: 10, timeoutMs: 30_000 },
    factory: ({ capacity }) =>
      new RedisTokenBudget(capacity, {
        redis: lossy('acq', 'set'),
        keyPrefix,
        name: `lossy-tokens-${++runs}`,
        timeoutMs: 15,
        leakBackstop: false,
      }),
    capabilities: {
      available: true,
      debt: true,
      countApi: true,
      asyncDispose: true,
      refill: { policy: 'reset' },
      timeouts: true,
      linearizable: false,
    },
  });
});
