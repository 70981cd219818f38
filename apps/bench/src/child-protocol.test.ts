import { describe, expect, it } from 'vitest';
import { parseChildRequest, rowsForRequest, toRawMeasurement } from './child-protocol.js';
import type { ThroughputRow } from './row.js';
import { quickSettings } from './run-settings.js';

function row(id: string): ThroughputRow {
  return { kind: 'throughput', id, name: id, group: 'g', run: () => 0 };
}

describe('parseChildRequest', () => {
  it('reads back the request the parent serialized', () => {
    const request = { name: 'peers', ids: ['plain-async', 'p-limit'], settings: quickSettings };
    expect(parseChildRequest(JSON.stringify(request))).toEqual(request);
  });

  it('refuses a missing or malformed request', () => {
    expect(() => parseChildRequest(undefined)).toThrow(/no request/);
    expect(() => parseChildRequest('{"name":"g","ids":[1],"settings":{}}')).toThrow(
      /not a bench child request/,
    );
    expect(() => parseChildRequest('null')).toThrow(/not a bench child request/);
  });
});

describe('rowsForRequest', () => {
  const registry = [row('a'), row('b'), row('c')];

  it('returns the requested rows in the requested order', () => {
    expect(rowsForRequest(registry, ['c', 'a']).map((r) => r.id)).toEqual(['c', 'a']);
  });

  it('names an id the registry lacks', () => {
    expect(() => rowsForRequest(registry, ['a', 'zz'])).toThrow(/unknown row "zz"/);
  });
});

describe('toRawMeasurement', () => {
  it('keeps id, samples, iterations and error, and leaves unset fields out', () => {
    expect(toRawMeasurement({ row: row('a'), samples: [1, 2], iterations: 10 })).toEqual({
      id: 'a',
      samples: [1, 2],
      iterations: 10,
    });
    const failed = toRawMeasurement({ row: row('b'), samples: [], error: 'boom' });
    expect(failed).toEqual({ id: 'b', samples: [], error: 'boom' });
    expect('iterations' in failed).toBe(false);
  });
});
