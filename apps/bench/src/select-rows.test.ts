import { describe, expect, it } from 'vitest';
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
});

describe('validateRegistry', () => {
  it('accepts the real registry', () => {
    expect(() => validateRegistry(allRows)).not.toThrow();
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
