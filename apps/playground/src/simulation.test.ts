import { describe, expect, it } from 'vitest';
import { LIMITS } from './gateway.js';
import type { RunResult } from './result.js';
import { Simulation, type SimulationConfig } from './simulation.js';
import { sumTenantCounts } from './stats.js';

const base: SimulationConfig = { tenants: 5, minutes: 8, seed: 42, backend: 'memory' };

async function run(config: Partial<SimulationConfig> = {}) {
  return (await Simulation.open({ ...base, ...config })).finish();
}

describe('the scenario', () => {
  it('replays exactly from its seed, and another seed gives another run', async () => {
    const a = await run({ seed: 5, minutes: 4 });
    expect(await run({ seed: 5, minutes: 4 })).toEqual(a);
    expect((await run({ seed: 6, minutes: 4 })).intervals).not.toEqual(a.intervals);
  });

  it('holds every conservation check on the memory and the shared backend', async () => {
    for (const backend of ['memory', 'shared'] as const) {
      const result = await run({ backend });
      expect(result.checks.filter((c) => !c.ok)).toEqual([]);
      expect(result.held).toBe(true);
      expect(result.checks).toHaveLength(8);
    }
  });

  it('gives the same run on the shared backend as in memory: the same semantics', async () => {
    const memory = await run({ minutes: 4 });
    const shared = await run({ minutes: 4, backend: 'shared' });
    expect(shared.scenario.backend).toMatch(/^shared \(SharedTokenBudget/);
    // Minute by minute, refill by refill, and the same ledgers in the checks.
    const withoutBackend = (r: RunResult) => ({ ...r, scenario: { ...r.scenario, backend: '' } });
    expect(withoutBackend(shared)).toEqual(withoutBackend(memory));
  });

  it('holds the greedy tenant to its own budget while the quiet ones get through', async () => {
    const result = await run();
    const total = (name: string) => sumTenantCounts(result.intervals.map((i) => i.tenants[name]!));
    const greedy = total('acme');
    expect(greedy.denied.tenant).toBeGreaterThan(50);
    // Each minute, what the greedy tenant settled stays near its cap (overage runs a little over).
    for (const i of result.intervals) {
      expect(i.tenants.acme!.tokens).toBeLessThanOrEqual(LIMITS.tenantPerMinute * 1.2);
    }
    for (const quiet of ['initech', 'umbrella', 'hooli']) {
      const c = total(quiet);
      expect(c.denied.tenant).toBe(0);
      expect(c.admitted / c.offered).toBeGreaterThan(0.4);
    }
  });

  it('exercises every path: denials by each gateway budget, waits, timeouts, failures, aborts, overage and debt', async () => {
    const result = await run();
    const all = sumTenantCounts(result.intervals.flatMap((i) => Object.values(i.tenants)));
    expect(all.denied.requests).toBeGreaterThan(0);
    expect(all.denied.tokens).toBeGreaterThan(0);
    expect(all.denied.dollars).toBeGreaterThan(0);
    expect(all.denied.tenant).toBeGreaterThan(0);
    expect(all.afterWait).toBeGreaterThan(0);
    expect(all.timedOut).toBeGreaterThan(0);
    expect(all.failed).toBeGreaterThan(0);
    expect(all.aborted).toBeGreaterThan(0);
    expect(all.overage).toBeGreaterThan(0);
    expect(Math.max(...result.intervals.map((i) => i.budgets.tokens.peakDebt))).toBeGreaterThan(0);
  });

  it('refills the daily dollar cap at local midnight in New York, and tokens every minute', async () => {
    const result = await run();
    expect(result.refills.filter((r) => r.budget === 'dollars')).toEqual([
      { at: '00:00:00', budget: 'dollars', epoch: 1, debtPaid: expect.any(Number) },
    ]);
    // Denied by dollars only in the minutes before midnight.
    const byDollars = result.intervals.filter((i) => i.budgets.dollars.denials > 0);
    expect(byDollars.map((i) => i.start).every((t) => t.startsWith('23:'))).toBe(true);
    expect(byDollars.length).toBeGreaterThan(0);
    // One refill per minute boundary inside the run, none at its end.
    expect(result.refills.filter((r) => r.budget === 'tokens')).toHaveLength(7);
    expect(result.refills.filter((r) => r.budget === 'global')).toHaveLength(7);
  });

  it('reports each minute on its own, not running totals', async () => {
    const result = await run();
    const consumed = Number(
      result.checks
        .find((c) => c.name === 'tokens/min: consumed = Σ reported usage')!
        .detail.match(/^consumed ([\d ]+),/)![1]!
        .replaceAll(' ', ''),
    );
    const perMinute = result.intervals.map((i) => i.budgets.tokens.used);
    expect(perMinute.reduce((a, b) => a + b, 0)).toBe(consumed);
    // A minute's figure is bounded by what one minute allows, so it cannot be a running total.
    for (const used of perMinute) expect(used).toBeLessThan(LIMITS.tokensPerMinute * 1.2);
    expect(result.intervals.map((i) => i.minute)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('reports a budget that forgives overage as broken, with the figures that disagree', async () => {
    const result = await run({ fault: 'forgive-debt' });
    expect(result.held).toBe(false);
    const broken = result.checks.filter((c) => !c.ok);
    expect(broken.map((c) => c.name)).toEqual(["tokens/min: budget = auditor's ledger"]);
    expect(broken[0]!.detail).toMatch(
      /^end of minute \d: the budget shows available [\d ]+, debt 0, .*; the auditor's ledger says available 0, debt [1-9]/,
    );
  });
});
