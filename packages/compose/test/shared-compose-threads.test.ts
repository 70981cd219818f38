// compose over shared budgets across worker threads: a coordinator in every thread over the
// same SharedBudget and SharedTokenBudget, and a worker terminated while an all-of holds
// permits and count reservations on both. At quiescence every unit is accounted for by the
// threads' own logs: nothing stranded, nothing refunded twice.
import { SharedBudget, SharedTokenBudget } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { coordinator } from '../src/index.js';
import type { CoordinatorReport } from './shared-compose/composite-worker.js';
import {
  exited,
  firstMessage,
  seededRandom,
  startWorker,
  waitAtGate,
} from './shared-compose/spawn.js';

describe('coordinators in several threads over the same shared budgets', () => {
  it.each([2, 3])(
    '%i workers and the main thread: rows and tokens add up to the logs',
    async (n) => {
      const ROWS = 400;
      const TOKENS = 5_000;
      const rows = new SharedBudget(ROWS, { name: 'rows' });
      const tokens = new SharedTokenBudget(TOKENS, { name: 'tokens' });
      const gate = new SharedArrayBuffer(4);
      const workers = Array.from({ length: n }, (_, i) =>
        startWorker('./composite-worker.ts', {
          mode: 'coordinator',
          rows: rows.share(),
          tokens: tokens.share(),
          seed: 1_000 + i * 7 + n,
          ops: 20_000,
          gate,
          workers: n + 1,
        }),
      );
      for (const w of workers) {
        rows.releaseOnExit(w);
        tokens.releaseOnExit(w);
      }
      const reports = workers.map((w) => firstMessage<CoordinatorReport>(w));
      // The main thread takes part too, with its own coordinator over the creator handles.
      const llm = coordinator({ rows, tokens });
      const next = seededRandom(99 + n);
      waitAtGate(gate, n + 1);
      let rowsSpent = 0;
      let tokensUsed = 0;
      let granted = 0;
      for (let i = 0; i < 5_000; i++) {
        const estimate = { rows: 1 + next(5), tokens: next(40) };
        const r = llm.tryReserveSync(estimate);
        if (!r.ok) continue;
        granted++;
        const rowsUsed = next(estimate.rows + 1);
        const used = next(60);
        r.permit.settleSync({ rows: rowsUsed, tokens: used });
        rowsSpent += rowsUsed;
        tokensUsed += used;
      }
      const logs = await Promise.all(reports);
      await Promise.all(workers.map(exited));
      for (const log of logs) {
        rowsSpent += log.rowsSpent;
        tokensUsed += log.tokensUsed;
        granted += log.granted;
        expect(log.shortfall).toBe(0);
      }
      expect(granted).toBeGreaterThan(0);
      // Committed rows stay spent (no refill); everything else came back exactly once.
      const rs = rows.snapshot();
      expect({ available: rs.available, held: rs.held, overReleased: rs.overReleased }).toEqual({
        available: Math.max(ROWS - rowsSpent, 0),
        held: 0,
        overReleased: 0,
      });
      expect(rowsSpent).toBeLessThanOrEqual(ROWS);
      // Tokens: available − debt = capacity − every recorded usage.
      expect(tokens.available() - tokens.debt()).toBe(TOKENS - tokensUsed);
      expect(tokens.reserved()).toBe(0);
      expect(tokens.tokensConsumedSync()).toBe(tokensUsed);
      rows.close();
      tokens.close();
    },
    60_000,
  );
});

describe('a worker terminated while an all-of holds its permits and count reservations', () => {
  it('releaseOnExit gives every unit back on both budgets, once, and counts it', async () => {
    const rows = new SharedBudget(100);
    const tokens = new SharedTokenBudget(100);
    // The main thread holds some too, through its own handle: those must stay held.
    const mine = rows.tryAcquireSync(4)!;
    const myTokens = tokens.tryReserveTokensSync(6)!;
    const worker = startWorker('./composite-worker.ts', {
      mode: 'hold',
      rows: rows.share(),
      tokens: tokens.share(),
      cost: 9,
    });
    rows.releaseOnExit(worker);
    tokens.releaseOnExit(worker);
    const held = await firstMessage<{ permits: number; counted: boolean }>(worker);
    expect(held).toEqual({ permits: 5, counted: true });
    // 5 permits and one count reservation of 9 on each budget, plus the main thread's.
    expect(rows.available()).toBe(100 - 4 - 6 * 9);
    expect(tokens.available()).toBe(100 - 6 - 6 * 9);
    await worker.terminate();
    await exited(worker);
    // The exit listener runs in this thread: wait for it.
    for (let i = 0; i < 100 && rows.available() !== 96; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(rows.snapshot()).toMatchObject({ available: 96, held: 4, reclaimed: 54 });
    expect(tokens.available()).toBe(94);
    expect(tokens.reserved()).toBe(6);
    expect(tokens.snapshot()).toMatchObject({ reclaimed: 54 });
    // Nothing comes back twice: a second reclaim finds nothing, and our own holds settle once.
    expect(rows.reclaimExpired()).toEqual({ handles: 0, units: 0 });
    expect(mine.releaseSync()).toBe(true);
    expect(mine.releaseSync()).toBe(false);
    tokens.recordUsageSync(myTokens, 3, 3);
    expect(rows.available()).toBe(100);
    expect(tokens.available()).toBe(94);
    expect(tokens.debt()).toBe(0);
    rows.close();
    tokens.close();
  }, 30_000);
});
