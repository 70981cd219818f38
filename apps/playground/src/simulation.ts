import type { Coordinator, HierarchyNode } from '@budgetry/compose';
import { FakeClock } from '@budgetry/testing';
import type { Attachments } from './attachments.js';
import { type Check, hierarchyCheck } from './audit.js';
import { type Backend, openBackend } from './backend.js';
import { type CallPath, Calls, type CallsHost } from './calls.js';
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
  llmCoordinator,
  METER_LABELS,
  TIME_ZONE,
} from './gateway.js';
import type { BackendKind, OtelOptions } from './options.js';
import type { OtelRun } from './otel.js';
import { between, seededRandom } from './random.js';
import type { RunResult, Snapshot } from './result.js';
import { describeScenario, START_MS, STEP_MS } from './scenario.js';
import {
  type BudgetName,
  emptyBudgetCounts,
  emptyTenantCounts,
  type Interval,
  type RefillEvent,
} from './stats.js';
import {
  Demand,
  demandFactors,
  type Request,
  type TenantProfile,
  tenantProfiles,
} from './tenants.js';
import { type WaitEnd, WaitingLine } from './waiting-line.js';

/** How to run the scenario. */
export interface SimulationConfig {
  readonly tenants: number;
  /** Simulated minutes. */
  readonly minutes: number;
  readonly seed: number;
  readonly backend: BackendKind;
  /** The Redis server of the `redis` backend (default `redis://127.0.0.1:6379`). */
  readonly redisUrl?: string | undefined;
  /** A fault to inject, so a test can see the conservation check fail. */
  readonly fault?: Fault;
  /** Told how each caller's wait ended, as it ends (tests hold waits to their deadlines). */
  readonly onWaitEnd?: (end: WaitEnd) => void;
  /** Export the run through `@budgetry/otel` (`--otel`, `--otel-shadow`). */
  readonly otel?: OtelOptions | undefined;
  /** Send the calls through `@budgetry/ai-sdk`'s middleware (`--ai-sdk`). */
  readonly aiSdk?: boolean | undefined;
}

/** What `open` loads only when asked: the OpenTelemetry run, and the AI SDK call path. */
interface Extras {
  readonly otel?: OtelRun | undefined;
  readonly calls?: ((host: CallsHost) => CallPath) | undefined;
}

// The simulated clock's start and step, where the rest of the playground reads them.
export { START_MS, STEP_MS };

const STEPS_PER_MINUTE = 60_000 / STEP_MS;

/**
 * The scenario, one simulated step at a time: tenants call an LLM through one coordinator on
 * a simulated clock; the provider reports usage above and below the estimates; some calls
 * fail or are aborted midway; some callers wait (retrying when the denial says) until a
 * deadline. Deterministic: everything comes from the seed and the simulated clock. Steps are
 * asynchronous because the token budgets may live in Redis; in process they are reserved and
 * settled synchronously all the same.
 */
export class Simulation {
  readonly profiles: readonly TenantProfile[];
  readonly intervals: Interval[] = [];
  readonly refills: RefillEvent[] = [];
  private readonly random: () => number;
  private readonly gateway: Gateway;
  private readonly nodes: HierarchyNode[];
  private coordinators: Coordinator<Dimension>[];
  /** Capacity changes waiting for their boundary (see {@link Simulation.control}). */
  private readonly changes: CapacityChanges;
  private readonly calls: CallPath;
  private readonly line: WaitingLine;
  private readonly demand: Demand;
  private current: Interval;
  private steps = 0;
  private result: Promise<RunResult> | undefined;
  private closed: Promise<void> | undefined;

  /**
   * Opens the backend (connects to Redis for `redis`) and builds the run.
   *
   * @param config - size, seed, backend and an optional fault.
   * @returns the run, at its first step.
   * @throws BackendUnavailable when the backend cannot be used.
   */
  static async open(config: SimulationConfig): Promise<Simulation> {
    const clock = new FakeClock(START_MS);
    // Loaded only when asked for: a plain run never loads OpenTelemetry or the AI SDK.
    const Otel = config.otel && (await import('./otel.js')).OtelRun;
    const Ai = config.aiSdk ? (await import('./ai-calls.js')).AiSdkCalls : undefined;
    const backend = await openBackend(config.backend, clock, config.redisUrl);
    const otel = Otel && config.otel && new Otel(config.otel, clock);
    return new Simulation(config, clock, backend, { otel, calls: Ai && ((h) => new Ai(h)) });
  }

  private constructor(
    readonly config: SimulationConfig,
    private readonly clock: FakeClock,
    readonly backend: Backend,
    private readonly extras: Extras = {},
  ) {
    this.random = seededRandom(config.seed);
    this.profiles = tenantProfiles(config.tenants, this.random);
    this.gateway = buildGateway(this.backend, this.clock, config.fault, extras.otel);
    this.nodes = this.profiles.map((p) => this.gateway.tenants.child(p.name));
    const tenants = this.profiles.map((p, i) => ({ name: p.name, node: this.nodes[i]! }));
    extras.otel?.attach(this.gateway, tenants, () => this.time());
    this.coordinators = this.buildCoordinators();
    this.changes = new CapacityChanges({
      gateway: this.gateway,
      nodes: this.nodes,
      names: this.profiles.map((p) => p.name),
      meter: (name, capacity) => {
        const { clock, backend } = this;
        const label = `${METER_LABELS[name]} from ${formatClock(clock.now(), TIME_ZONE, false)}`;
        const meter = buildMeter(name, capacity, backend, { fault: config.fault, label, clock });
        meter.audit.onRefill = this.logRefill(name);
        return meter;
      },
      time: () => this.time(),
    });
    this.demand = new Demand(this.profiles, this.random);
    const host: CallsHost = {
      gateway: this.gateway,
      nodes: this.nodes,
      sync: this.backend.sync,
      stepMs: STEP_MS,
      random: this.random,
      coordinator: (tenant) => this.coordinators[tenant]!,
      interval: () => this.current,
      counts: (request) => this.countsOf(request),
      time: () => this.time(),
      ...(extras.otel && { shadows: extras.otel }),
    };
    this.calls = extras.calls?.(host) ?? new Calls(host);
    this.line = new WaitingLine(STEP_MS, (end) => {
      const counts = this.countsOf(end.request);
      if (end.admitted) counts.afterWait++;
      else counts.timedOut++;
      config.onWaitEnd?.(end);
    });
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
    const a: Attachments | undefined = this.extras.otel;
    const g = this.gateway;
    const llm = a ? a.coordinator(llmCoordinator(g, a.requests(g.requests))) : llmCoordinator(g);
    return this.nodes.map((node, i) =>
      llm.with({ tenant: a ? a.tenant(node, this.profiles[i]!.name) : node }),
    );
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
   * Runs one simulated step. Steps run one at a time: await each before the next.
   *
   * @returns the minute that ended with this step, if one did.
   */
  async step(): Promise<Interval | undefined> {
    if (this.done) return undefined;
    for (const meter of this.gateway.generations) await meter.budget.catchUp();
    if (await this.changes.apply(this.steps % STEPS_PER_MINUTE === 0)) {
      this.coordinators = this.buildCoordinators();
    }
    const now = this.clock.now();
    await this.calls.answerDue(now);
    await this.line.serve(now, (request) => this.calls.dispatch(request, now));
    for (const request of this.demand.next(now, STEP_MS)) await this.offer(request, now);
    this.steps++;
    const minuteEnds = this.steps % STEPS_PER_MINUTE === 0;
    await this.refresh(minuteEnds);
    this.sample();
    let ended: Interval | undefined;
    if (minuteEnds) {
      ended = this.current;
      this.intervals.push(ended);
      this.checkLedgers(`end of minute ${ended.minute}`);
      this.extras.otel?.minuteEnded();
      // Refills at the boundary (the tenants' timer fires as the clock moves) open the next.
      this.current = this.newInterval();
    }
    // The run ends at the last step's instant, so the final state is the last minute's.
    if (!this.done) this.clock.advance(STEP_MS);
    return ended;
  }

  /**
   * Runs the remaining steps, settles the calls still out, gives up the waits still open,
   * checks conservation on the final state and closes the backend (see
   * {@link Simulation.close}).
   *
   * @returns the whole run.
   */
  finish(): Promise<RunResult> {
    this.result ??= this.run();
    return this.result;
  }

  /**
   * Frees the backend without finishing, for a run given up midway (`finish` does it too):
   * stops the schedules, deletes the run's keys from Redis and disconnects.
   */
  close(): Promise<void> {
    this.closed ??= this.gateway.close().finally(() => this.extras.otel?.shutdown());
    return this.closed;
  }

  private async run(): Promise<RunResult> {
    let result: RunResult;
    try {
      while (!this.done) await this.step();
      result = await this.settle();
    } catch (error) {
      // That failure is the one to report: closing after it may well fail for the same reason.
      await this.close().catch(() => {});
      throw error;
    }
    await this.close();
    return result;
  }

  private async settle(): Promise<RunResult> {
    // The run ends in its last minute: calls still out complete now, and waits still open end.
    const last = this.intervals.at(-1) ?? this.current;
    this.current = last;
    const at = `after minute ${last.minute}`;
    await this.calls.answerAll();
    this.line.giveUpAll(this.clock.now());
    await this.refresh(true);
    const g = this.gateway;
    const checks: Check[] = [
      ...g.generations.flatMap((m) => m.audit.finalChecks(m.budget.reading(), at)),
      hierarchyCheck(g.tenants),
      ...this.calls.checks(),
    ];
    const otel = await this.extras.otel?.collect(g, this.intervals, this.calls);
    const scenario = describeScenario({
      ...this.config,
      backend: this.backend.description,
      profiles: this.profiles,
      calls: this.calls.description,
    });
    return {
      scenario,
      intervals: this.intervals,
      refills: this.refills,
      checks,
      held: checks.every((c) => c.ok),
      ...(otel && { otel }),
    };
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
        waiting: this.line.waitingFor(i),
        inFlight: this.calls.outFor(i),
        budgetHeld: this.nodes[i]!.held(),
        budgetCapacity: this.nodes[i]!.capacity,
      })),
      budgets,
      refills: this.refills.slice(-4),
    };
  }

  private async offer(request: Request, now: number): Promise<void> {
    const counts = this.countsOf(request);
    counts.offered++;
    const denial = await this.calls.dispatch(request, now);
    if (denial === undefined) return;
    counts.denied[denial.kind]++;
    if (denial.kind !== 'tenant') this.current.budgets[denial.kind].denials++;
    if (this.random() < this.profiles[request.tenant]!.patience) {
      counts.queued++;
      const deadline = now + between(this.random, 3, 20) * 1_000;
      this.line.join(request, now, deadline, denial.retryAfterMs);
    }
  }

  /** Peak utilization and debt of each budget, after every step. */
  private sample(): void {
    for (const b of budgetViews(this.gateway)) {
      const counts = this.current.budgets[b.name];
      counts.peakUtilization = Math.max(counts.peakUtilization, b.utilization);
      counts.peakDebt = Math.max(counts.peakDebt, b.debt);
    }
  }

  /** Reads the token budgets where they live: the current generations, or every one. */
  private async refresh(all: boolean): Promise<void> {
    const g = this.gateway;
    const meters = all ? g.generations : [g.tokens, g.dollars];
    await Promise.all(meters.map((meter) => meter.budget.refresh()));
  }

  private checkLedgers(at: string): void {
    for (const meter of this.gateway.generations) {
      meter.audit.compare(meter.budget.reading(), at);
    }
  }

  private countsOf(request: Request) {
    return this.current.tenants[this.profiles[request.tenant]!.name]!;
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
