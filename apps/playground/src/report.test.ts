import { describe, expect, it } from 'vitest';
import { refillsIn, renderIntervalLine, renderReport, sparkline, verdict } from './report.js';
import type { RunResult } from './result.js';
import { emptyBudgetCounts, emptyTenantCounts, type Interval } from './stats.js';

function interval(minute: number, start: string, acmeTokens: number): Interval {
  const budgets = emptyBudgetCounts();
  budgets.requests.peakUtilization = 0.5;
  budgets.tokens.peakUtilization = 1;
  budgets.tokens.peakDebt = minute === 2 ? 428 : 0;
  budgets.dollars.peakUtilization = 0.25;
  budgets.global.peakUtilization = 0.9;
  budgets.tokens.denials = 3;
  return {
    minute,
    start,
    tenants: {
      acme: {
        ...emptyTenantCounts(),
        offered: 90,
        admitted: 10,
        afterWait: 2,
        queued: 4,
        timedOut: 1,
        aborted: 1,
        failed: 1,
        tokens: acmeTokens,
        usdMicros: acmeTokens * 7,
        denied: { requests: 0, tokens: 3, dollars: 0, tenant: 77, global: 0 },
      },
      hooli: { ...emptyTenantCounts(), offered: 8, admitted: 8, tokens: 6_000, usdMicros: 40_000 },
    },
    budgets,
  };
}

const result: RunResult = {
  scenario: {
    seed: 42,
    minutes: 2,
    backend: 'memory (AtomicTokenBudget, in this process)',
    timeZone: 'America/New_York',
    start: '2026-03-14T03:55:00.000Z',
    startLocal: '23:55',
    stepMs: 250,
    limits: {},
    tenants: [
      { name: 'acme', kind: 'greedy' },
      { name: 'hooli', kind: 'quiet' },
    ],
  },
  intervals: [interval(1, '23:55', 20_000), interval(2, '23:56', 10_000)],
  refills: [
    { at: '23:56:00', budget: 'global', epoch: 1, debtPaid: 0 },
    { at: '23:56:00', budget: 'tokens', epoch: 1, debtPaid: 399 },
  ],
  checks: [
    { name: 'tokens/min: consumed = Σ reported usage', ok: true, detail: 'consumed 36 000' },
  ],
  held: true,
};

describe('renderIntervalLine', () => {
  it("prints one minute's own figures on one line", () => {
    const [, second] = result.intervals;
    expect(renderIntervalLine(second!, 2, refillsIn(result.refills, second!))).toBe(
      'minute 2/2 23:56 | admitted/offered acme 10/90 hooli 8/8 | denied tokens 3, tenant 77 | ' +
        'waited 2 ok, 1 timed out | aborted 1, failed 1 | 16 000 tokens, $0.1100 | ' +
        'peak use: requests 50%, tokens 100%, dollars 25%, all tenants 90% | token debt up to 428 | ' +
        'refilled all tenants/min, tokens/min',
    );
  });

  it('takes only the refills of its own minute', () => {
    expect(refillsIn(result.refills, result.intervals[0]!)).toEqual([]);
    expect(refillsIn(result.refills, result.intervals[1]!)).toHaveLength(2);
  });
});

describe('renderReport', () => {
  const lines = renderReport(result);

  it('opens with the scenario and its limits', () => {
    expect(lines[0]).toBe(
      'budgetry playground — seed 42, 2 tenants, 2 simulated minutes from 23:55 America/New_York, memory (AtomicTokenBudget, in this process)',
    );
    expect(lines[1]).toMatch(/^limits: 2 requests\/s \(burst 20\) · 50 000 tokens\/min · \$1\.50/);
  });

  it('has a row per minute with that minute alone, not a running total', () => {
    const rows = lines.filter((l) => /^[12] {3}23:5/.test(l));
    expect(rows).toEqual([
      '1   23:55       10/90       8/8    26.0k  $0.1800  tokens 3, tenant 77',
      '2   23:56       10/90       8/8    16.0k  $0.1100  tokens 3, tenant 77 · tokens/min refilled after debt',
    ]);
  });

  it('has a row per tenant with averages per minute and a sparkline of its tokens', () => {
    const acme = lines.find((l) => l.startsWith('acme      greedy'));
    expect(acme).toBe(
      'acme      greedy     90.0     10.0       2.0       1.0     1.0    1.0    15.0k  █▅                 $0.1050  tokens 3.0, tenant 77.0',
    );
    expect(lines.find((l) => l.startsWith('hooli'))).toMatch(/ none$/);
  });

  it('has a row per budget with its peak utilization by minute, denials and debt', () => {
    expect(lines.find((l) => l.startsWith('tokens/min       50 000'))).toBe(
      'tokens/min       50 000            ██ max 100%                         3.0        428       1',
    );
    expect(lines).toContain('  23:56:00  tokens/min refilled (epoch 1, paid 399 owed first)');
  });

  it('ends with the verdict', () => {
    expect(lines.slice(-3)).toEqual([
      "Conservation, checked on the final state with @budgetry/testing's Auditor",
      '  ok     tokens/min: consumed = Σ reported usage: consumed 36 000',
      'all conservation invariants held',
    ]);
  });
});

describe('verdict', () => {
  it('names each broken check and ends by saying the invariants broke', () => {
    const broken: RunResult = {
      ...result,
      held: false,
      checks: [
        { name: 'a', ok: true, detail: 'fine' },
        { name: 'b', ok: false, detail: 'available 5; the ledger says 0' },
      ],
    };
    expect(verdict(broken)).toEqual([
      "Conservation, checked on the final state with @budgetry/testing's Auditor",
      '  ok     a: fine',
      '  BROKEN b: available 5; the ledger says 0',
      'INVARIANTS BROKEN: 1 of 2 checks failed (see above)',
    ]);
  });
});

describe('sparkline', () => {
  it('scales values to the largest', () => {
    expect(sparkline([0, 7, 14])).toBe('▁▅█');
    expect(sparkline([0, 0])).toBe('▁▁');
  });
});
