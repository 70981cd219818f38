import { describe, expect, it } from 'vitest';
import { ControlError, parseControlChange } from './controls.js';
import { Simulation, type SimulationConfig } from './simulation.js';
import { sumTenantCounts, totalDenied } from './stats.js';

const base: SimulationConfig = { tenants: 5, minutes: 6, seed: 42, backend: 'memory' };
const STEPS_PER_MINUTE = 240;

/** Runs `minutes` whole minutes, then applies `change`, then runs to the end. */
async function runWith(
  change: Parameters<Simulation['control']>[0] | undefined,
  at = 2,
  config = base,
) {
  const sim = await Simulation.open(config);
  for (let i = 0; i < at * STEPS_PER_MINUTE; i++) await sim.step();
  if (change !== undefined) sim.control(change);
  const result = await sim.finish();
  const after = result.intervals.slice(at);
  return { sim, result, after };
}

function admittedAndDenied(intervals: Awaited<ReturnType<typeof runWith>>['after']) {
  const sum = sumTenantCounts(intervals.flatMap((i) => Object.values(i.tenants)));
  return { offered: sum.offered, admitted: sum.admitted, denied: totalDenied(sum) };
}

describe('changing the run while it goes on', () => {
  it('raises demand at once: more calls offered, more denied', async () => {
    const plain = admittedAndDenied((await runWith(undefined)).after);
    const busy = await runWith({ demand: 3 });
    const more = admittedAndDenied(busy.after);
    expect(more.offered).toBeGreaterThan(plain.offered * 2);
    expect(more.denied).toBeGreaterThan(plain.denied);
    expect(busy.result.held).toBe(true);
    expect(busy.sim.controls().demand).toEqual([3, 3, 3, 3, 3]);
  });

  it('changes one tenant’s demand by name', async () => {
    const { sim, after } = await runWith({ tenantDemand: { hooli: 0 } });
    expect(sim.controls().demand).toEqual([1, 1, 1, 1, 0]);
    expect(after.every((i) => i.tenants.hooli!.offered === 0)).toBe(true);
  });

  for (const backend of ['memory', 'shared'] as const) {
    it(`lowers tokens per minute by a new generation that the auditor holds too (${backend})`, async () => {
      const { sim, result, after } = await runWith(
        { tokensPerMinute: 20_000, usdMicrosPerDay: 900_000 },
        2,
        { ...base, backend },
      );
      expect(sim.controls().capacities).toMatchObject({
        tokensPerMinute: 20_000,
        usdMicrosPerDay: 900_000,
      });
      expect(sim.controls().pending).toEqual({});
      for (const minute of after.slice(1)) {
        // What was reported in a minute stays near the new capacity (overage is owed as debt).
        expect(minute.budgets.tokens.used).toBeLessThan(20_000 * 1.5);
      }
      expect(result.checks.filter((c) => !c.ok)).toEqual([]);
      // Both generations of both budgets are checked: 4 × 3 + tenants + dispatches.
      expect(result.checks).toHaveLength(14);
      const carried = result.checks.filter((c) => c.name.includes('carried in'));
      expect(carried.map((c) => c.name)).toEqual([
        'tokens/min from 23:57: consumed = Σ reported usage + carried in',
        'dollars/day from 23:57: consumed = Σ reported usage + carried in',
      ]);
      expect(result.checks.map((c) => c.detail).join('\n')).toMatch(/carried in/);
    });
  }

  it('carries the day’s spend into a lower daily cap: dollars deny at once', async () => {
    const { after, result } = await runWith({ usdMicrosPerDay: 100_000 }, 3);
    // $0.10 a day is less than was already spent today: nothing more until midnight.
    expect(after[0]!.budgets.dollars.denials).toBeGreaterThan(0);
    expect(after[0]!.budgets.dollars.used).toBeLessThan(100_000);
    expect(result.held).toBe(true);
  });

  it('changes each tenant’s own budget through the hierarchy', async () => {
    const plain = await runWith(undefined);
    const { sim, after, result } = await runWith({ tenantPerMinute: 2_000 });
    expect(sim.controls().capacities.tenantPerMinute).toBe(2_000);
    const acme = (r: typeof after) => r.reduce((sum, i) => sum + i.tenants.acme!.tokens, 0);
    expect(acme(after)).toBeLessThan(acme(plain.after) / 3);
    expect(result.held).toBe(true);
  });

  it('still catches a broken budget in a later generation', async () => {
    const { result } = await runWith({ tokensPerMinute: 30_000 }, 2, {
      ...base,
      fault: 'forgive-debt',
    });
    const broken = result.checks.filter((c) => !c.ok).map((c) => c.name);
    expect(broken).toContain("tokens/min from 23:57: budget = auditor's ledger");
  });

  it('refuses bad values and changes nothing', async () => {
    const sim = await Simulation.open(base);
    const before = sim.controls();
    for (const bad of [
      { demand: -1 },
      { demand: 'x' },
      { demand: 1e9 },
      { tokensPerMinute: 1.5 },
      { tokensPerMinute: 5_000, usdMicrosPerDay: -3 },
      { tenantDemand: { nobody: 2 } },
    ]) {
      expect(() => sim.control(bad as never)).toThrow(ControlError);
    }
    expect(sim.controls()).toEqual(before);
  });
});

describe('parseControlChange', () => {
  const tenants = ['acme', 'globex'];
  it('accepts known fields in range', () => {
    expect(parseControlChange({ demand: 2, tenantDemand: { acme: 0.5 } }, tenants)).toEqual({
      demand: 2,
      tenantDemand: { acme: 0.5 },
    });
  });
  it.each([
    [null, /JSON object/],
    [[1], /JSON object/],
    [{}, /nothing to change/],
    [{ speed: 2 }, /unknown control "speed"/],
    [{ demand: '2' }, /demand must be a number from 0 to 20, got "2"/],
    [{ tokensPerMinute: 1e12 }, /tokensPerMinute must be a whole number from 1000 to 10000000/],
    [{ usdMicrosPerDay: Number.NaN }, /usdMicrosPerDay must be/],
    [{ tenantDemand: { wayne: 1 } }, /no tenant named "wayne"/],
    [{ tenantDemand: [] }, /tenantDemand must be an object/],
  ])('refuses %j', (body, message) => {
    expect(() => parseControlChange(body, tenants)).toThrow(message);
  });
});
