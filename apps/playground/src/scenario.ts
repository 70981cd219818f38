import { AtomicBudget, AtomicTokenBudget, type BudgetEvent } from '@budgetry/core';
import { between, seededRandom } from './random.js';

/** How to run the scenario. */
export interface ScenarioOptions {
  /** Seed for the simulated workload; the same seed gives the same run. */
  seed: number;
  /** Where progress lines go. */
  log: (line: string) => void;
  /** Number of documents to process (default 400). */
  documents?: number;
}

/** What the scenario observed. */
export interface ScenarioReport {
  processed: number;
  deniedRows: number;
  deniedTokens: number;
  failedCalls: number;
  tokensConsumed: number;
  debtPeak: number;
  epochs: number;
  violations: string[];
}

function bar(fraction: number, width = 24): string {
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

/**
 * Documents arrive in batches; each needs rows parsed (a row guard) and one model call
 * (a token budget with an estimate reconciled against simulated usage, some of it above the
 * estimate, some calls failing). Every few batches the budgets refill, as a new epoch.
 *
 * @param options - seed, logger and size.
 * @returns counters and any invariant violations.
 */
export async function runScenario(options: ScenarioOptions): Promise<ScenarioReport> {
  const random = seededRandom(options.seed);
  const total = options.documents ?? 400;
  const log = options.log;
  const denials = { rows: 0, tokens: 0 };
  let debtPeak = 0;
  const observer = (event: BudgetEvent): void => {
    if (event.type === 'deny') {
      if (event.budget === 'rows') denials.rows++;
      else denials.tokens++;
    }
    if (event.type === 'debt') debtPeak = Math.max(debtPeak, event.debt);
  };
  const rows = new AtomicBudget(5_000, { name: 'rows', observer });
  const tokens = new AtomicTokenBudget(24_000, { name: 'tokens', observer });

  const report: ScenarioReport = {
    processed: 0,
    deniedRows: 0,
    deniedTokens: 0,
    failedCalls: 0,
    tokensConsumed: 0,
    debtPeak: 0,
    epochs: 0,
    violations: [],
  };
  let recordedUsage = 0;

  log(`budgetry playground: ${total} documents, seed ${options.seed}`);
  log('rows: 5000 per epoch (row guard), tokens: 24000 per epoch (token budget, exact debt)');

  for (let batch = 0, next = 0; next < total; batch++) {
    const size = Math.min(total - next, between(random, 10, 30));
    const calls: Promise<void>[] = [];
    for (let i = 0; i < size; i++, next++) {
      const rowCost = between(random, 20, 200);
      const estimate = between(random, 400, 2_000);
      const permit = rows.tryAcquireSync(rowCost);
      if (!permit) continue;
      const reservation = tokens.tryReserveTokensSync(estimate);
      if (!reservation) {
        permit.releaseSync(); // nothing was parsed: give the rows back
        continue;
      }
      permit.commitSync(); // rows were parsed: spent until the next epoch
      const willFail = random() < 0.05;
      const actual = Math.round(estimate * (0.5 + random() * 1.1));
      calls.push(
        (async () => {
          using held = reservation; // refunds on the failure path
          await new Promise((resolve) => setTimeout(resolve, between(random, 0, 3)));
          if (willFail) {
            report.failedCalls++;
            return;
          }
          const prompt = Math.round(actual * 0.7);
          tokens.recordUsageSync(held, prompt, actual - prompt);
          recordedUsage += actual;
          report.processed++;
        })(),
      );
    }
    await Promise.all(calls);
    if (tokens.available() > tokens.capacity || rows.available() > rows.capacity) {
      report.violations.push(`batch ${batch}: available above capacity`);
    }
    if (tokens.reserved() !== 0) {
      report.violations.push(`batch ${batch}: ${tokens.reserved()} tokens still reserved`);
    }
    log(
      `batch ${String(batch).padStart(2)}  rows ${bar(rows.utilization())} ${String(rows.available()).padStart(5)} left` +
        `  tokens ${bar(tokens.utilization())} ${String(tokens.available()).padStart(6)} left` +
        (tokens.debt() > 0 ? `  debt ${tokens.debt()}` : ''),
    );
    if (batch % 4 === 3) {
      rows.refill();
      tokens.refill();
      report.epochs++;
      log(
        `— refill: epoch ${tokens.epoch} (debt paid first: ${tokens.available()} tokens available)`,
      );
    }
  }

  report.deniedRows = denials.rows;
  report.deniedTokens = denials.tokens;
  report.tokensConsumed = tokens.tokensConsumedSync();
  report.debtPeak = debtPeak;
  if (report.tokensConsumed !== recordedUsage) {
    report.violations.push(
      `tokens consumed ${report.tokensConsumed} ≠ recorded usage ${recordedUsage}`,
    );
  }
  if (rows.overReleased() !== 0 || rows.leaks() !== 0 || tokens.leaks() !== 0) {
    report.violations.push('a handle was over-released or leaked');
  }
  log('');
  log(
    `processed ${report.processed}/${total}, failed calls refunded ${report.failedCalls}, ` +
      `denied: rows ${report.deniedRows}, tokens ${report.deniedTokens}`,
  );
  log(
    `tokens consumed ${report.tokensConsumed} (= Σ recorded usage), epochs ${report.epochs}, ` +
      `peak debt ${report.debtPeak}`,
  );
  log(report.violations.length === 0 ? 'conservation: ok' : 'conservation: BROKEN');
  return report;
}
