import { describe, expect, it } from 'vitest';
import { planProcesses } from './process-plan.js';
import type { ThroughputRow } from './row.js';
import { allRows } from './rows/index.js';
import { selectRows, validateRegistry } from './select-rows.js';

function row(id: string, extra: Partial<ThroughputRow> = {}): ThroughputRow {
  return { kind: 'throughput', id, name: `name of ${id}`, group: 'g', run: () => 0, ...extra };
}

const registry = [
  row('ref'),
  row('peer', { reference: 'ref' }),
  row('mine', { reference: 'ref', target: { label: 't', against: 'peer', atLeast: 3 } }),
  row('other'),
];

describe('selectRows', () => {
  it('selects everything without filters', () => {
    expect(selectRows(registry, []).map((r) => r.id)).toEqual(['ref', 'peer', 'mine', 'other']);
  });

  it('brings along references and target rows, transitively, in registry order', () => {
    expect(selectRows(registry, ['MINE']).map((r) => r.id)).toEqual(['ref', 'peer', 'mine']);
  });

  it('matches names as well as ids', () => {
    expect(selectRows(registry, ['name of other']).map((r) => r.id)).toEqual(['other']);
  });

  it('selects nothing when nothing matches', () => {
    expect(selectRows(registry, ['nope'])).toEqual([]);
  });

  it('leaves out skipped rows, with or without filters, but keeps what a kept row needs', () => {
    expect(selectRows(registry, [], ['OTHER']).map((r) => r.id)).toEqual(['ref', 'peer', 'mine']);
    expect(selectRows(registry, [], ['name of']).map((r) => r.id)).toEqual([]);
    // `peer` is skipped, but `mine` is measured against it.
    expect(selectRows(registry, ['mine', 'peer'], ['peer']).map((r) => r.id)).toEqual([
      'ref',
      'peer',
      'mine',
    ]);
    expect(selectRows(registry, ['e'], ['mine']).map((r) => r.id)).toEqual([
      'ref',
      'peer',
      'other',
    ]);
  });

  it('--skip young leaves every row with Node flags out of the real registry, and nothing else', () => {
    const kept = selectRows(allRows, [], ['young']);
    expect(kept.filter((r) => (r.nodeFlags ?? []).length > 0)).toEqual([]);
    expect(
      allRows.filter((r) => !kept.includes(r)).every((r) => (r.nodeFlags ?? []).length > 0),
    ).toBe(true);
  });
});

describe('validateRegistry', () => {
  it('accepts the real registry', () => {
    expect(() => validateRegistry(allRows)).not.toThrow();
  });

  it('gives every process of the real registry one set of node flags: the young-generation rows’', () => {
    const flagged = planProcesses(allRows).filter((plan) => plan.nodeFlags.length > 0);
    expect(flagged.map((plan) => [plan.owned, plan.nodeFlags])).toEqual([
      [['fifo-depth-1-young', 'waiting-depth-1-young'], ['--max-semi-space-size=128']],
      [['fifo-depth-100000-young'], ['--max-semi-space-size=128']],
      [['waiting-depth-100000-young'], ['--max-semi-space-size=128']],
    ]);
  });

  it('rejects a duplicate id', () => {
    expect(() => validateRegistry([row('a'), row('a')])).toThrow(/two rows have the id "a"/);
  });

  it('rejects a reference or target naming an unknown row', () => {
    expect(() => validateRegistry([row('a', { reference: 'b' })])).toThrow(/unknown row "b"/);
    expect(() =>
      validateRegistry([row('a', { target: { label: 't', against: 'c', atLeast: 1 } })]),
    ).toThrow(/unknown row "c"/);
  });
});
