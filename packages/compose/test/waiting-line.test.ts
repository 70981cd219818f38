// The waiting line's queue against a plain model: a sorted array (priority high first, then
// arrival), with shift and splice. Joins, serving the head and leaving from anywhere, in any
// order and at any length, must give the same order of service; each waiter's cost must come
// out with it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WaiterLine } from '../src/waiting/line.js';
import type { Entry, Settle, Waiter } from '../src/waiting/waiter.js';

/** A caller in the test: its entry in the line, and what the model knows of it. */
interface Caller {
  readonly entry: Entry;
  readonly id: number;
  readonly cost: number;
  readonly priority: number;
  /** Only a record can leave from the middle. */
  readonly record: Waiter | undefined;
}

function join(line: WaiterLine, id: number, priority: number, record: boolean): Caller {
  const cost = id % 7;
  if (!record) {
    // A plain caller is its settle function alone; a distinct function per caller.
    const settle: Settle = () => {};
    line.push(settle, cost, priority);
    return { entry: settle, id, cost, priority, record: undefined };
  }
  const waiter: Waiter = {
    priority,
    resolve: () => {},
    reject: () => {},
    signal: undefined,
    cancelTimer: undefined,
    group: undefined,
    before: undefined,
    after: undefined,
    slot: 0,
  };
  waiter.slot = line.push(waiter, cost, priority);
  return { entry: waiter, id, cost, priority, record: waiter };
}

const opsWith = (priority: fc.Arbitrary<number>) =>
  fc.array(
    fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record({
          op: fc.constant('join' as const),
          priority,
          record: fc.boolean(),
        }),
      },
      { weight: 3, arbitrary: fc.constant({ op: 'serve' as const }) },
      { weight: 3, arbitrary: fc.record({ op: fc.constant('leave' as const), pick: fc.nat() }) },
      { weight: 1, arbitrary: fc.constant({ op: 'drain' as const }) },
    ),
    { maxLength: 300 },
  );

/** A few priorities: long buckets. */
const ops = opsWith(fc.integer({ min: -2, max: 2 }));
/** Many priorities: most buckets hold one waiter or two, and empty anywhere in the heap. */
const spreadOps = opsWith(fc.integer({ min: -60, max: 60 }));

describe('the waiting line', () => {
  it.each([
    ['a few priorities', ops],
    ['many priorities', spreadOps],
  ])('serves in the order of a sorted array, whatever joins and leaves (%s)', (_, history) => {
    fc.assert(
      fc.property(history, (steps) => {
        const line = new WaiterLine();
        let model: Caller[] = [];
        const records: Caller[] = [];
        let id = 0;
        for (const s of steps) {
          if (s.op === 'join') {
            const c = join(line, id++, s.priority, s.record);
            if (c.record !== undefined) records.push(c);
            let at = model.findIndex((m) => m.priority < c.priority);
            if (at < 0) at = model.length;
            model.splice(at, 0, c);
          } else if (s.op === 'serve') {
            const head = line.peek();
            expect(head).toBe(model[0]?.entry);
            if (head !== undefined) {
              expect(line.peekCost()).toBe(model[0]!.cost);
              line.shift();
            }
            model.shift();
          } else if (s.op === 'leave') {
            // Any record ever queued: those already gone must be refused, changing nothing.
            const c = records[s.pick % Math.max(1, records.length)];
            if (c === undefined) continue;
            const i = model.indexOf(c);
            expect(line.remove(c.entry, c.record!.slot, c.priority)).toBe(i >= 0);
            if (i >= 0) model.splice(i, 1);
          } else {
            expect(line.drain()).toEqual(model.map((m) => m.entry));
            model = [];
          }
          expect(line.size).toBe(model.length);
          expect(line.peek()).toBe(model[0]?.entry);
          if (model[0] !== undefined) expect(line.peekCost()).toBe(model[0].cost);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps order across compaction of a long line that mostly gave up', () => {
    const line = new WaiterLine();
    const all = Array.from({ length: 5_000 }, (_, i) => join(line, i, 0, true));
    // Everyone but every 7th gives up, the head first, which triggers compaction.
    for (const c of all) if (c.id % 7 !== 0) line.remove(c.entry, c.record!.slot, 0);
    const served: number[] = [];
    for (let head = line.peek(); head !== undefined; head = line.peek()) {
      served.push(all.find((c) => c.entry === head)!.id);
      line.shift();
    }
    expect(served).toEqual(all.filter((c) => c.id % 7 === 0).map((c) => c.id));
    expect(line.remove(all[0]!.entry, all[0]!.record!.slot, 0)).toBe(false);
  });

  it('keeps slots valid across compaction while the line is served and joined at once', () => {
    // A standing line of 3 000: each turn serves the head and one joins at the back, so the
    // bucket is compacted many times; records spread over it can still leave by their slot.
    const line = new WaiterLine();
    const queue: Caller[] = [];
    let id = 0;
    for (; id < 3_000; id++) queue.push(join(line, id, 0, id % 3 === 0));
    for (let turn = 0; turn < 8_000; turn++) {
      expect(line.peek()).toBe(queue[0]!.entry);
      expect(line.peekCost()).toBe(queue[0]!.cost);
      line.shift();
      queue.shift();
      queue.push(join(line, id++, 0, id % 3 === 0));
      if (turn % 500 === 499) {
        // A record from the middle leaves; a plain caller's entry is refused.
        const at = queue.findIndex((c, i) => i > 1_000 && c.record !== undefined);
        const c = queue[at]!;
        expect(line.remove(c.entry, c.record!.slot, 0)).toBe(true);
        expect(line.remove(c.entry, c.record!.slot, 0)).toBe(false);
        queue.splice(at, 1);
        queue.push(join(line, id++, 0, false));
      }
      expect(line.size).toBe(queue.length);
    }
    expect(line.drain()).toEqual(queue.map((c) => c.entry));
  });

  it('serves a line that empties and fills again, at any priorities, in order', () => {
    // The bucket of the priority in use stays in the order while the line is empty; a join
    // at another priority must still go ahead of it or behind it as its priority says.
    const line = new WaiterLine();
    for (let round = 0; round < 50; round++) {
      const first = join(line, round, round % 3, false);
      expect(line.peek()).toBe(first.entry);
      line.shift();
      expect(line.size).toBe(0);
      expect(line.peek()).toBeUndefined();
      const low = join(line, 1_000 + round, -1, round % 2 === 0);
      const high = join(line, 2_000 + round, 5, false);
      const same = join(line, 3_000 + round, round % 3, false);
      const served: Entry[] = [];
      for (let head = line.peek(); head !== undefined; head = line.peek()) {
        served.push(head);
        line.shift();
      }
      expect(served).toEqual([high.entry, same.entry, low.entry]);
    }
  });

  it('keeps priority order when a priority in the middle of many empties', () => {
    // Joined in this order, the priorities sit so that when 10 empties, 85 must move up past
    // 50 to its place; left below 50, it would be served after 80.
    const line = new WaiterLine();
    const joined = [100, 50, 90, 10, 20, 80, 85].map((p, i) => join(line, i, p, p === 10));
    const ten = joined.find((c) => c.priority === 10)!;
    expect(line.remove(ten.entry, ten.record!.slot, 10)).toBe(true);
    const served: number[] = [];
    for (let head = line.peek(); head !== undefined; head = line.peek()) {
      served.push(joined.find((c) => c.entry === head)!.priority);
      line.shift();
    }
    expect(served).toEqual([100, 90, 85, 80, 50, 20]);
  });

  it('refuses a record of a priority it has never seen, or one already served', () => {
    const line = new WaiterLine();
    const a = join(line, 1, 0, true);
    expect(line.remove(a.entry, a.record!.slot, 3)).toBe(false);
    expect(line.size).toBe(1);
    line.peek();
    line.shift();
    expect(line.remove(a.entry, a.record!.slot, 0)).toBe(false);
    expect(line.size).toBe(0);
  });
});
