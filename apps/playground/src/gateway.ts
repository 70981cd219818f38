import {
  calendarRefill,
  coordinator,
  type Dispatch,
  hierarchy,
  intervalRefill,
  lazyRefill,
  tokenBucket,
} from '@budgetry/compose';
import { AtomicTokenBudget, type BudgetEvent } from '@budgetry/core';
import { FakeClock } from '@budgetry/testing';
import { between, seededRandom } from './random.js';

/** How to run the gateway scenario. */
export interface GatewayOptions {
  /** Seed for the simulated traffic. */
  seed: number;
  /** Where progress lines go. */
  log: (line: string) => void;
  /** Simulated minutes (default 4). */
  minutes?: number;
}

/** Per-tenant outcome. */
export interface TenantReport {
  granted: number;
  denied: Record<string, number>;
  tokens: number;
  failed: number;
}

/** What the gateway scenario observed. */
export interface GatewayReport {
  tenants: Record<string, TenantReport>;
  tokensConsumed: number;
  tokensSettled: number;
  usdConsumed: number;
  usdSettled: number;
  peakTokenDebt: number;
  dayRefills: number;
  violations: string[];
}

const TENANTS = ['acme', 'globex', 'initech', 'umbrella'] as const;
/** Calls each tenant tries per simulated 250 ms step: acme is the noisy neighbour. */
const DEMAND: Record<(typeof TENANTS)[number], number> = {
  acme: 3,
  globex: 1,
  initech: 1,
  umbrella: 1,
};
const STEP_MS = 250;
const MICRO_USD_PER_TOKEN = 3;

interface InFlight {
  tenant: (typeof TENANTS)[number];
  dispatch: Dispatch<string>;
  doneAt: number;
  tokens: number;
  fails: boolean;
}

function pad(value: string | number, width: number): string {
  return String(value).padStart(width);
}

/**
 * An LLM gateway shared by four tenants, on simulated time that crosses local midnight in
 * New York. Every call is gated by one coordinator on four dimensions: requests per second
 * (token bucket), tokens per minute (lazy refill), dollars per local day (calendar refill)
 * and the tenant's own per-minute token allowance inside a global one (a hierarchy on an
 * interval refill). Usage is reconciled when each call finishes; failed calls are refunded.
 *
 * @param options - seed, logger and length.
 * @returns per-tenant counters, conservation figures and any invariant violations.
 */
export function runGateway(options: GatewayOptions): GatewayReport {
  const random = seededRandom(options.seed);
  const log = options.log;
  const minutes = options.minutes ?? 4;
  // 23:58 in New York: the daily dollar cap refills two simulated minutes in.
  const clock = new FakeClock(Date.parse('2026-03-14T03:58:00Z'));

  let peakTokenDebt = 0;
  const tpmBudget = new AtomicTokenBudget(60_000, {
    name: 'tpm',
    observer: (event: BudgetEvent) => {
      if (event.type === 'debt') peakTokenDebt = Math.max(peakTokenDebt, event.debt);
    },
  });
  const dailyUsd = new AtomicTokenBudget(500_000, { name: 'daily-usd' });
  const requests = tokenBucket({ burst: 8, rate: 6, per: 1_000, clock });
  const tokensPerMinute = lazyRefill(tpmBudget, { intervalMs: 60_000, clock });
  const usdPerDay = calendarRefill(dailyUsd, { unit: 'day', timeZone: 'America/New_York', clock });
  const tenants = hierarchy({ capacity: 60_000, children: { capacity: 24_000 } });
  using perMinute = intervalRefill(tenants, { intervalMs: 60_000, clock });
  const gateway = coordinator({ requests, tokens: tokensPerMinute, usd_micros: usdPerDay });

  const report: GatewayReport = {
    tenants: Object.fromEntries(
      TENANTS.map((t) => [t, { granted: 0, denied: {}, tokens: 0, failed: 0 }]),
    ),
    tokensConsumed: 0,
    tokensSettled: 0,
    usdConsumed: 0,
    usdSettled: 0,
    peakTokenDebt: 0,
    dayRefills: 0,
    violations: [],
  };
  let inFlight: InFlight[] = [];
  const finish = (call: InFlight): void => {
    const tenant = report.tenants[call.tenant]!;
    if (call.fails) {
      tenant.failed++;
      call.dispatch.cancelSync(); // refunds every dimension
      return;
    }
    const usd = call.tokens * MICRO_USD_PER_TOKEN;
    call.dispatch.settleSync({
      requests: 1,
      tokens: call.tokens,
      usd_micros: usd,
      tenant: call.tokens,
    });
    tenant.tokens += call.tokens;
    report.tokensSettled += call.tokens;
    report.usdSettled += usd;
  };

  log('');
  log('multi-tenant LLM gateway (@budgetry/compose), simulated time, America/New_York');
  log(
    'requests 6/s burst 8 · tokens 60 000/min · $0.50/local day · tenant 24 000 tokens/min in 60 000',
  );
  const stepsPerMinute = 60_000 / STEP_MS;
  let lastDayEpoch = usdPerDay.epoch;
  for (let step = 0; step < minutes * stepsPerMinute; step++) {
    // Calls arrive in a random order each step, as they would from independent clients.
    const arrivals = TENANTS.flatMap((id) => Array.from({ length: DEMAND[id] }, () => id));
    for (let i = arrivals.length - 1; i > 0; i--) {
      const j = between(random, 0, i);
      [arrivals[i], arrivals[j]] = [arrivals[j]!, arrivals[i]!];
    }
    for (const tenantId of arrivals) {
      {
        const estimate = between(random, 800, 1_800);
        const decision = gateway.with({ tenant: tenants.child(tenantId) }).tryReserveSync({
          requests: 1,
          tokens: estimate,
          usd_micros: estimate * MICRO_USD_PER_TOKEN,
          tenant: estimate,
        });
        const tenant = report.tenants[tenantId]!;
        if (!decision.ok) {
          tenant.denied[decision.deniedBy] = (tenant.denied[decision.deniedBy] ?? 0) + 1;
          continue;
        }
        tenant.granted++;
        inFlight.push({
          tenant: tenantId,
          dispatch: decision.permit,
          doneAt: clock.now() + between(random, 1, 8) * STEP_MS,
          // Actual usage runs from well under to somewhat over the estimate.
          tokens: Math.round(estimate * (0.6 + random() * 0.6)),
          fails: random() < 0.04,
        });
      }
    }
    clock.advance(STEP_MS);
    const due = inFlight.filter((call) => call.doneAt <= clock.now());
    inFlight = inFlight.filter((call) => call.doneAt > clock.now());
    for (const call of due) finish(call);
    if (usdPerDay.epoch !== lastDayEpoch) {
      lastDayEpoch = usdPerDay.epoch;
      report.dayRefills++;
      log(`  — local midnight in New York: the daily dollar cap refilled (epoch ${lastDayEpoch})`);
    }
    if ((step + 1) % stepsPerMinute === 0) {
      log(`minute ${(step + 1) / stepsPerMinute}:`);
      for (const id of TENANTS) {
        const t = report.tenants[id]!;
        const denials = Object.entries(t.denied)
          .map(([by, n]) => `${by} ${n}`)
          .join(', ');
        log(
          `  ${id.padEnd(9)} granted ${pad(t.granted, 4)}  tokens ${pad(t.tokens, 7)}  failed→refunded ${pad(t.failed, 2)}` +
            (denials ? `  denied: ${denials}` : ''),
        );
      }
      log(
        `  tokens/min left ${pad(tokensPerMinute.available(), 6)}  $/day left ${(dailyUsd.available() / 1e6).toFixed(4)}` +
          (tpmBudget.debt() > 0 ? `  token debt ${tpmBudget.debt()}` : ''),
      );
    }
  }
  for (const call of inFlight) finish(call);

  report.tokensConsumed = tpmBudget.tokensConsumedSync();
  report.usdConsumed = dailyUsd.tokensConsumedSync();
  report.peakTokenDebt = peakTokenDebt;
  if (report.tokensConsumed !== report.tokensSettled) {
    report.violations.push(
      `tokens consumed ${report.tokensConsumed} ≠ settled ${report.tokensSettled}`,
    );
  }
  if (report.usdConsumed !== report.usdSettled) {
    report.violations.push(`dollars consumed ${report.usdConsumed} ≠ settled ${report.usdSettled}`);
  }
  let childrenHeld = 0;
  for (const child of tenants.children()) {
    childrenHeld += child.held();
    if (child.held() > child.capacity)
      report.violations.push(`${child.held()} held over a tenant cap`);
  }
  if (childrenHeld + tenants.ownHeld() !== tenants.held() || tenants.held() > tenants.capacity) {
    report.violations.push('hierarchy: Σ children held + own held ≠ parent held, or over capacity');
  }
  if (tpmBudget.leaks() + dailyUsd.leaks() !== 0) report.violations.push('a reservation leaked');
  if (perMinute.epoch !== minutes) {
    report.violations.push(
      `tenant budgets refilled ${perMinute.epoch} times in ${minutes} minutes`,
    );
  }
  const acme = report.tenants.acme!;
  const quiet = TENANTS.filter((t) => t !== 'acme').map((t) => report.tenants[t]!);
  log(
    `acme sent 3× the traffic of each other tenant and was held to its 24 000 tokens/min ` +
      `(${acme.tokens} tokens in ${minutes} min, ${acme.denied.tenant ?? 0} calls denied by its tenant budget); ` +
      `the others got ${quiet.map((t) => t.tokens).join(', ')}`,
  );
  log(
    `tokens consumed ${report.tokensConsumed} = Σ settled, dollars ${(report.usdConsumed / 1e6).toFixed(4)} = Σ settled, ` +
      `peak token debt ${report.peakTokenDebt}`,
  );
  return report;
}
