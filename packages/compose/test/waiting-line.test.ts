// The waiting line's queue against a plain model: a sorted array (priority high first, then
// arrival), with shift and splice. Joins, serving the head and leaving from anywhere, in any
// order and at any length, must give the same order of service.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WaiterLine } from '../src/waiting/line.js';
import type { Waiter } from '../src/waiting/waiter.js';

function waiter(priority: number, seq: number): Waiter {
  return {
    cost: 1,
    priority,
    seq,
    resolve: () => {},
    reject: () => {},
    cancelTimer: undefined,
    signal: undefined,
    onAbort: undefined,
    slot: 0,
  };
}

const ops = fc.array(
  fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        op: fc.constant('join' as const),
        priority: fc.integer({ min: -2, max: 2 }),
      }),
    },
    { weight: 3, arbitrary: fc.constant({ op: 'serve' as const }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('leave' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.constant({ op: 'drain' as const }) },
  ),
  { maxLength: 300 },
);

describe('the waiting line', () => {
  it('serves in the order of a sorted array, whatever joins and leaves', () => {
    fc.assert(
      fc.property(ops, (steps) => {
        const line = new WaiterLine();
        let model: Waiter[] = [];
        const everyone: Waiter[] = [];
        let seq = 0;
        for (const s of steps) {
          if (s.op === 'join') {
            const w = waiter(s.priority, seq++);
            everyone.push(w);
            line.push(w);
            let at = model.findIndex((m) => m.priority < w.priority);
            if (at < 0) at = model.length;
            model.splice(at, 0, w);
          } else if (s.op === 'serve') {
            const head = line.peek();
            expect(head).toBe(model[0]);
            if (head !== undefined) expect(line.remove(head)).toBe(true);
            model.shift();
          } else if (s.op === 'leave') {
            // Anyone ever queued: those already gone must be refused, changing nothing.
            const w = everyone[s.pick % Math.max(1, everyone.length)];
            if (w === undefined) continue;
            const i = model.indexOf(w);
            expect(line.remove(w)).toBe(i >= 0);
            if (i >= 0) model.splice(i, 1);
          } else {
            expect(line.drain()).toEqual(model);
            model = [];
          }
          expect(line.size).toBe(model.length);
          expect(line.peek()).toBe(model[0]);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps order across compaction of a long line that mostly gave up', () => {
    const line = new WaiterLine();
    const all = Array.from({ length: 5_000 }, (_, i) => waiter(0, i));
    for (const w of all) line.push(w);
    // Everyone but every 7th gives up, the head first, which triggers compaction.
    for (const w of all) if (w.seq % 7 !== 0) line.remove(w);
    const served: number[] = [];
    for (let w = line.peek(); w !== undefined; w = line.peek()) {
      served.push(w.seq);
      line.remove(w);
    }
    expect(served).toEqual(all.filter((w) => w.seq % 7 === 0).map((w) => w.seq));
    expect(line.remove(all[0]!)).toBe(false);
  });
});
