import { describe, expect, it } from 'vitest';
import { mergeProcessResults, type ProcessOutcome, planProcesses } from './process-plan.js';
import type { ThroughputRow } from './row.js';

function row(id: string, group: string, extra: Partial<ThroughputRow> = {}): ThroughputRow {
  return { kind: 'throughput', id, name: id, group, run: () => 0, ...extra };
}

const ok = (measurements: Record<string, number[]>, sink = 0): ProcessOutcome => ({
  ok: true,
  measurements: Object.entries(measurements).map(([id, samples]) => ({ id, samples })),
  sink,
});

const registry = [
  row('plain-sync', 'references'),
  row('plain-async', 'references'),
  row('sync', 'core', { reference: 'plain-sync' }),
  row('async', 'core', {
    reference: 'plain-async',
    target: [
      { label: '≥ 0.8×', against: 'plain-async', atLeast: 0.8 },
      { label: '≥ 3× peer', against: 'peer', atLeast: 3 },
    ],
  }),
  row('peer', 'peers', { reference: 'plain-async' }),
  row('late-core', 'core', { reference: 'sync' }),
];

describe('planProcesses', () => {
  const plans = planProcesses(registry);

  it('gives each group one process, in the order its first row appears in the registry', () => {
    expect(plans.map((plan) => plan.name)).toEqual(['references', 'core', 'peers']);
  });

  it('owns a group’s rows even when the registry splits the group', () => {
    expect(plans[1]!.owned).toEqual(['sync', 'async', 'late-core']);
  });

  it('measures each process’s rows plus the rows they are compared with, in registry order', () => {
    expect(plans[0]!.measured).toEqual(['plain-sync', 'plain-async']);
    // `peer` comes along for async's target; plain-sync and plain-async for the references.
    expect(plans[1]!.measured).toEqual([
      'plain-sync',
      'plain-async',
      'sync',
      'async',
      'peer',
      'late-core',
    ]);
    expect(plans[2]!.measured).toEqual(['plain-async', 'peer']);
  });

  it('gives a process its rows’ node flags, none by default, and refuses rows that disagree', () => {
    expect(plans.map((plan) => plan.nodeFlags)).toEqual([[], [], []]);
    const young = ['--max-semi-space-size=64'];
    const flagged = planProcesses([
      row('ref', 'r'),
      row('a', 'y', { nodeFlags: young, reference: 'ref' }),
      row('b', 'y', { nodeFlags: young }),
    ]);
    expect(flagged.map((plan) => [plan.name, plan.nodeFlags, plan.measured])).toEqual([
      ['r', [], ['ref']],
      ['y', young, ['ref', 'a', 'b']],
    ]);
    expect(() =>
      planProcesses([row('a', 'y', { nodeFlags: young }), row('b', 'y', { nodeFlags: [] })]),
    ).toThrow(
      'rows of process "y" give different node flags: "a" ["--max-semi-space-size=64"], "b" []',
    );
    expect(() =>
      planProcesses([
        row('a', 'y', { nodeFlags: ['--x=1'] }),
        row('b', 'y', { nodeFlags: ['--x=2'] }),
      ]),
    ).toThrow('give different node flags');
  });

  it('does not pull in what a dependency depends on', () => {
    const rows = [
      row('ref', 'r'),
      row('peer', 'p', { reference: 'ref' }),
      row('mine', 'm', { reference: 'peer' }),
    ];
    expect(planProcesses(rows)[2]!.measured).toEqual(['peer', 'mine']);
  });

  it('leaves out a dependency that is not among the selected rows', () => {
    const [plan] = planProcesses([row('lonely', 'g', { reference: 'filtered-out' })]);
    expect(plan!.measured).toEqual(['lonely']);
  });

  it('uses a row’s `process` instead of its group when given', () => {
    const rows = [
      row('a', 'one'),
      row('b', 'one', { process: 'shared' }),
      row('c', 'two', { process: 'shared' }),
    ];
    expect(planProcesses(rows).map((plan) => [plan.name, plan.owned])).toEqual([
      ['one', ['a']],
      ['shared', ['b', 'c']],
    ]);
  });
});

describe('mergeProcessResults', () => {
  const plans = planProcesses(registry);
  const outcomes = [
    ok({ 'plain-sync': [400, 400, 400], 'plain-async': [10, 10, 10] }),
    ok({
      'plain-sync': [200, 100, 200],
      'plain-async': [8, 8, 8],
      sync: [100, 50, 100],
      async: [8, 8, 8],
      peer: [4, 4, 4],
      'late-core': [25, 25, 25],
    }),
    ok({ 'plain-async': [10, 10, 10], peer: [2, 2, 2] }),
  ];
  const results = mergeProcessResults(registry, plans, outcomes);
  const byId = new Map(results.map((result) => [result.id, result]));

  it('returns one result per row, in registry order, tagged with its process', () => {
    expect(results.map((r) => [r.id, r.process])).toEqual([
      ['plain-sync', 'references'],
      ['plain-async', 'references'],
      ['sync', 'core'],
      ['async', 'core'],
      ['peer', 'peers'],
      ['late-core', 'core'],
    ]);
  });

  it('prints a reference’s own line from its own process, not from a re-measurement', () => {
    expect(byId.get('plain-sync')!.summary!.median).toBe(400);
    expect(byId.get('peer')!.summary!.median).toBe(2);
  });

  it('divides by the reference as measured in the row’s own process and rounds', () => {
    // 0.5 per round against core's plain-sync; against the references process it would be 0.25.
    expect(byId.get('sync')!.ratio).toBe(0.5);
    expect(byId.get('peer')!.ratio).toBe(0.2);
  });

  it('checks targets against rows measured in the same process', () => {
    // async ÷ peer is 8 ÷ 4 in the core process (not 8 ÷ 2 from the peers process).
    const targets = byId.get('async')!.targets.map((t) => [t.label, t.value, t.met]);
    expect(targets).toEqual([
      ['≥ 0.8×', 1, true],
      ['≥ 3× peer', 2, false],
    ]);
    expect(byId.get('async')!.status).toBe('short');
  });

  it('fails only the rows of a process that crashed, with its error', () => {
    const crashed = mergeProcessResults(registry, plans, [
      outcomes[0]!,
      { ok: false, error: 'exited with code 1: Error: boom' },
      outcomes[2]!,
    ]);
    const failed = crashed.filter((r) => r.error !== null).map((r) => [r.id, r.error]);
    expect(failed).toEqual(
      ['sync', 'async', 'late-core'].map((id) => [
        id,
        'process "core": exited with code 1: Error: boom',
      ]),
    );
    expect(crashed.find((r) => r.id === 'peer')!.ratio).toBe(0.2);
    expect(crashed.find((r) => r.id === 'sync')!.summary).toBeNull();
  });

  it('fails a row its process did not report, and keeps a row’s own error', () => {
    const merged = mergeProcessResults(registry, plans, [
      outcomes[0]!,
      {
        ok: true,
        sink: 0,
        measurements: [
          { id: 'plain-sync', samples: [1] },
          { id: 'sync', samples: [], error: 'row threw' },
        ],
      },
      outcomes[2]!,
    ]);
    expect(merged.find((r) => r.id === 'sync')!.error).toBe('row threw');
    expect(merged.find((r) => r.id === 'async')!.error).toBe('process "core" did not measure it');
  });

  it('fails the rows of a process that has no outcome', () => {
    const merged = mergeProcessResults(registry, plans, outcomes.slice(0, 2));
    expect(merged.find((r) => r.id === 'peer')!.error).toBe('process "peers" did not run');
  });
});
