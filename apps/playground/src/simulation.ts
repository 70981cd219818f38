import type { Coordinator, Dispatch, HierarchyNode } from '@budgetry/compose';
import { FakeClock } from '@budgetry/testing';
import { type Check, dispatchCheck, hierarchyCheck } from './audit.js';
import { type Backend, openBackend } from './backend.js';
import { CapacityChanges } from './capacity.js';
import type { ControlChange, ControlState } from './controls.js';
import { formatClock } from './format.js';
import {
  budgetViews,
  buildGateway,
  buildMeter,
  type Dimension,
  type Fault,
  type Gateway,
  LIMITS,
  llmCoordinator,
  METER_LABELS,
  type Meter,
  PRICE,
  TIME_ZONE,
} from './gateway.js';
import type { BackendKind } from './options.js';
import { between, seededRandom } from './random.js';
import type { RunResult, Snapshot } from './result.js';
import {
  type BudgetName,
  type DenialKind,
  emptyBudgetCounts,
  emptyTenantCounts,
  type Interval,
  type RefillEvent,
} from './stats.js';
import {
  Demand,
  demandFactors,
  providerAnswer,
  type Request,
  type TenantProfile,
  tenantProfiles,
} from './tenants.js';

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
  /** The generations of the token budgets it was reserved on: it settles there. */
  readonly meters: { readonly tokens: Meter; readonly dollars: Meter };
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
  private coordinators: Coordinator<Dimension>[];
  /** Capacity changes waiting for their boundary (see {@link Simulation.control}). */
  private readonly changes: CapacityChanges;
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
    this.coordinators = this.buildCoordinators();
    this.changes = new CapacityChanges({
      gateway: this.gateway,
      nodes: this.nodes,
      names: this.profiles.map((p) => p.name),
      meter: (name, capacity) => {
        const at = formatClock(this.clock.now(), TIME_ZONE, false);
        const label = `${METER_LABELS[name]} from ${at}`;
        const meter = buildMeter(name, capacity, this.backend, this.clock, config.fault, label);
        meter.audit.onRefill = this.logRefill(name);
        return meter;
      },
      time: () => this.time(),
    });
    this.demand = new Demand(this.profiles, this.random);
    this.current = this.newInterval();
    this.gateway.tokens.audit.onRefill = this.logRefill('tokens');
    this.gateway.dollars.audit.onRefill = this.logRefill('dollars');
    this.gateway.tenantsPerMinute.subscribe((epoch) => this.logRefill('global')(epoch, 0));
  }

  private logRefill(budget: BudgetName) {
    return (epoch: number, debtPaid: number) => {
      this.refills.push({ at: this.time(), budget, epoch, debtPaid });
      this.current.budgets[budget].refills++;
    };
  }

  private buildCoordinators(): Coordinator<Dimension>[] {
    const llm = llmCoordinator(this.gateway);
    return this.nodes.map((tenant) => llm.with({ tenant }));
  }

  /**
   * Changes demand and capacities between steps: demand at once, capacities at their boundary
   * (see {@link CapacityChanges}: the tenants' budgets through the hierarchy's own API, tokens
   * per minute and dollars per day by a new generation of the budget at the next minute).
   *
   * @param change - what to change; validate it first with `parseControlChange`.
   * @throws ControlError for a value out of range, or a tenant name not in the run.
   */
  control(change: ControlChange): void {
    const factors = demandFactors(change, this.profiles);
    this.changes.request(change);
    for (const [i, factor] of factors) this.demand.scale[i] = factor;
  }

  /** @returns the settings in force and the capacity changes still pending. */
  controls(): ControlState {
    return {
      demand: [...this.demand.scale],
      ...this.changes.state(),
    };
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
    if (this.changes.apply(this.steps % STEPS_PER_MINUTE === 0)) {
      this.coordinators = this.buildCoordinators();
    }
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
      ...g.generations.flatMap((m) => m.audit.finalChecks(m.budget, at)),
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
    const budgets = budgetViews(this.gateway).map((b) => ({
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
    const meters = { tokens: this.gateway.tokens, dollars: this.gateway.dollars };
    const audit = {
      tokens: meters.tokens.audit.grant(tokens, at),
      dollars: meters.dollars.audit.grant(usd, at),
    };
    const counts = this.countsOf(request);
    counts.admitted++;
    this.current.budgets.requests.used++;
    // What the provider will do with it, drawn now so the run depends on the seed alone.
    const { outcome, prompt, completion, steps } = providerAnswer(request, this.random);
    this.inFlight.push({
      request,
      dispatch: decision.permit,
      doneAt: now + steps * STEP_MS,
      outcome,
      prompt,
      completion,
      audit,
      meters,
    });
    return undefined;
  }

  /** The provider answered (or failed): reconcile the dispatch. */
  private answer(call: Call, interval = this.current): void {
    const counts = this.countsOf(call.request, interval);
    const at = this.time();
    const audits = { tokens: call.meters.tokens.audit, dollars: call.meters.dollars.audit };
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
    for (const b of budgetViews(this.gateway)) {
      const counts = this.current.budgets[b.name];
      counts.peakUtilization = Math.max(counts.peakUtilization, b.utilization);
      counts.peakDebt = Math.max(counts.peakDebt, b.debt);
    }
  }

  private checkLedgers(at: string): void {
    for (const meter of this.gateway.generations) meter.audit.compare(meter.budget, at);
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
