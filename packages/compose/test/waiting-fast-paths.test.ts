// The waiting line's shortcuts, each against the behaviour it must keep: subscriptions kept
// across a line that empties and refills at once, a core budget's own permits handed out
// bare, waiters without a signal or timeout kept as their resolve alone, the ceiling read
// through a reader chosen once per guard.
import { AtomicBudget, BudgetError, type SyncBudgetPermit } from '@budgetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hierarchy } from '../src/hierarchy/hierarchy.js';
import { Subscriptions } from '../src/waiting/subscriptions.js';
import { waiting } from '../src/waiting/waiter-queue.js';
import { counted, flush, outcome } from './helpers/waiting-outcome.js';

const microtask = () => Promise.resolve();

describe('subscriptions of a waiting line', () => {
  const source = () => {
    const log: string[] = [];
    let n = 0;
    return {
      log,
      subscribe(_listener: (event?: unknown) => void) {
        const id = ++n;
        log.push(`+${id}`);
        return () => log.push(`-${id}`);
      },
    };
  };

  it('takes each source once, and drops them now or at the end of the microtask', async () => {
    const a = source();
    const b = source();
    let idle = true;
    const subs = new Subscriptions(
      [a, b],
      () => {},
      () => idle,
    );
    subs.take();
    subs.take();
    expect([a.log, b.log]).toEqual([['+1'], ['+1']]);
    expect(subs.active).toBe(true);
    subs.dropSoon();
    subs.dropSoon();
    expect(subs.active).toBe(true); // not yet: the end of this microtask
    await microtask();
    expect(subs.active).toBe(false);
    expect([a.log, b.log]).toEqual([
      ['+1', '-1'],
      ['+1', '-1'],
    ]);
    subs.take();
    subs.drop();
    expect(subs.active).toBe(false);
    expect(a.log).toEqual(['+1', '-1', '+2', '-2']);
    // A line joined again before the check keeps its subscriptions.
    subs.take();
    subs.dropSoon();
    idle = false;
    await microtask();
    expect(subs.active).toBe(true);
    expect(a.log).toEqual(['+1', '-1', '+2', '-2', '+3']);
  });

  it('takes none when a source refuses, undoing the ones already taken', () => {
    const a = source();
    const refusing = {
      subscribe(): () => void {
        throw new Error('no');
      },
    };
    const subs = new Subscriptions(
      [a, refusing],
      () => {},
      () => true,
    );
    expect(() => subs.take()).toThrow('no');
    expect(subs.active).toBe(false);
    expect(a.log).toEqual(['+1', '-1']);
    subs.dropSoon(); // nothing held: nothing queued
    expect(subs.active).toBe(false);
  });

  it('a line that empties and is joined again in the same turn subscribes once', async () => {
    const { budget, active, taken } = counted(1);
    const line = waiting(budget);
    // Two callers taking turns: the one holding the unit gives it back, which serves the
    // other and empties the line, and queues again at once, as a caller in a loop does.
    let held = await line.acquire(1);
    let queued = line.acquire(1);
    for (let turn = 0; turn < 100; turn++) {
      held.releaseSync(); // serves the queued caller: the line is empty
      const again = line.acquire(1); // ... and joined again in the same turn
      held = await queued;
      queued = again;
    }
    expect(taken()).toBe(1);
    expect(line.pending).toBe(1);
    held.releaseSync(); // the last waiter is served: the line empties for good
    expect(active()).toBe(1); // kept until the end of the microtask it emptied in
    await microtask();
    expect(active()).toBe(0);
    (await queued).releaseSync();
    expect(budget.available()).toBe(1);
  });
});

describe("a line over a core AtomicBudget hands out the budget's own permits", () => {
  it('a permit taken while nobody waited wakes a waiter that joined after it', async () => {
    const { budget, active } = counted(2);
    const line = waiting(budget);
    const p = await line.acquire(2); // nobody waits: nothing subscribed
    expect(active()).toBe(0);
    const w = outcome(line.acquire(1));
    expect(active()).toBe(1);
    p.releaseSync();
    expect(line.pending).toBe(0); // served in the release, synchronously
    await flush();
    expect(w.now()).toBe('granted 1');
    expect(budget.available()).toBe(1);
  });

  it('a partial commit wakes the waiter that needs what came back', async () => {
    const budget = new AtomicBudget(5, { leakBackstop: false });
    const line = waiting(budget);
    const p = await line.acquire(5);
    const w = outcome(line.acquire(3));
    p.commitSync(2); // 3 come back
    await flush();
    expect(w.now()).toBe('granted 3');
    expect(budget.available()).toBe(0);
    expect(p.commitSync()).toBe(false); // settled once
  });

  it('a permit dropped without release is refunded by the backstop, which wakes the line', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc).toBeDefined(); // the test project runs with --expose-gc
    if (gc === undefined) return;
    const budget = new AtomicBudget(1); // leak backstop on (the default)
    const line = waiting(budget);
    await (async () => {
      await line.acquire(1); // dropped
    })();
    const w = outcome(line.acquire(1));
    for (let i = 0; i < 20 && w.now() === 'pending'; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(w.now()).toBe('granted 1');
    expect(budget.leaks()).toBe(1);
  });

  it('wraps the permits of a subclass, which may not report its releases', async () => {
    class Silent extends AtomicBudget {
      override subscribe(): () => void {
        return () => {};
      }
    }
    const budget = new Silent(1, { leakBackstop: false });
    const line = waiting(budget);
    const p = await line.acquire(1);
    const w = outcome(line.acquire(1));
    p.releaseSync(); // only the line's own permit can wake it
    await flush();
    expect(w.now()).toBe('granted 1');
  });
});

describe('waiters with neither signal nor timeout', () => {
  it('are rejected with CLOSED on close, each with its own error, none unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const line = waiting(new AtomicBudget(1, { leakBackstop: false }));
      await line.acquire(1);
      const plain = [line.acquire(1), line.acquire(1, { priority: 3 }), line.acquire(1)];
      const errors: unknown[] = [];
      for (const p of plain) p.catch((e: unknown) => errors.push(e));
      line.close();
      await flush();
      expect(errors.map((e) => (BudgetError.isInstance(e) ? e.code : e))).toEqual([
        'CLOSED',
        'CLOSED',
        'CLOSED',
      ]);
      expect(new Set(errors).size).toBe(3);
      expect(line.pending).toBe(0);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });

  it('are served in order of priority, then arrival, among waiters that may abort', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({
              op: fc.constant('join' as const),
              priority: fc.integer({ min: 0, max: 2 }),
              abortable: fc.boolean(),
            }),
            fc.record({ op: fc.constant('abort' as const), pick: fc.nat() }),
            fc.constant({ op: 'serve' as const }),
          ),
          { maxLength: 25 },
        ),
        async (steps) => {
          const budget = new AtomicBudget(1, { leakBackstop: false });
          const line = waiting(budget);
          let held: SyncBudgetPermit | undefined = await line.acquire(1);
          interface Joined {
            readonly id: number;
            readonly priority: number;
            readonly controller: AbortController | undefined;
            readonly result: ReturnType<typeof outcome>;
          }
          let model: Joined[] = []; // still waiting, in the order they must be served
          const joined: Joined[] = [];
          for (const s of steps) {
            if (s.op === 'join') {
              const controller = s.abortable ? new AbortController() : undefined;
              const options =
                controller === undefined
                  ? s.priority === 0
                    ? undefined
                    : { priority: s.priority }
                  : { priority: s.priority, signal: controller.signal };
              const j: Joined = {
                id: joined.length,
                priority: s.priority,
                controller,
                result: outcome(line.acquire(1, options)),
              };
              joined.push(j);
              if (held === undefined && model.length === 0) {
                // The unit is free and nobody waits: granted at once.
                await flush();
                expect(j.result.now()).toBe('granted 1');
                held = j.result.permit();
                continue;
              }
              let at = model.findIndex((m) => m.priority < j.priority);
              if (at < 0) at = model.length;
              model.splice(at, 0, j);
            } else if (s.op === 'abort') {
              const abortable = joined.filter((j) => j.controller !== undefined);
              const j = abortable[s.pick % Math.max(1, abortable.length)];
              if (j === undefined) continue;
              j.controller!.abort();
              model = model.filter((m) => m !== j);
            } else if (held !== undefined) {
              held.releaseSync();
              held = undefined;
              await flush();
              const next = model.shift();
              if (next !== undefined) {
                expect(next.result.now()).toBe('granted 1');
                held = next.result.permit();
              }
            }
            await flush();
            expect(line.pending).toBe(model.length);
            for (const m of model) expect(m.result.now()).toBe('pending');
          }
          line.close();
          held?.releaseSync();
          expect(budget.available()).toBe(1);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('the ceiling a waiting line checks', () => {
  it('follows a hierarchy child whose capacity is changed after the line was built', async () => {
    const root = hierarchy({ capacity: 100, children: { capacity: 10 } });
    const acme = root.child('acme');
    const line = waiting(acme);
    root.child('acme', { capacity: 4 });
    const tooBig = outcome(line.acquire(5));
    await flush();
    expect(tooBig.now()).toBe('EXCEEDS_CAPACITY');
    root.child('acme', { capacity: 10 });
    expect((await line.acquire(5)).cost).toBe(5);
    line.close();
  });
});
