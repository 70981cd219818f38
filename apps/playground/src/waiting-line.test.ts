import { describe, expect, it } from 'vitest';
import { Simulation, START_MS, STEP_MS } from './simulation.js';
import type { Request } from './tenants.js';
import { type WaitEnd, WaitingLine } from './waiting-line.js';

const call = (tenant: number): Request => ({ tenant, prompt: 100, completion: 50 });

function line() {
  const ends: WaitEnd[] = [];
  return { line: new WaitingLine(STEP_MS, (end) => ends.push(end)), ends };
}

describe('WaitingLine', () => {
  it('gives up at once, counted then, when the first retry hint lies past the deadline', () => {
    const { line: l, ends } = line();
    expect(l.join(call(0), 1_000, 6_000, 86_400_000)).toBe(false);
    expect(l.length).toBe(0);
    expect(ends).toEqual([
      { request: call(0), since: 1_000, deadline: 6_000, at: 1_000, admitted: false },
    ]);
  });

  it('retries when the hint says, and gives up at its deadline when every retry is denied', async () => {
    const { line: l, ends } = line();
    expect(l.join(call(1), 0, 1_000)).toBe(true);
    expect(l.waitingFor(1)).toBe(1);
    const tries: number[] = [];
    for (let now = STEP_MS; now <= 2_000; now += STEP_MS) {
      await l.serve(now, async () => {
        tries.push(now);
        return {};
      });
    }
    // No hint: a retry each step, the last one at the deadline itself, and not one after.
    expect(tries).toEqual([250, 500, 750, 1_000]);
    expect(ends).toEqual([
      { request: call(1), since: 0, deadline: 1_000, at: 1_000, admitted: false },
    ]);
    expect(l.waitingFor(1)).toBe(0);
  });

  it('gives up at the retry that learns its next chance is past the deadline', async () => {
    const { line: l, ends } = line();
    l.join(call(0), 0, 5_000, 2_000);
    await l.serve(1_000, async () => ({})); // not its time yet: no retry
    await l.serve(2_000, async () => ({ retryAfterMs: 4_000 }));
    expect(ends).toEqual([
      { request: call(0), since: 0, deadline: 5_000, at: 2_000, admitted: false },
    ]);
  });

  it('lets an admitted caller go, in the order they joined, and the rest give up at the end', async () => {
    const { line: l, ends } = line();
    l.join(call(0), 0, 9_000);
    l.join(call(1), 0, 9_000, 3_000);
    l.join(call(2), 0, 9_000);
    const order: number[] = [];
    await l.serve(250, async (request) => {
      order.push(request.tenant);
      return request.tenant === 2 ? undefined : { retryAfterMs: 1_000 };
    });
    expect(order).toEqual([0, 2]);
    expect(ends.map((e) => [e.request.tenant, e.admitted, e.at])).toEqual([[2, true, 250]]);
    l.giveUpAll(500);
    expect(ends.map((e) => [e.request.tenant, e.admitted, e.at])).toEqual([
      [2, true, 250],
      [0, false, 500],
      [1, false, 500],
    ]);
    expect([l.length, l.waitingFor(0), l.waitingFor(1), l.waitingFor(2)]).toEqual([0, 0, 0, 0]);
  });
});

describe('waiting in a run of 50 tenants over two simulated hours', () => {
  it('ends every wait by its deadline, and holds the line to the callers of the last two minutes', async () => {
    const ends: WaitEnd[] = [];
    const sim = await Simulation.open({
      tenants: 50,
      minutes: 120,
      seed: 42,
      backend: 'memory',
      onWaitEnd: (end) => ends.push(end),
    });
    // The line as the live view sees it, at the end of every minute.
    const seen: number[] = [];
    while (!sim.done) {
      if ((await sim.step()) !== undefined) {
        seen.push(sim.snapshot().tenants.reduce((sum, t) => sum + t.waiting, 0));
      }
    }
    const result = await sim.finish();
    expect(result.held).toBe(true);
    const late = ends.filter((e) => e.at > e.deadline);
    expect(late).toEqual([]);
    // Deadlines are 3 to 20 seconds away, so no wait lasts longer.
    expect(Math.max(...ends.map((e) => e.at - e.since))).toBeLessThanOrEqual(20_000);
    // Every caller who waited is accounted for once: admitted after waiting, or timed out.
    const totals = result.intervals.flatMap((i) => Object.values(i.tenants));
    const sum = (key: 'queued' | 'afterWait' | 'timedOut' | 'offered') =>
      totals.reduce((s, c) => s + c[key], 0);
    expect(ends).toHaveLength(sum('queued'));
    expect(ends.filter((e) => e.admitted)).toHaveLength(sum('afterWait'));
    expect(ends.filter((e) => !e.admitted)).toHaveLength(sum('timedOut'));
    // The line after each minute's last step, from the waits' own times, is what the view
    // showed, and never more than the calls offered in that minute and the one before: a wait
    // lasts 20 s at most, so the line follows the arrival rate, not the length of the run.
    const waitingAfter = (t: number) => ends.filter((e) => e.since <= t && e.at > t).length;
    const offered = result.intervals.map((i) =>
      Object.values(i.tenants).reduce((s, c) => s + c.offered, 0),
    );
    expect(seen).toHaveLength(120);
    seen.forEach((waiting, i) => {
      expect(waiting).toBe(waitingAfter(START_MS + (i + 1) * 60_000 - STEP_MS));
      expect(waiting).toBeLessThanOrEqual(offered[i]! + (offered[i - 1] ?? 0));
    });
    expect(Math.max(...seen)).toBeGreaterThan(0);
  }, 60_000);
});
