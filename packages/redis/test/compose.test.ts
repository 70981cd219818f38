// Compose takes the Redis budgets as they are, from their declared capabilities: all-of with
// an in-process member, partial commit through it, the coordinator over a Redis token budget;
// and from their declared identity, so two handles on one budget are one budget.

import { allOf, anyOf, coordinator, tokenGuard } from '@budgetry/compose';
import { AtomicBudget } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import {
  RedisBudget,
  type RedisBudgetOptions,
  RedisHierarchy,
  RedisTokenBudget,
} from '../src/index.js';
import { fileRedis } from './helpers/budgets.js';
import { LossyClient } from './helpers/lossy-client.js';
import { redisReady, uniquePrefix } from './helpers/redis.js';

const redis = await fileRedis();

describe.skipIf(!redisReady)('compose over Redis budgets', () => {
  it('charges a Redis budget and a local one together, all or nothing', async () => {
    const fleet = new RedisBudget(10, {
      redis: redis!,
      name: 'rows',
      keyPrefix: uniquePrefix('compose'),
    });
    const local = new AtomicBudget(100);
    const both = allOf({ fleet, local });
    const permit = await both.tryAcquire(6);
    expect(permit).not.toBeNull();
    expect([await fleet.available(), local.available()]).toEqual([4, 94]);
    expect(await permit!.commit(2)).toBe(true); // partial commit, through both members
    expect([await fleet.available(), local.available()]).toEqual([8, 98]);
    const denied = await both.tryAcquireDetailed(9);
    expect(denied.ok).toBe(false);
    expect(!denied.ok && denied.deniedBy).toBe('fleet');
    expect([await fleet.available(), local.available()]).toEqual([8, 98]);
  });

  it('lets the coordinator gate a dispatch on fleet requests and fleet tokens', async () => {
    const keyPrefix = uniquePrefix('compose');
    const requests = new RedisBudget(2, { redis: redis!, name: 'rpm', keyPrefix });
    const tokens = new RedisTokenBudget(1_000, { redis: redis!, name: 'tpm', keyPrefix });
    const llm = coordinator({ requests, tokens });
    const decision = await llm.tryReserve({ requests: 1, tokens: 400 });
    expect(decision.ok).toBe(true);
    if (!decision.ok) return;
    await decision.permit.settle({ tokens: 550 });
    expect(await tokens.snapshot()).toMatchObject({ available: 450, consumed: 550 });
    expect(await requests.available()).toBe(1);
    const second = await llm.tryReserve({ requests: 1, tokens: 500 });
    expect(!second.ok && second.deniedBy).toBe('tokens');
    expect(await requests.available()).toBe(1);
  });

  it('refuses two handles on one budget or tree node, as one budget given twice', () => {
    const keyPrefix = uniquePrefix('compose');
    const rows = (options: Partial<RedisBudgetOptions> = {}) =>
      new RedisBudget(10, { redis: redis!, name: 'rows', keyPrefix, ...options });
    const tpm = () => new RedisTokenBudget(100, { redis: redis!, name: 'tpm', keyPrefix });
    const tree = new RedisHierarchy(
      { capacity: 100, children: { capacity: 10 } },
      { redis: redis!, name: 'tenants', keyPrefix },
    );
    // Each would charge the budget, or node x and the root, twice per reservation.
    const refused = [
      () => coordinator({ n1: tree.child('x'), n2: tree.child('x') }),
      () => coordinator({ a: rows(), b: rows() }),
      () => coordinator({ t: tpm(), g: tokenGuard(tpm()) }),
      () => allOf([rows(), rows()]),
      () => anyOf({ x: tree.child('x'), again: tree.at('x') }),
    ];
    for (const make of refused) {
      expect(make).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    // Another node, name, prefix or client is another budget (a client may reach another server).
    const accepted = [
      () => coordinator({ n1: tree.child('x'), n2: tree.child('y') }),
      () => coordinator({ a: rows(), b: rows({ name: 'other' }) }),
      () => coordinator({ a: rows(), b: rows({ keyPrefix: uniquePrefix('compose') }) }),
      () => coordinator({ a: rows(), b: rows({ redis: new LossyClient(redis!) }) }),
    ];
    for (const make of accepted) expect(make).not.toThrow();
  });
});
