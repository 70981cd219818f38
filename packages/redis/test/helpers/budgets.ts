// What most test files set up the same way: one client on the shared test Redis for the whole
// file (its keys deleted and the client closed after the last test), budgets under key
// prefixes no other test uses, and the code of a typed failure.
import { BudgetError } from '@budgetry/core';
import type { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import {
  RedisBudget,
  type RedisBudgetOptions,
  RedisHierarchy,
  type RedisHierarchyOptions,
  type RedisHierarchyTemplate,
  RedisTokenBudget,
  type RedisTokenBudgetOptions,
} from '../../src/index.js';
import { cleanUp, client, redisReady, sharedPort, uniquePrefix } from './redis.js';

/**
 * This file's client on the shared test Redis, or `undefined` where the tests skip (no Redis,
 * not on CI). Registers the clean-up: every key this file made is deleted after its last test.
 */
export async function fileRedis(): Promise<Redis | undefined> {
  const redis = redisReady ? client(await sharedPort()) : undefined;
  afterAll(() => cleanUp(redis));
  return redis;
}

/**
 * A maker of guards named `name` on `redis`, each under a key prefix of its own; `options`
 * overrides anything (another client, name or prefix too).
 */
export function guards(redis: Redis | undefined, name: string) {
  return (capacity: number, options: Partial<RedisBudgetOptions> = {}): RedisBudget =>
    new RedisBudget(capacity, {
      redis: redis!,
      name,
      keyPrefix: uniquePrefix(name),
      ...options,
    });
}

/** A maker of token budgets, as {@link guards}, without the leak backstop unless asked. */
export function tokenBudgets(redis: Redis | undefined, name: string) {
  return (capacity: number, options: Partial<RedisTokenBudgetOptions> = {}): RedisTokenBudget =>
    new RedisTokenBudget(capacity, {
      redis: redis!,
      name,
      keyPrefix: uniquePrefix(name),
      leakBackstop: false,
      ...options,
    });
}

/** A maker of hierarchies, as {@link guards}. */
export function trees(redis: Redis | undefined, name: string) {
  return (
    template: RedisHierarchyTemplate,
    options: Partial<RedisHierarchyOptions> = {},
  ): RedisHierarchy =>
    new RedisHierarchy(template, {
      redis: redis!,
      name,
      keyPrefix: uniquePrefix(name),
      ...options,
    });
}

/** The code of the `BudgetError` `promise` rejects with, or `'resolved'`. */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (BudgetError.isInstance(error)) return error.code;
    throw error;
  }
  return 'resolved';
}
