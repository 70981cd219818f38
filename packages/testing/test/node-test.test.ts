// suite() registers a whole battery with node:test's test and describe as they are.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
// The workspace's tsx runs the TypeScript file under node:test, against the packages' source.
const tsx = createRequire(import.meta.url).resolve('tsx/cli');

function run(broken: boolean): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [tsx, '--conditions=@budgetry/source', '--test', join(here, 'node', 'suite.node.ts')],
      { env: { ...process.env, BROKEN: broken ? '1' : '0' }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, out: `${stdout}${stderr}` });
      },
    );
  });
}

describe('suite() under node:test', () => {
  it('passes a correct budget: every registered test', async () => {
    const { code, out } = await run(false);
    expect(out).toMatch(/# pass 7/);
    expect(code, out).toBe(0);
  }, 60_000);

  it('fails a racy one, with the ConformanceError in the report', async () => {
    const { code, out } = await run(true);
    expect(code).not.toBe(0);
    expect(out).toMatch(/# fail [1-9]/);
    expect(out).toContain('BUDGETRY_REPLAY=');
  }, 60_000);
});
