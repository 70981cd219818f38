import { describe, expect, it } from 'vitest';
import type { ChildRequest } from './child-protocol.js';
import type { ProcessOutcome } from './process-plan.js';
import type { ThroughputRow } from './row.js';
import { describePlan, runIsolated } from './run-isolated.js';
import type { RunSettings } from './run-settings.js';
import type { Progress } from './runner.js';

const settings: RunSettings = {
  mode: 'quick',
  rounds: 2,
  warmupRounds: 0,
  primeMs: 0,
  sliceMs: 1,
  memoryRounds: 1,
};

function row(id: string, group: string, extra: Partial<ThroughputRow> = {}): ThroughputRow {
  return { kind: 'throughput', id, name: id, group, run: () => 0, ...extra };
}

const rows = [
  row('ref', 'references'),
  row('a', 'group a', { reference: 'ref' }),
  row('b', 'group b', { reference: 'ref' }),
];

/** A fake child: two samples of 10 per row, a sink of 1, and a progress line. */
function fakeChild(log: string[], overrides: Record<string, ProcessOutcome> = {}) {
  let running = 0;
  return async (request: ChildRequest, progress: Progress): Promise<ProcessOutcome> => {
    running++;
    const flags = request.nodeFlags?.length ? ` ${request.nodeFlags.join(' ')}` : '';
    log.push(`start ${request.name} [${request.ids.join(' ')}] ${request.settings.mode}${flags}`);
    if (running > 1) log.push('OVERLAP');
    progress('round 1/2');
    await new Promise((resolve) => setTimeout(resolve, 1));
    running--;
    log.push(`end ${request.name}`);
    const override = overrides[request.name];
    if (override !== undefined) return override;
    return {
      ok: true,
      measurements: request.ids.map((id) => ({ id, samples: [10, 10] })),
      sink: 1,
    };
  };
}

describe('runIsolated', () => {
  it('runs one child per group, one after another, in table order, with the settings', async () => {
    const log: string[] = [];
    await runIsolated(rows, settings, fakeChild(log));
    expect(log).toEqual([
      'start references [ref] quick',
      'end references',
      'start group a [ref a] quick',
      'end group a',
      'start group b [ref b] quick',
      'end group b',
    ]);
  });

  it('starts a process with its rows’ node flags and records them', async () => {
    const log: string[] = [];
    const young = row('y', 'young', { reference: 'ref', nodeFlags: ['--max-semi-space-size=64'] });
    const run = await runIsolated([...rows, young], settings, fakeChild(log));
    expect(log.filter((line) => line.startsWith('start'))).toEqual([
      'start references [ref] quick',
      'start group a [ref a] quick',
      'start group b [ref b] quick',
      'start young [ref y] quick --max-semi-space-size=64',
    ]);
    expect(run.processes.map((p) => p.nodeFlags)).toEqual([
      [],
      [],
      [],
      ['--max-semi-space-size=64'],
    ]);
  });

  it('labels progress with the process it comes from', async () => {
    const lines: string[] = [];
    await runIsolated(rows, settings, fakeChild([]), (line) => lines.push(line));
    expect(lines[0]).toBe('[1/3 references] new process: 1 row');
    expect(lines[1]).toBe('[1/3 references] round 1/2');
    expect(lines[2]).toMatch(/^\[1\/3 references\] done in \d+\.\d s$/);
    expect(lines[3]).toBe(
      '[2/3 group a] new process: 1 row, with ref measured alongside for the ratios',
    );
  });

  it('merges results, sums the sinks and records each process', async () => {
    const run = await runIsolated(rows, settings, fakeChild([]));
    expect(run.results.map((r) => [r.id, r.process, r.ratio])).toEqual([
      ['ref', 'references', null],
      ['a', 'group a', 1],
      ['b', 'group b', 1],
    ]);
    expect(run.sink).toBe(3);
    expect(run.processes.map((p) => [p.name, p.owned, p.measured, p.error])).toEqual([
      ['references', ['ref'], ['ref'], null],
      ['group a', ['a'], ['ref', 'a'], null],
      ['group b', ['b'], ['ref', 'b'], null],
    ]);
    expect(run.processes.every((p) => p.durationMs >= 0)).toBe(true);
  });

  it('keeps going after a child fails, failing only that child’s rows', async () => {
    const log: string[] = [];
    const lines: string[] = [];
    const crash: ProcessOutcome = { ok: false, error: 'was killed by SIGKILL' };
    const run = await runIsolated(rows, settings, fakeChild(log, { 'group a': crash }), (line) =>
      lines.push(line),
    );
    expect(log.at(-1)).toBe('end group b');
    expect(run.results.map((r) => r.error)).toEqual([
      null,
      'process "group a": was killed by SIGKILL',
      null,
    ]);
    expect(run.processes[1]!.error).toBe('was killed by SIGKILL');
    expect(run.sink).toBe(2);
    expect(lines).toContainEqual(expect.stringMatching(/^\[2\/3 group a\] failed: was killed/));
  });

  it('turns a runner that throws into a failed process', async () => {
    const run = await runIsolated(rows.slice(0, 1), settings, async () => {
      throw new Error('spawn ENOENT');
    });
    expect(run.results[0]!.error).toBe('process "references": spawn ENOENT');
  });
});

describe('describePlan', () => {
  it('counts the owned rows and names the ones measured only for ratios', () => {
    expect(
      describePlan({ name: 'g', owned: ['a', 'b'], measured: ['r', 'a', 'b', 'p'], nodeFlags: [] }),
    ).toBe('new process: 2 rows, with r, p measured alongside for the ratios');
    expect(
      describePlan({ name: 'g', owned: ['a'], measured: ['a'], nodeFlags: ['--x=1', '--y'] }),
    ).toBe('new process: 1 row (node --x=1 --y)');
  });
});
