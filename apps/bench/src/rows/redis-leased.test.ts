import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { benchRedisUrl, probeRedis } from './redis-connection.js';
import { leasedRowIds, makeLeasedRows, redisLeasedRows } from './redis-leased.js';
import { benchRedisForBlock } from './redis-test-setup.js';

const url = benchRedisUrl();
const problem = await probeRedis(url);
if (problem !== undefined) {
  const message = `the leased rows' tests need a Redis at ${url} (${problem}): apt-get install redis-server`;
  if (process.env['CI'] === 'true') throw new Error(`${message} — CI never skips them`);
  console.warn(`skipped: ${message}`);
}

const root = `budgetry-bench-test:${process.pid}-${randomBytes(4).toString('hex')}`;

describe.skipIf(problem !== undefined)('the leased child rows', () => {
  const connection = benchRedisForBlock(url, root);

  it('are registered beside the Redis rows, the leased pair against the plain one', () => {
    expect(redisLeasedRows.map((row) => row.id)).toEqual(Object.values(leasedRowIds));
    const [reference, leased] = redisLeasedRows;
    expect(leased!.reference).toBe(reference!.id);
    expect(leased!.target).toEqual({ label: '≥ 1 M ops/s', atLeast: 1_000_000 });
    expect(reference!.group).toBe(leased!.group);
  });

  it('run exact, check the pool in Redis at teardown, and leave no key behind', async () => {
    const lines: string[] = [];
    const prefixRoot = `${root}:rows`;
    for (const row of makeLeasedRows({ url, prefixRoot, log: (l) => lines.push(l) })) {
      await row.setup?.();
      expect(await row.run(1_000)).toBe(1_000 + 1_000_000);
      await row.teardown?.();
    }
    expect(lines).toEqual([
      expect.stringMatching(
        /^bench: redis-leased-sync: exact after 1 runs \(leased 1000000 of 1000000, held 0, 1 renewals\)$/,
      ),
    ]);
    expect(await connection().keys(`${prefixRoot}:*`)).toEqual([]);
  });
});
