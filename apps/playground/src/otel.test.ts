import { describe, expect, it } from 'vitest';
import { DIMENSIONS, type OtelBudget, type OtelSummary, otelChecks } from './otel-summary.js';
import type { RunResult } from './result.js';
import { Simulation, type SimulationConfig } from './simulation.js';
import { sumTenantCounts, type TenantCounts } from './stats.js';

// The default run: the daily dollar cap runs out before midnight, and is half spent again
// by the end of the new day's first minutes.
const base: SimulationConfig = { tenants: 5, minutes: 8, seed: 42, backend: 'memory' };

const runs = new Map<string, Promise<RunResult>>();
/** Each configuration runs once for the whole file. */
function run(config: Partial<SimulationConfig> = {}): Promise<RunResult> {
  const key = JSON.stringify(config);
  let found = runs.get(key);
  if (found === undefined) {
    found = Simulation.open({ ...base, ...config }).then((sim) => sim.finish());
    runs.set(key, found);
  }
  return found;
}

const exported = () => run({ otel: { shadow: undefined } });

function total(result: RunResult): TenantCounts {
  return sumTenantCounts(result.intervals.flatMap((i) => Object.values(i.tenants)));
}

function series(s: OtelSummary, budget: string, tenant?: string): OtelBudget {
  const found = s.budgets.find((b) => b.budget === budget && b.tenant === tenant);
  if (found === undefined) throw new Error(`no exported series for ${budget} ${tenant ?? ''}`);
  return found;
}

/** A figure from a check's detail, such as `available 0` in `tokens/min: budget = …`. */
function figure(result: RunResult, check: string, name: string): number {
  const detail = result.checks.find((c) => c.name === check)!.detail;
  return Number(new RegExp(`${name} ([\\d ]+)`).exec(detail)![1]!.replaceAll(' ', ''));
}

describe('--otel', () => {
  it('leaves the run as it was: the same figures, with what was exported beside them', async () => {
    const plain = await run();
    const { otel, ...rest } = await exported();
    expect(rest).toEqual(plain);
    expect(otel?.budgets.map((b) => b.tenant ?? b.budget)).toEqual([
      'requests/min',
      'tokens/min',
      'dollars/day',
      'all tenants/min',
      'acme',
      'globex',
      'initech',
      'umbrella',
      'hooli',
    ]);
    // The same seed, the same export.
    const again = await (await Simulation.open({ ...base, otel: { shadow: undefined } })).finish();
    expect(again).toEqual(await exported());
  });

  it("counts each budget's denials as the run does: the report's first attempts plus the retries", async () => {
    const result = await exported();
    const s = result.otel!;
    const report = total(result).denied;
    // The report's denials, by the coordinator's dimension (its tenant and global are one).
    expect(s.run.firstAttempts).toEqual({
      requests: report.requests,
      tokens: report.tokens,
      dollars: report.dollars,
      tenant: report.tenant + report.global,
    });
    for (const d of DIMENSIONS) {
      const denied = s.run.firstAttempts[d] + s.run.retries[d];
      expect(s.run.firstAttempts[d], d).toBeGreaterThan(0);
      expect(s.run.retries[d], d).toBeGreaterThanOrEqual(0);
      expect(s.dispatches[`denied by ${d}`], d).toBe(denied);
      const own =
        d === 'requests'
          ? s.spans['budgetry.reserve requests/min']!.denied
          : d === 'tenant'
            ? denied // a hierarchy reports no denials of its own
            : series(s, d === 'tokens' ? 'tokens/min' : 'dollars/day').metrics['budgetry.denials'];
      expect(own, d).toBe(denied);
    }
    // Every dispatch the report admitted, and only those, was granted in the export.
    expect(s.dispatches.granted).toBe(total(result).admitted);
    expect(s.spans['budgetry.dispatch llm']!.granted).toBe(total(result).admitted);
    const attempts = Object.values(s.spans['budgetry.dispatch llm']!).reduce((a, b) => a + b, 0);
    expect(s.spans['budgetry.reserve requests/min']!.granted).toBe(
      attempts - s.dispatches['denied by requests']!,
    );
    expect(s.checks.filter((c) => !c.ok)).toEqual([]);
  });

  it("exports each budget's final gauges as the auditor's ledger has them", async () => {
    const result = await exported();
    const s = result.otel!;
    for (const [label, check] of [
      ['tokens/min', "tokens/min: budget = auditor's ledger"],
      ['dollars/day', "dollars/day: budget = auditor's ledger"],
    ] as const) {
      const m = series(s, label).metrics;
      expect(m['budgetry.available'], label).toBe(figure(result, check, 'available'));
      expect(m['budgetry.debt'], label).toBe(figure(result, check, 'debt'));
      const capacity = label === 'tokens/min' ? 50_000 : 1_500_000;
      expect(m['budgetry.utilization']).toBeCloseTo(
        (capacity - m['budgetry.available']! + m['budgetry.debt']!) / capacity,
        9,
      );
    }
    const held = figure(result, 'tenants: Σ tenants held + own held = global held ≤ capacity', '=');
    expect(series(s, 'all tenants/min').metrics['budgetry.available']).toBe(56_000 - held);
  });

  it('reports each threshold level at most once per epoch, and counts what it reports', async () => {
    const result = await exported();
    const s = result.otel!;
    const keys = s.thresholds.map((e) => `${e.budget} ${e.level} ${e.epoch}`);
    expect(new Set(keys).size).toBe(keys.length);
    const tokenEpochs = result.refills.filter((r) => r.budget === 'tokens').length + 1;
    for (const e of s.thresholds) {
      expect(e.utilization).toBeGreaterThanOrEqual(e.level);
      if (e.budget === 'tokens/min') expect(e.epoch).toBeLessThan(tokenEpochs);
    }
    // Half the tokens budget is spent in (nearly) every minute: one event per epoch at most.
    const half = s.thresholds.filter((e) => e.budget === 'tokens/min' && e.level === 0.5);
    expect(half.length).toBeGreaterThanOrEqual(tokenEpochs - 1);
    expect(half.length).toBeLessThanOrEqual(tokenEpochs);
    // The dollar cap fills up before midnight: each level it reached then is reported once (all
    // three when a call's overrun takes it to 100 %), and the new day's epoch is armed again.
    const dollars = s.thresholds.filter((e) => e.budget === 'dollars/day');
    const peak = Math.max(
      ...result.intervals
        .filter((i) => i.start < '24:00' && i.start >= '12:00')
        .map((i) => i.budgets.dollars.peakUtilization),
    );
    expect(peak).toBeGreaterThan(0.8);
    const reached = [0.5, 0.8, 1].filter((level) => level <= peak);
    expect(dollars.filter((e) => e.epoch === 0).map((e) => e.level)).toEqual(reached);
    expect(dollars.filter((e) => e.epoch === 1).map((e) => e.level)).toEqual([0.5]);
    expect(dollars.find((e) => e.epoch === 1)!.at).toMatch(/^00:/);
    for (const b of [series(s, 'tokens/min'), series(s, 'dollars/day')]) {
      for (const [level, n] of Object.entries(b.crossings)) {
        const fired = s.thresholds.filter(
          (e) => e.budget === b.budget && String(e.level) === level,
        );
        expect(n).toBe(fired.length);
      }
    }
  });

  it('flags exported figures that do not match the run', async () => {
    const { otel } = await exported();
    const { checks: _, ...s } = otel!;
    const readings = {
      'tokens/min': {
        available: series(otel!, 'tokens/min').metrics['budgetry.available']!,
        debt: series(otel!, 'tokens/min').metrics['budgetry.debt']!,
      },
    };
    const failing = (changed: Omit<OtelSummary, 'checks'>, r = readings) =>
      otelChecks(changed, r)
        .filter((c) => !c.ok)
        .map((c) => c.name);
    expect(failing(s)).toEqual([]);
    const oneMore = { ...s.dispatches, 'denied by tokens': s.dispatches['denied by tokens']! + 1 };
    expect(failing({ ...s, dispatches: oneMore })).toEqual(['otel: denials by budget = the run’s']);
    const twice = [...s.thresholds, s.thresholds[0]!];
    expect(failing({ ...s, thresholds: twice })).toEqual([
      'otel: threshold events once per epoch, as counted',
    ]);
    const stale = {
      'tokens/min': { ...readings['tokens/min'], debt: 1 + readings['tokens/min'].debt },
    };
    expect(failing(s, stale)).toEqual(['otel: gauges = the budgets’ final figures']);
    const lessGranted = { ...s.dispatches, granted: s.dispatches.granted! - 1 };
    expect(failing({ ...s, dispatches: lessGranted })).toEqual([
      'otel: dispatches granted = the run’s',
    ]);
  });
});

describe('--otel-shadow', () => {
  it("tenant: the tenants' budgets deny nothing, and the report says what they would have", async () => {
    const enforced = await exported();
    const result = await run({ otel: { shadow: 'tenant' } });
    const s = result.otel!;
    expect(result.held).toBe(true);
    expect(s.checks.filter((c) => !c.ok)).toEqual([]);
    expect(total(result).denied.tenant + total(result).denied.global).toBe(0);
    expect(s.dispatches['denied by tenant']).toBeUndefined();
    const shadow = s.shadow!;
    expect(shadow.budget).toBe('tenant');
    // The tenant is the coordinator's last dimension: whatever it lets through is admitted.
    expect(shadow.passes).toBeGreaterThan(10);
    expect(shadow.admitted).toBe(shadow.passes);
    expect(shadow.byTenant!.acme).toBeGreaterThan(0);
    expect(Object.values(shadow.byTenant!).reduce((a, b) => a + b, 0)).toBe(shadow.passes);
    const acme = series(s, 'tenant', 'acme');
    expect(acme.mode).toBe('shadow');
    expect(acme.metrics['budgetry.shadow.passes']).toBe(shadow.byTenant!.acme);
    // Unchecked by its own budget, the greedy tenant gets more through.
    const admitted = (r: RunResult) =>
      sumTenantCounts(r.intervals.map((i) => i.tenants.acme!)).admitted;
    expect(admitted(result)).toBeGreaterThan(admitted(enforced));
  });

  it.each([
    ['tokens', 'tokens/min'],
    ['dollars', 'dollars/day'],
  ] as const)(
    '%s: it denies nothing, its ledger holds, and what it let through is kept apart',
    async (budget, label) => {
      const result = await run({ otel: { shadow: budget } });
      const s = result.otel!;
      expect(result.checks.filter((c) => !c.ok)).toEqual([]);
      expect(s.checks.filter((c) => !c.ok)).toEqual([]);
      expect(s.run.firstAttempts[budget] + s.run.retries[budget]).toBe(0);
      const b = series(s, label);
      expect(b.mode).toBe('shadow');
      // The policy's own denials are exactly what its shadow let through.
      expect(b.metrics['budgetry.denials']).toBe(s.shadow!.passes);
      expect(s.shadow!.admitted).toBeGreaterThan(0);
      expect(s.shadow!.admitted).toBeLessThanOrEqual(s.shadow!.passes);
      // Usage of the calls it let through is not charged to it: the auditor keeps it apart.
      const detail = result.checks.find((c) => c.name === `${label}: consumed = Σ reported usage`)!;
      const apart = Number(
        /; ([\d ]+) more on calls its shadow/.exec(detail.detail)![1]!.replaceAll(' ', ''),
      );
      expect(apart).toBe(s.shadow!.usedUnits);
      expect(apart).toBeGreaterThan(0);
    },
  );
});
