import type { Coordinator, Dispatch, HierarchyNode } from '@budgetry/compose';
import { FakeClock } from '@budgetry/testing';
import { type Check, dispatchCheck, hierarchyCheck } from './audit.js';
import { type Backend, openBackend } from './backend.js';
import { formatClock } from './format.js';
import {
  buildGateway,
  type Dimension,
  type Fault,
  type Gateway,
  LIMITS,
  PRICE,
  TIME_ZONE,
} from './gateway.js';
import type { BackendKind } from './options.js';
import { between, seededRandom } from './random.js';
import type { BudgetView, RunResult, Snapshot } from './result.js';
import {
  type BudgetName,
  type DenialKind,
  emptyBudgetCounts,
  emptyTenantCounts,
  type Interval,
  type RefillEvent,
} from './stats.js';
import { Demand, type Request, type TenantProfile, tenantProfiles } from './tenants.js';

/** How to run the scenario. */
export interface SimulationConfig {
  readonly tenants: number;
  /** Simulated minutes. */
  readonly minutes: number;
  readonly seed: number;
  readonly backend: BackendKind;
  /** A fault to inject, so a test can see the conservation check fail. */
  readonly fault?: Fault;
}

/** One simulated step. */
export const STEP_MS = 250;
/** 23:55 on 13 March 2026 in New York: the daily dollar cap refills five minutes in. */
export const START_MS = Date.parse('2026-03-14T03:55:00Z');
const STEPS_PER_MINUTE = 60_000 / STEP_MS;

interface Call {
  readonly request: Request;
  readonly dispatch: Dispatch<Dimension>;
  readonly doneAt: number;
  readonly outcome: 'complete' | 'fail' | 'abort';
  /** What the provider will report. */
  readonly prompt: number;
  readonly completion: number;
  readonly audit: { readonly tokens: number | undefined; readonly dollars: number | undefined };
}

interface Waiter {
  readonly request: Request;
  readonly deadline: number;
  nextTry: number;
}

/**
 * The scenario, one simulated step at a time: tenants call an LLM through one coordinator on
 * a simulated clock; the provider reports usage above and below the estimates; some calls
 * fail or are aborted midway; some callers wait (retrying when the denial says) until a
 * deadline. Deterministic: everything comes from the seed and the simulated clock.
 */
export class Simulation {
  readonly profiles: readonly TenantProfile[];
  readonly intervals: Interval[] = [];
  readonly refills: RefillEvent[] = [];
  readonly backend: Backend;
  private readonly clock = new FakeClock(START_MS);
  private readonly random: () => number;
  private readonly gateway: Gateway;
  private readonly nodes: HierarchyNode[];
  private readonly coordinators: Coordinator<Dimension>[];
  private inFlight: Call[] = [];
  private waiters: Waiter[] = [];
  private readonly demand: Demand;
  private current: Interval;
  private steps = 0;
  private readonly dispatches = { granted: 0, settled: 0, cancelled: 0, held: 0 };
  private result: RunResult | undefined;

  /**
   * @param config - size, seed, backend and an optional fault.
   * @throws BackendUnavailable when the backend cannot be used.
   */
  constructor(readonly config: SimulationConfig) {
    this.random = seededRandom(config.seed);
    this.profiles = tenantProfiles(config.tenants, this.random);
    this.backend = openBackend(config.backend, this.clock);
    this.gateway = buildGateway(this.backend, this.clock, config.fault);
    this.nodes = this.profiles.map((p) => this.gateway.tenants.child(p.name));
    this.coordinators = this.nodes.map((tenant) => this.gateway.llm.with({ tenant }));
    this.demand = new Demand(this.profiles, this.random);
    this.current = this.newInterval();
    const log = (budget: BudgetName) => (epoch: number, debtPaid: number) => {
      this.refills.push({ at: this.time(), budget, epoch, debtPaid });
      this.current.budgets[budget].refills++;
    };
    this.gateway.audits.tokens.onRefill = log('tokens');
    this.gateway.audits.dollars.onRefill = log('dollars');
    this.gateway.tenantsPerMinute.subscribe((epoch) => log('global')(epoch, 0));
  }

  /** Whether every simulated minute has run. */
  get done(): boolean {
    return this.steps >= this.config.minutes * STEPS_PER_MINUTE;
  }

  /**
   * Runs one simulated step.
   *
   * @returns the minute that ended with this step, if one did.
   */
  step(): Interval | undefined {
    if (this.done) return undefined;
    const now = this.clock.now();
    const due = this.inFlight.filter((call) => call.doneAt <= now);
    this.inFlight = this.inFlight.filter((call) => call.doneAt > now);
    for (const call of due) this.answer(call);
    this.serveWaiters(now);
    for (const request of this.demand.next(now, STEP_MS)) this.offer(request, now);
    this.sample();
    this.steps++;
    let ended: Interval | undefined;
    if (this.steps % STEPS_PER_MINUTE === 0) {
      ended = this.current;
      this.intervals.push(ended);
      this.checkLedgers(`end of minute ${ended.minute}`);
      // Refills at the boundary (the tenants' timer fires as the clock moves) open the next.
      this.current = this.newInterval();
    }
    // The run ends at the last step's instant, so the final state is the last minute's.
    if (!this.done) this.clock.advance(STEP_MS);
    return ended;
  }

  /**
   * Runs the remaining steps, settles the calls still out, gives up the waits still open and
   * checks conservation on the final state.
   *
   * @returns the whole run.
   */
  finish(): RunResult {
    if (this.result !== undefined) return this.result;
    while (!this.done) this.step();
    const last = this.intervals.at(-1) ?? this.current;
    const at = `after minute ${last.minute}`;
    // The run ends: calls still out complete now, and callers still waiting give up.
    for (const call of this.inFlight.splice(0)) this.answer(call, last);
    for (const waiter of this.waiters.splice(0)) this.countsOf(waiter.request, last).timedOut++;
    const g = this.gateway;
    const checks: Check[] = [
      ...g.audits.tokens.finalChecks(g.tokens, at),
      ...g.audits.dollars.finalChecks(g.dollars, at),
      hierarchyCheck(g.tenants),
      dispatchCheck(
        this.dispatches.granted,
        this.dispatches.settled,
        this.dispatches.cancelled,
        this.dispatches.held,
      ),
    ];
    g.close();
    this.result = {
      scenario: {
        seed: this.config.seed,
        minutes: this.config.minutes,
        backend: this.backend.description,
        timeZone: TIME_ZONE,
        start: new Date(START_MS).toISOString(),
        startLocal: formatClock(START_MS, TIME_ZONE, false),
        stepMs: STEP_MS,
        limits: LIMITS,
        tenants: this.profiles.map(({ name, kind }) => ({ name, kind })),
      },
      intervals: this.intervals,
      refills: this.refills,
      checks,
      held: checks.every((c) => c.ok),
    };
    return this.result;
  }

  /**
   * The state now, for the live view.
   *
   * @returns a snapshot that shares nothing mutable with the simulation.
   */
  snapshot(): Snapshot {
    const budgets = this.snapshotBudgets().map((b) => ({
      ...b,
      refills: this.refills.filter((r) => r.budget === b.name).length,
    }));
    const minute = this.intervals.length + (this.done ? 0 : 1);
    // Once the run is over, the last minute stays on screen rather than an empty next one.
    const shown = this.done ? (this.intervals.at(-1) ?? this.current) : this.current;
    return {
      seed: this.config.seed,
      backend: this.backend.description,
      clock: this.time(),
      timeZone: TIME_ZONE,
      minute,
      minutes: this.config.minutes,
      progress: this.steps / (this.config.minutes * STEPS_PER_MINUTE),
      tenants: this.profiles.map((p, i) => ({
        name: p.name,
        kind: p.kind,
        counts: structuredClone(shown.tenants[p.name]!),
        waiting: this.waiters.filter((w) => w.request.tenant === i).length,
        inFlight: this.inFlight.filter((c) => c.request.tenant === i).length,
        budgetHeld: this.nodes[i]!.held(),
        budgetCapacity: this.nodes[i]!.capacity,
      })),
      budgets,
      refills: this.refills.slice(-4),
    };
  }

  private offer(request: Request, now: number): void {
    const counts = this.countsOf(request);
    counts.offered++;
    const denial = this.tryDispatch(request, now);
    if (denial === undefined) return;
    counts.denied[denial.kind]++;
    if (denial.kind !== 'tenant') this.current.budgets[denial.kind].denials++;
    if (this.random() < this.profiles[request.tenant]!.patience) {
      counts.queued++;
      this.waiters.push({
        request,
        deadline: now + between(this.random, 3, 20) * 1_000,
        nextTry: now + Math.max(STEP_MS, denial.retryAfterMs ?? STEP_MS),
      });
    }
  }

  private serveWaiters(now: number): void {
    const still: Waiter[] = [];
    for (const waiter of this.waiters) {
      if (waiter.nextTry > now) {
        still.push(waiter);
        continue;
      }
      const denial = this.tryDispatch(waiter.request, now);
      if (denial === undefined) {
        this.countsOf(waiter.request).afterWait++;
        continue;
      }
      const next = now + Math.max(STEP_MS, denial.retryAfterMs ?? STEP_MS);
      if (next > waiter.deadline) {
        this.countsOf(waiter.request).timedOut++;
        continue;
      }
      waiter.nextTry = next;
      still.push(waiter);
    }
    this.waiters = still;
  }

  /** Reserves a call on every dimension, or returns what denied it. */
  private tryDispatch(
    request: Request,
    now: number,
  ): { kind: DenialKind; retryAfterMs: number | undefined } | undefined {
    const tokens = request.prompt + request.completion;
    const usd = request.prompt * PRICE.prompt + request.completion * PRICE.completion;
    const decision = this.coordinators[request.tenant]!.tryReserveSync({
      requests: 1,
      tokens,
      dollars: usd,
      tenant: tokens,
    });
    if (!decision.ok) {
      let kind: DenialKind = decision.deniedBy;
      if (kind === 'tenant') {
        const node = this.nodes[request.tenant]!;
        kind = node.capacity - node.held() >= tokens ? 'global' : 'tenant';
      }
      return { kind, retryAfterMs: decision.retryAfterMs };
    }
    this.dispatches.granted++;
    const at = `${this.time()}`;
    const audit = {
      tokens: this.gateway.audits.tokens.grant(tokens, at),
      dollars: this.gateway.audits.dollars.grant(usd, at),
    };
    const counts = this.countsOf(request);
    counts.admitted++;
    this.current.budgets.requests.used++;
    // What the provider will do with it, drawn now so the run depends on the seed alone.
    const roll = this.random();
    const outcome = roll < 0.04 ? 'fail' : roll < 0.1 ? 'abort' : 'complete';
    const prompt = Math.round(request.prompt * (0.9 + this.random() * 0.2));
    const full = Math.round(request.completion * (0.3 + this.random() * 1.5));
    const completion = outcome === 'abort' ? Math.round(full * (0.1 + this.random() * 0.6)) : full;
    this.inFlight.push({
      request,
      dispatch: decision.permit,
      doneAt: now + between(this.random, 2, 32) * STEP_MS,
      outcome,
      prompt,
      completion,
      audit,
    });
    return undefined;
  }

  /** The provider answered (or failed): reconcile the dispatch. */
  private answer(call: Call, interval = this.current): void {
    const counts = this.countsOf(call.request, interval);
    const at = this.time();
    const audits = this.gateway.audits;
    if (call.outcome === 'fail') {
      call.dispatch.cancelSync();
      this.dispatches.cancelled++;
      if (call.dispatch.state !== 'cancelled') this.dispatches.held++;
      counts.failed++;
      audits.tokens.release(call.audit.tokens, at);
      audits.dollars.release(call.audit.dollars, at);
      return;
    }
    const tokens = call.prompt + call.completion;
    const usd = call.prompt * PRICE.prompt + call.completion * PRICE.completion;
    call.dispatch.settleSync({ requests: 1, tokens, dollars: usd, tenant: tokens });
    this.dispatches.settled++;
    if (call.dispatch.state !== 'settled') this.dispatches.held++;
    audits.tokens.record(call.audit.tokens, call.prompt, call.completion, at);
    audits.dollars.record(
      call.audit.dollars,
      call.prompt * PRICE.prompt,
      call.completion * PRICE.completion,
      at,
    );
    if (call.outcome === 'abort') counts.aborted++;
    else counts.completed++;
    counts.tokens += tokens;
    counts.usdMicros += usd;
    counts.overage += Math.max(0, tokens - call.request.prompt - call.request.completion);
    interval.budgets.tokens.used += tokens;
    interval.budgets.dollars.used += usd;
    interval.budgets.global.used += tokens;
  }

  /** Peak utilization and debt of each budget, after every step. */
  private sample(): void {
    for (const b of this.snapshotBudgets()) {
      const counts = this.current.budgets[b.name];
      counts.peakUtilization = Math.max(counts.peakUtilization, b.utilization);
      counts.peakDebt = Math.max(counts.peakDebt, b.debt);
    }
  }

  private snapshotBudgets(): BudgetView[] {
    const g = this.gateway;
    return [
      view('requests', g.requests.available(), LIMITS.requestBurst, 0),
      view('tokens', g.tokensPerMinute.available(), LIMITS.tokensPerMinute, g.tokens.debt()),
      view('dollars', g.dollarsPerDay.available(), LIMITS.usdMicrosPerDay, g.dollars.debt()),
      view('global', LIMITS.tenantsPerMinute - g.tenants.held(), LIMITS.tenantsPerMinute, 0),
    ];
  }

  private checkLedgers(at: string): void {
    this.gateway.audits.tokens.compare(this.gateway.tokens, at);
    this.gateway.audits.dollars.compare(this.gateway.dollars, at);
  }

  private countsOf(request: Request, interval = this.current) {
    return interval.tenants[this.profiles[request.tenant]!.name]!;
  }

  private newInterval(): Interval {
    const minute = this.intervals.length + 1;
    return {
      minute,
      start: formatClock(START_MS + (minute - 1) * 60_000, TIME_ZONE, false),
      tenants: Object.fromEntries(this.profiles.map((p) => [p.name, emptyTenantCounts()])),
      budgets: emptyBudgetCounts(),
    };
  }

  private time(): string {
    return formatClock(this.clock.now(), TIME_ZONE);
  }
}

function view(name: BudgetName, available: number, capacity: number, debt: number): BudgetView {
  const utilization = debt > 0 ? 1 : 1 - Math.max(0, available) / capacity;
  return { name, available, capacity, debt, utilization, refills: 0 };
}
