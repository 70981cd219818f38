import { BudgetError } from '@budgetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { budgetKeys, escapeName, RedisBudget } from '../src/index.js';
import { hostile, slotOf } from './helpers/keyspace.js';
import { client, keysUnder, redisReady, sharedPort, uniquePrefix } from './helpers/redis.js';

function wellFormed(s: string): boolean {
  try {
    encodeURIComponent(s);
    return true;
  } catch {
    return false;
  }
}

describe('budget keys', () => {
  it('passes the slot computation its own check value', () => {
    expect(slotOf('123456789')).toBe(0x31c3 % 16384);
  });

  it('puts every key of one budget in one hash slot, for any name', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (prefix, name) => {
        fc.pre(name.length > 0 && !/[{}]/.test(prefix) && wellFormed(name));
        const keys = Object.values(budgetKeys(prefix, name));
        const tag = `{${escapeName(name)}}`;
        for (const key of keys) {
          expect(key.indexOf('{')).toBe(prefix.length + 1);
          expect(key.slice(key.indexOf('{'), key.indexOf('}') + 1)).toBe(tag);
        }
        expect(new Set(keys.map(slotOf)).size).toBe(1);
      }),
    );
  });

  it('gives different names different keys, whatever they contain', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        fc.pre(a !== b && a.length > 0 && b.length > 0 && wellFormed(a) && wellFormed(b));
        const ka = Object.values(budgetKeys('p', a));
        const kb = Object.values(budgetKeys('p', b));
        expect(ka.some((k) => kb.includes(k))).toBe(false);
      }),
    );
    const all = hostile.flatMap((name) => Object.values(budgetKeys('p', name)));
    expect(new Set(all).size).toBe(all.length);
  });

  it('puts budgets given one slot in one hash slot, never on keys of another budget', () => {
    const name = fc.string({ unit: 'binary', minLength: 1 }).filter(wellFormed);
    fc.assert(
      fc.property(name, name, name, (slot, a, b) => {
        const ka = Object.values(budgetKeys('p', a, slot));
        const kb = Object.values(budgetKeys('p', b, slot));
        expect(new Set([...ka, ...kb].map(slotOf)).size).toBe(1);
        // Another name in the slot, or any budget without one, has keys of its own.
        const others = [...(a === b ? [] : kb), ...Object.values(budgetKeys('p', a))];
        expect(ka.some((k) => others.includes(k))).toBe(false);
        expect(Object.values(budgetKeys('p', slot)).some((k) => ka.includes(k))).toBe(false);
      }),
    );
    expect(budgetKeys('app', 'tpm', 'acme').state).toBe('app:{acme}:tpm:state');
  });

  it('refuses an empty or non-string slot option, changing nothing', async () => {
    // Refused before any call: a client that would fail the test if it were used.
    const fail = () => Promise.reject(new Error('sent a command'));
    const unused = { evalsha: fail, eval: fail };
    for (const slot of ['', 7, null]) {
      let code = 'none';
      try {
        new RedisBudget(10, { redis: unused, name: 'n', slot: slot as string });
      } catch (error) {
        code = BudgetError.isInstance(error) ? error.code : 'untyped';
      }
      expect(code).toBe('INVALID_ARGUMENT');
    }
  });

  it('escapes braces, colons, spaces and newlines out of the hash tag', () => {
    for (const name of hostile) {
      expect(escapeName(name)).not.toMatch(/[{}:\s]/);
    }
    expect(escapeName('a}:{b c\n')).toBe('a%7D%3A%7Bb%20c%0A');
  });

  it('refuses a prefix with braces, an empty name and a lone surrogate', () => {
    for (const [prefix, name] of [
      ['a{', 'x'],
      ['b}', 'x'],
      ['ok', ''],
      ['ok', '\uD800'],
    ] as const) {
      let code = 'none';
      try {
        budgetKeys(prefix, name);
      } catch (error) {
        code = BudgetError.isInstance(error) ? error.code : 'untyped';
      }
      expect(code).toBe('INVALID_ARGUMENT');
    }
  });
});

describe.skipIf(!redisReady)('tenant isolation in Redis', () => {
  it('keeps every hostile tenant id to its own keys and its own units', async () => {
    const port = await sharedPort();
    const r = client(port);
    try {
      const keyPrefix = uniquePrefix('tenants');
      const budgets = hostile.map((name) => new RedisBudget(10, { redis: r, name, keyPrefix }));
      for (const [i, b] of budgets.entries()) {
        expect(await b.tryReserve(i % 10)).toBe(true);
        await b.tryAcquire(1);
      }
      for (const [i, b] of budgets.entries()) {
        expect(await b.available()).toBe(10 - (i % 10) - 1);
      }
      const found = await keysUnder(r, keyPrefix);
      const expected = hostile.flatMap((name) => {
        const k = budgetKeys(keyPrefix, name);
        return [k.state, k.leases, k.deadlines, k.graveyard];
      });
      expect(found).toEqual([...expected].sort());
      for (const b of budgets) await b.destroy();
      expect(await keysUnder(r, keyPrefix)).toEqual([]);
    } finally {
      r.disconnect();
    }
  });
});
