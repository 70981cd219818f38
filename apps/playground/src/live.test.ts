import { describe, expect, it } from 'vitest';
import { bar, clip, describeRefill, renderLive, visibleLength } from './live.js';
import type { Snapshot } from './result.js';
import { emptyTenantCounts } from './stats.js';

const greedy = {
  ...emptyTenantCounts(),
  offered: 20,
  admitted: 5,
  queued: 3,
  timedOut: 1,
  aborted: 1,
  failed: 2,
  tokens: 12_345,
  usdMicros: 98_765,
  denied: { requests: 0, tokens: 4, dollars: 0, tenant: 11, global: 0 },
};

const snapshot: Snapshot = {
  seed: 42,
  backend: 'memory (AtomicTokenBudget, in this process)',
  clock: '23:58:30',
  timeZone: 'America/New_York',
  minute: 4,
  minutes: 8,
  progress: 0.4375,
  tenants: [
    {
      name: 'acme',
      kind: 'greedy',
      counts: greedy,
      waiting: 2,
      inFlight: 3,
      budgetHeld: 15_000,
      budgetCapacity: 20_000,
    },
    {
      name: 'initech',
      kind: 'quiet',
      counts: { ...emptyTenantCounts(), offered: 4, admitted: 4, tokens: 3_000, usdMicros: 20_000 },
      waiting: 0,
      inFlight: 1,
      budgetHeld: 2_000,
      budgetCapacity: 20_000,
    },
  ],
  budgets: [
    { name: 'requests', available: 5, capacity: 20, debt: 0, utilization: 0.75, refills: 0 },
    { name: 'tokens', available: 0, capacity: 50_000, debt: 1_234, utilization: 1, refills: 3 },
    {
      name: 'dollars',
      available: 600_000,
      capacity: 1_500_000,
      debt: 0,
      utilization: 0.6,
      refills: 0,
    },
    { name: 'global', available: 39_000, capacity: 56_000, debt: 0, utilization: 0.3, refills: 3 },
  ],
  refills: [
    { at: '23:58:00', budget: 'global', epoch: 3, debtPaid: 0 },
    { at: '23:58:00', budget: 'tokens', epoch: 3, debtPaid: 399 },
  ],
};

describe('renderLive', () => {
  it('draws a frame from a snapshot: header, a bar per tenant, a bar per budget, the refills', () => {
    const lines = renderLive(snapshot, { width: 106, color: false });
    expect(lines).toEqual([
      'budgetry playground  seed 42 · 2 tenants · memory (AtomicTokenBudget, in this process)',
      '23:58:30 America/New_York   minute 4 of 8   ███████████░░░░░░░░░░░░░ 44%',
      '',
      'tenant           this minute  adm wait  den  t/o abrt fail  tokens  dollars  own budget  denied by',
      'acme      greedy ██▒░░░░░░      5    2   15    1    1    2   12.3k  $0.0988  █████░  75%  tokens 4, tenant 11',
      'initech   quiet  ██             4    0    0    0    0    0    3000  $0.0200  █░░░░░  10%  ',
      '                 █ admitted  ▒ waiting  ░ turned away (denied, or waited past the deadline)',
      '',
      'budget           utilization                   available     debt  refills',
      'requests/min     ████████░░  75%                 5 of 20        0        —',
      'tokens/min       ██████████ 100%             0 of 50 000    1 234        3',
      'dollars/day      ██████░░░░  60%      $0.6000 of $1.5000        0        0',
      'all tenants/min  ███░░░░░░░  30%        39 000 of 56 000        0        3',
      '',
      'refills as they happen:',
      '  23:58:00  all tenants/min refilled (epoch 3)',
      '  23:58:00  tokens/min refilled (epoch 3, paid 399 owed first)',
    ]);
  });

  it('scales the tenant bars to the busiest tenant: admitted, waiting, turned away', () => {
    const line = renderLive(snapshot, { width: 106, color: false })[4]!;
    // 22 calls at most (20 offered + 2 waiting) over 10 cells: 5 admitted → 2 cells, 2 waiting
    // → 1, 15 denied − 3 queued + 1 timed out = 13 turned away → 6, and one cell left empty.
    expect(line.slice(17, 27)).toBe('██▒░░░░░░ ');
  });

  it('colours with ANSI only when asked, and the colours take no room', () => {
    const plain = renderLive(snapshot, { width: 106, color: false });
    const coloured = renderLive(snapshot, { width: 106, color: true });
    expect(plain.join('\n')).not.toContain('\x1b[');
    expect(coloured[4]).toContain('\x1b[32m'); // admitted in green
    expect(coloured[4]).toContain('\x1b[31m'); // turned away in red
    expect(coloured.map(visibleLength)).toEqual(plain.map((l) => l.length));
  });

  it('says so when nothing has refilled yet', () => {
    const lines = renderLive({ ...snapshot, refills: [] }, { width: 106, color: false });
    expect(lines.slice(-2)).toEqual(['refills as they happen:', '  none yet']);
  });
});

describe('drawing helpers', () => {
  it('fills a bar to the fraction, clamped', () => {
    expect(bar(0.5, 4)).toBe('██░░');
    expect(bar(2, 3)).toBe('███');
    expect(bar(-1, 3)).toBe('░░░');
  });

  it('clips a line to the terminal width without cutting an ANSI code', () => {
    expect(clip('abcdef', 4)).toBe('abcd');
    expect(clip('abc', 4)).toBe('abc');
    const clipped = clip('\x1b[32mabcdef\x1b[0m', 3);
    expect(clipped).toBe('\x1b[32mabc\x1b[0m');
    expect(visibleLength(clipped)).toBe(3);
  });

  it('describes a refill in words, dollars as dollars', () => {
    expect(describeRefill({ at: '00:00:00', budget: 'dollars', epoch: 1, debtPaid: 8_445 })).toBe(
      '00:00:00  dollars/day refilled (epoch 1, paid $0.0084 owed first)',
    );
  });
});
