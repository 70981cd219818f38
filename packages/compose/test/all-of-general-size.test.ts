import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);

/** V8's limit on the bytecode of a function it inlines (`--max-inlined-bytecode-size`). */
async function inliningLimit(): Promise<number> {
  const { stdout } = await run(process.execPath, ['--v8-options'], { maxBuffer: 16 << 20 });
  const limit = /--max-inlined-bytecode-size=(\d+)/.exec(stdout);
  if (limit === null) throw new Error('node --v8-options does not state the inlining limit');
  return Number(limit[1]);
}

describe("the all-of count API's general path", () => {
  // SyncAllOf.countGeneral keeps both ways in one function so that V8 never inlines it: hot
  // wherever all-ofs of many kinds run, it would otherwise use up the inlining budget of the
  // loops that drive the headline shape (see its comment). An edit that shrinks it under the
  // limit would bring that back without failing anything else.
  it('is larger than V8 inlines', async () => {
    const limit = await inliningLimit();
    const { stdout } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=@budgetry/source',
        '--print-bytecode',
        '--print-bytecode-filter=countGeneral',
        join(here, 'fixtures', 'count-general.ts'),
      ],
      { cwd: join(here, '..'), maxBuffer: 16 << 20, timeout: 60_000 },
    );
    const sizes = [
      ...stdout.matchAll(/bytecode for function: countGeneral [^\n]*\nBytecode length: (\d+)/g),
    ].map((m) => Number(m[1]));
    expect(sizes).toHaveLength(1);
    expect(sizes[0]).toBeGreaterThan(limit);
  }, 60_000);
});
