import { describe, expect, it } from 'vitest';
import { renderOtel } from './otel-report.js';
import type { OtelSummary } from './otel-summary.js';

const zero = { requests: 0, tokens: 0, dollars: 0, tenant: 0 };

const summary: OtelSummary = {
  exporter: 'the SDK',
  budgets: [
    {
      budget: 'requests/min',
      mode: 'enforce',
      metrics: { 'budgetry.utilization': 0.25, 'budgetry.available': 15, 'budgetry.debt': 0 },
      crossings: {},
    },
    {
      budget: 'tokens/min',
      mode: 'shadow',
      metrics: {
        'budgetry.utilization': 1.0002,
        'budgetry.available': 0,
        'budgetry.debt': 11,
        'budgetry.reservations': 2_808,
        'budgetry.denials': 708,
      },
      crossings: { '1': 2, '0.5': 7 },
    },
    {
      budget: 'dollars/day',
      mode: 'enforce',
      metrics: { 'budgetry.utilization': 0.5, 'budgetry.available': 750_000, 'budgetry.debt': 0 },
      crossings: {},
    },
    {
      budget: 'tenant',
      tenant: 'acme',
      mode: 'enforce',
      metrics: { 'budgetry.utilization': 0.951 },
      crossings: {},
    },
  ],
  dispatches: { granted: 287, 'denied by tokens': 708 },
  spans: { 'budgetry.reserve requests/min': { granted: 995, denied: 4 } },
  thresholds: [
    { budget: 'tokens/min', level: 0.5, epoch: 0, at: '23:55:12', utilization: 0.51 },
    { budget: 'tokens/min', level: 0.5, epoch: 1, at: '23:56:05', utilization: 0.5 },
  ],
  shadow: {
    budget: 'tokens',
    label: 'tokens/min',
    passes: 708,
    passedUnits: 1_234_567,
    admitted: 33,
    usedUnits: 36_654,
  },
  run: { firstAttempts: zero, retries: zero, granted: 287 },
  checks: [{ name: 'otel: something', ok: false, detail: 'it differs' }],
};

describe('renderOtel', () => {
  it('shows each budget’s final metrics, what happened by outcome, the shadow and the checks', () => {
    const lines = renderOtel(summary);
    expect(lines.slice(2, 7)).toEqual([
      'budget           mode     utilization  available     debt   granted  denials  threshold crossings',
      'requests/min     enforce          25%         15        0         —       4*  —',
      'tokens/min       shadow          100%          0       11     2 808      708  50% ×7, 100% ×2',
      'dollars/day      enforce          50%    $0.7500  $0.0000         0        0  —',
      '  * the requests token bucket is watched directly: its denials are also its denied budgetry.reserve spans',
    ]);
    expect(lines).toContain(
      "tenants, budgetry.utilization (a tenant's available() is what it could reserve now, its parent's room included): acme 95%",
    );
    expect(lines).toContain('budgetry.dispatches: 708 denied by tokens, 287 granted');
    expect(lines).toContain('spans: budgetry.reserve requests/min 995 granted, 4 denied');
    expect(lines).toContain(
      'threshold events, each level at most once per epoch: tokens/min 50% in 2 epochs (first 23:55:12)',
    );
    expect(lines).toContain(
      '  it would have denied 708 reservations (first attempts and retries), asking 1.2M tokens; 33 of them were admitted calls (the rest a later budget denied), which used 36.7k tokens',
    );
    expect(lines.slice(-2)).toEqual([
      '  BROKEN otel: something: it differs',
      'EXPORT MISMATCH: 1 of 1 checks failed (see above)',
    ]);
  });
});
