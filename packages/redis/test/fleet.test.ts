// Several processes share one budget. Each logs every script call with its reply; the
// auditor from @budgetry/testing replays all the logs in the budget's one order of changes
// (each reply carries its place in it) and checks every step: no grant beyond what was free,
// no denial of what was free, every settle honoured once, available exactly as the ledger
// says after every change, and at the end.
import { Auditor } from '@budgetry/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisBudget } from '../src/index.js';
import { fileRedis } from './helpers/budgets.js';
import { firstLine, killChildren, output, spawnTs } from './helpers/child.js';
import { redisReady, sharedPort, uniquePrefix } from './helpers/redis.js';

interface Call {
  op: string;
  args: string[];
  reply: number[];
}

const redis = await fileRedis();

describe.skipIf(!redisReady)('a fleet of processes on one budget', () => {
  // A test that failed early leaves children waiting for their start key: kill them.
  afterEach(killChildren);
  it('never admits past capacity, checked by replaying every process log', async () => {
    const port = await sharedPort();
    const keyPrefix = uniquePrefix('fleet');
    const capacity = 40;
    const processes = 3;
    const children = Array.from({ length: processes }, (_, i) =>
      spawnTs('packages/redis/test/fixtures/fleet-worker.ts', [
        String(port),
        keyPrefix,
        'fleet',
        String(capacity),
        '150',
        String(1000 + i),
      ]),
    );
    const outputs = children.map((child) => output(child));
    expect(await Promise.all(children.map(firstLine))).toEqual(children.map(() => 'ready'));
    await redis!.set(`${keyPrefix}:go`, '1');
    const results = (await Promise.all(outputs)).map(
      (out) =>
        JSON.parse(out.trim().split('\n').at(-1)!) as { permitsGranted: number; calls: Call[] },
    );
    const all = results.flatMap((r) => r.calls);
    // Every process saw exactly the grants its script calls answered, and they shared the budget.
    const grants = results.map((r) => {
      const granted = r.calls.filter((c) => c.op === 'acq' && c.reply[5] === 1).length;
      expect(r.permitsGranted).toBe(granted);
      return granted;
    });
    expect(grants.filter((g) => g > 0).length).toBeGreaterThanOrEqual(2);
    const changes = all.filter((c) => c.op !== 'get');
    // A change has a number of its own; a denial (no change) comes after the change it saw.
    const isChange = (c: Call) =>
      (c.op === 'acq' || c.op === 'res' ? c.reply[5] === 1 : true) && c.op !== 'abt';
    changes.sort((a, b) => a.reply[4]! - b.reply[4]! || Number(isChange(b)) - Number(isChange(a)));
    const seqs = changes.filter(isChange).map((c) => c.reply[4]!);
    expect(new Set(seqs).size).toBe(seqs.length);
    const audit = new Auditor({ capacity, policy: 'reset' });
    const handles = new Map<string, number>();
    let denials = 0;
    for (const c of changes) {
      const [id, a, b] = c.args;
      const net = c.reply[3]!;
      if (c.op === 'acq' || c.op === 'res') {
        const cost = Number(a);
        if (c.reply[5] !== 1) {
          denials++;
          expect(cost, 'a denial of units that were free').toBeGreaterThan(audit.available);
          continue;
        }
        if (c.op === 'acq') {
          const handle = audit.grant(cost);
          expect(handle, `grant of ${cost} beyond what was free`).toBeDefined();
          handles.set(id!, handle!);
        } else {
          expect(audit.reserve(cost), `reserve of ${cost} beyond what was free`).toBe(true);
        }
      } else if (c.op === 'rel') {
        const before = audit.overReleased;
        audit.releaseCount(Number(a));
        expect(Number(a) - (audit.overReleased - before)).toBe(c.reply[6]);
      } else if (c.op === 'set') {
        const handle = handles.get(id!)!;
        const settled = a === 'r' ? audit.release(handle) : audit.commit(handle, Number(b));
        expect(settled && c.reply[5] === 1).toBe(true);
      }
      expect(Math.max(net, 0), `available after ${c.op} #${c.reply[4]}`).toBe(audit.available);
    }
    expect(denials).toBeGreaterThan(0);
    const budget = new RedisBudget(capacity, { redis: redis!, keyPrefix, name: 'fleet' });
    expect(await budget.snapshot()).toMatchObject({ available: audit.available, held: 0 });
  }, 60_000);
});
