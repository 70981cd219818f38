import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { describeExit, runChild } from './child-process.js';
import type { ChildRequest } from './child-protocol.js';
import { type JsonReport, jsonSchemaVersion } from './json-report.js';
import { quickSettings } from './run-settings.js';

const dir = mkdtempSync(join(tmpdir(), 'bench-child-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes a plain-JavaScript stand-in for child-main.ts. */
function fixture(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, body);
  return path;
}

const request: ChildRequest = { name: 'g', ids: ['a', 'b'], settings: quickSettings };

async function runFixture(body: string, sent: ChildRequest = request) {
  const progress: string[] = [];
  const output: string[] = [];
  const outcome = await runChild(sent, (line) => progress.push(line), {
    entry: fixture(`child-${Math.random().toString(36).slice(2)}.mjs`, body),
    execArgv: [],
    output: (chunk) => output.push(chunk.toString()),
  });
  return { outcome, progress, output: output.join('') };
}

describe('runChild', () => {
  it('starts the child with the request’s node flags after its own', async () => {
    const flags = ['--max-semi-space-size=64', '--stack-size=2000'];
    const { outcome } = await runFixture(
      `
      process.send(
        { type: 'done', measurements: [{ id: process.execArgv.join(' '), samples: [1] }], sink: 0 },
        () => process.exit(0),
      );
    `,
      { ...request, nodeFlags: flags },
    );
    expect(outcome).toEqual({
      ok: true,
      sink: 0,
      measurements: [{ id: flags.join(' '), samples: [1] }],
    });
  });

  it('passes the request, relays progress and output, and returns the measurements', async () => {
    const { outcome, progress, output } = await runFixture(`
      const request = JSON.parse(process.argv[2]);
      console.log('from stdout');
      process.send({ type: 'progress', message: 'round 1/1 of ' + request.name });
      process.send(
        {
          type: 'done',
          measurements: request.ids.map((id) => ({ id, samples: [Infinity, 2] })),
          sink: 7,
        },
        () => process.exit(0),
      );
    `);
    expect(progress).toEqual(['round 1/1 of g']);
    expect(output).toBe('from stdout\n');
    expect(outcome).toEqual({
      ok: true,
      sink: 7,
      measurements: [
        { id: 'a', samples: [Infinity, 2] },
        { id: 'b', samples: [Infinity, 2] },
      ],
    });
  });

  it('reports a child that throws with its exit code and error line', async () => {
    const { outcome } = await runFixture(`throw new RangeError('boom in child');`);
    expect(outcome).toEqual({ ok: false, error: 'exited with code 1: RangeError: boom in child' });
  });

  it('reports a child that exits without a word, or is killed', async () => {
    expect((await runFixture('process.exit(3);')).outcome).toEqual({
      ok: false,
      error: 'exited with code 3 before reporting',
    });
    expect((await runFixture(`process.kill(process.pid, 'SIGKILL');`)).outcome).toEqual({
      ok: false,
      error: 'was killed by SIGKILL before reporting',
    });
  });

  it('reports an entry script that does not exist', async () => {
    const outcome = await runChild(request, () => {}, {
      entry: join(dir, 'missing.mjs'),
      execArgv: [],
      output: () => {},
    });
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.error).toMatch(/^exited with code 1: .*Cannot find module/);
  });
});

describe('describeExit', () => {
  it('takes the last error line that is not a stack frame', () => {
    const stderr = 'file.js:1\n\nError: first\n    at a (file.js:1)\nTypeError: last\n    at b\n';
    expect(describeExit(1, null, stderr)).toBe('exited with code 1: TypeError: last');
  });

  it('names the heap limit when V8 runs out of memory', () => {
    const stderr =
      'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n 1: 0xb7 node::Abort()\n';
    expect(describeExit(null, 'SIGABRT', stderr)).toBe(
      'was killed by SIGABRT: FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory',
    );
  });
});

describe('pnpm bench, end to end', () => {
  it('measures a filtered quick run in one child per group and writes the JSON report', () => {
    const main = fileURLToPath(new URL('./main.ts', import.meta.url));
    const json = join(dir, 'out.json');
    const result = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=@budgetry/source',
        '--expose-gc',
        main,
        '--quick',
        '--filter',
        'budgetry-sync',
        '--json',
        'out.json',
      ],
      {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        env: { ...process.env, INIT_CWD: dir },
        encoding: 'utf8',
      },
    );
    expect(result.stderr).toContain('bench: [2/2 budgetry: AtomicBudget] round 7/7');
    expect(result.status).toBe(0);
    const report = JSON.parse(readFileSync(json, 'utf8')) as JsonReport;
    expect(report.schemaVersion).toBe(jsonSchemaVersion);
    expect(report.isolation).toBe('per-process');
    expect(report.processes.map((p) => [p.name, p.measured, p.error])).toEqual([
      ['references', ['plain-sync'], null],
      ['budgetry: AtomicBudget', ['plain-sync', 'budgetry-sync'], null],
    ]);
    const rows = report.rows.map((r) => [r.id, r.process, r.rounds, r.status]);
    expect(rows).toEqual([
      ['plain-sync', 'references', 7, null],
      ['budgetry-sync', 'budgetry: AtomicBudget', 7, expect.stringMatching(/^(met|short)$/)],
    ]);
    expect(result.stdout).toContain('one process per row group (2 processes, in table order)');
  }, 120_000);
});
