import type { Check } from './audit.js';
import { type ControlChange, type ControlState, parseControlChange } from './controls.js';
import { TIME_ZONE } from './gateway.js';
import type { BackendKind } from './options.js';
import type { Snapshot } from './result.js';
import { Simulation, STEP_MS } from './simulation.js';
import { emptyTenantCounts, sumTenantCounts, type TenantCounts, totalDenied } from './stats.js';
import type { TenantKind } from './tenants.js';

/** How the page's run is set up. */
export interface LiveRunConfig {
  readonly tenants: number;
  readonly minutes: number;
  readonly seed: number;
  readonly backend: BackendKind;
  /** The Redis server of the `redis` backend. */
  readonly redisUrl?: string | undefined;
  /** Simulated seconds per second of wall time. */
  readonly speed: number;
}

/** Wall time between two points sent to the page. */
export const TICK_MS = 100;

/** One point of the charts: the run at one simulated instant. */
export interface LivePoint {
  /** Simulated seconds since the start. */
  readonly t: number;
  /** Simulated wall clock, `hh:mm:ss`. */
  readonly clock: string;
  readonly minute: number;
  readonly progress: number;
  readonly budgets: readonly {
    readonly name: string;
    readonly utilization: number;
    readonly available: number;
    readonly capacity: number;
    readonly debt: number;
  }[];
  /** Per tenant, in the tenants' order: totals since the start, and who waits now. */
  readonly tenants: readonly {
    readonly offered: number;
    readonly admitted: number;
    readonly denied: number;
    readonly timedOut: number;
    readonly waiting: number;
    readonly tokens: number;
  }[];
}

/** What a page is told when it connects, and again after each restart. */
export interface LiveHello {
  readonly run: number;
  readonly seed: number;
  readonly minutes: number;
  readonly speed: number;
  readonly backend: string;
  readonly timeZone: string;
  readonly tenants: readonly { readonly name: string; readonly kind: TenantKind }[];
  readonly controls: ControlState;
  /** Every point so far, so a page that connects late draws the whole run. */
  readonly history: readonly LivePoint[];
  readonly verdict: LiveVerdict | undefined;
}

/** The conservation verdict at the end of a run. */
export interface LiveVerdict {
  readonly held: boolean;
  readonly checks: readonly Check[];
}

/** Events the page receives, in order. */
export type LiveEvent =
  | { readonly type: 'hello'; readonly data: LiveHello }
  | { readonly type: 'point'; readonly data: LivePoint }
  | { readonly type: 'controls'; readonly data: ControlState }
  | { readonly type: 'verdict'; readonly data: LiveVerdict };

/**
 * The simulation run live for the page: a timer moves it on at `speed` simulated seconds per
 * second of wall time, a point per tick goes to every listener, and at the end the verdict.
 * The run then stays on screen until {@link LiveRun.restart}.
 */
export class LiveRun {
  private runs = 0;
  private closedTotals: TenantCounts[] = [];
  private history: LivePoint[] = [];
  private verdict: LiveVerdict | undefined;
  /** The controls as the pages last heard of them. */
  private sentControls = '';
  private timer: ReturnType<typeof setInterval> | undefined;
  /** The tick under way: steps are asynchronous, and a tick never overlaps the next. */
  private ticking: Promise<void> | undefined;
  private readonly listeners = new Set<(event: LiveEvent) => void>();
  private readonly stepsPerTick: number;

  /**
   * Opens the run's backend and starts the run (the timer waits for {@link LiveRun.start}).
   *
   * @param config - the run's settings (the seed can change on restart).
   * @returns the run.
   * @throws BackendUnavailable when the backend cannot be used.
   */
  static async open(config: LiveRunConfig): Promise<LiveRun> {
    return new LiveRun(config, await LiveRun.simulate(config));
  }

  private sim!: Simulation;

  private constructor(
    private config: LiveRunConfig,
    sim: Simulation,
  ) {
    this.stepsPerTick = Math.max(1, Math.round((config.speed * TICK_MS) / STEP_MS));
    this.reset(sim);
  }

  private static simulate(config: LiveRunConfig): Promise<Simulation> {
    const { tenants, minutes, seed, backend, redisUrl } = config;
    return Simulation.open({ tenants, minutes, seed, backend, redisUrl });
  }

  /** Starts the timer. */
  start(): void {
    this.timer ??= setInterval(() => {
      this.ticking ??= this.tick()
        .catch((error: unknown) => this.fail(error))
        .finally(() => {
          this.ticking = undefined;
        });
    }, TICK_MS);
  }

  /** Stops the timer, forgets the listeners and closes the run's backend. */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.listeners.clear();
    await this.ticking;
    await this.sim.close();
  }

  /**
   * Listens to the run: first a `hello` with the history, then every event.
   *
   * @param listener - called with each event.
   * @returns a function that stops listening.
   */
  listen(listener: (event: LiveEvent) => void): () => void {
    listener({ type: 'hello', data: this.hello() });
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** @returns what a page is told when it connects. */
  hello(): LiveHello {
    const sim = this.sim;
    return {
      run: this.runs,
      seed: this.config.seed,
      minutes: this.config.minutes,
      speed: this.config.speed,
      backend: sim.backend.description,
      timeZone: TIME_ZONE,
      tenants: sim.profiles.map(({ name, kind }) => ({ name, kind })),
      controls: sim.controls(),
      history: this.history,
      verdict: this.verdict,
    };
  }

  /**
   * Changes demand and capacities (see `Simulation.control`).
   *
   * @param body - the request body, parsed from JSON.
   * @returns the controls now.
   * @throws ControlError for anything out of range; nothing changes then.
   */
  control(body: unknown): ControlState {
    const change: ControlChange = parseControlChange(
      body,
      this.sim.profiles.map((p) => p.name),
    );
    this.sim.control(change);
    const controls = this.sim.controls();
    this.sentControls = JSON.stringify(controls);
    this.emit({ type: 'controls', data: controls });
    return controls;
  }

  /**
   * Starts a new run, with another seed if given; every page is told with a new `hello`.
   * The old run's backend is closed once the new one's is open.
   *
   * @param seed - the new seed (validated by the caller).
   * @throws BackendUnavailable when the backend cannot be opened again (the old run goes on).
   */
  async restart(seed = this.config.seed): Promise<void> {
    const config = { ...this.config, seed };
    const sim = await LiveRun.simulate(config);
    // The old run's tick ends before the new one starts, so no tick mixes the two.
    await this.ticking;
    const old = this.sim;
    this.config = config;
    this.reset(sim);
    await old.close();
    const hello = this.hello();
    for (const listener of this.listeners) listener({ type: 'hello', data: hello });
  }

  private reset(sim: Simulation): void {
    this.sim = sim;
    this.runs++;
    this.closedTotals = this.sim.profiles.map(() => emptyTenantCounts());
    this.verdict = undefined;
    this.sentControls = JSON.stringify(this.sim.controls());
    this.history = [this.point(this.sim.snapshot())];
  }

  private async tick(): Promise<void> {
    const sim = this.sim;
    if (this.verdict !== undefined) return;
    for (let i = 0; i < this.stepsPerTick && !sim.done; i++) {
      const ended = await sim.step();
      if (ended === undefined) continue;
      this.closedTotals = sim.profiles.map((p, t) =>
        sumTenantCounts([this.closedTotals[t]!, ended.tenants[p.name]!]),
      );
    }
    // Read before `finish`, which settles what is still out.
    const snapshot = sim.snapshot();
    if (sim.done) {
      // The calls still out settle and the waits still open end: the last minute's totals move.
      const result = await sim.finish();
      this.closedTotals = sim.profiles.map((p) =>
        sumTenantCounts(result.intervals.map((i) => i.tenants[p.name]!)),
      );
      this.verdict = { held: result.held, checks: result.checks };
    }
    const point = this.point(snapshot);
    this.history.push(point);
    this.emit({ type: 'point', data: point });
    // A pending capacity change that took effect: the page's controls follow.
    const controls = sim.controls();
    const seen = JSON.stringify(controls);
    if (seen !== this.sentControls) {
      this.sentControls = seen;
      this.emit({ type: 'controls', data: controls });
    }
    if (this.verdict !== undefined) this.emit({ type: 'verdict', data: this.verdict });
  }

  /**
   * The backend failed under the run (Redis went away): the run ends there, and the page is
   * told why in place of the checks that could not be made.
   */
  private fail(error: unknown): void {
    const why = error instanceof Error ? error.message : String(error);
    const detail = `the ${this.config.backend} backend failed during the run: ${why}`;
    this.verdict = { held: false, checks: [{ name: 'backend', ok: false, detail }] };
    this.emit({ type: 'verdict', data: this.verdict });
    void this.sim.close().catch(() => {});
  }

  private point(s: Snapshot): LivePoint {
    const sim = this.sim;
    const elapsed = s.progress * this.config.minutes * 60;
    return {
      t: Math.round(elapsed * 1_000) / 1_000,
      clock: s.clock,
      minute: s.minute,
      progress: s.progress,
      budgets: s.budgets.map(({ name, utilization, available, capacity, debt }) => ({
        name,
        utilization,
        available,
        capacity,
        debt,
      })),
      tenants: s.tenants.map((view, i) => {
        // Once the run is over, the snapshot's minute is the last closed one: not added twice.
        const open = sim.done ? [] : [view.counts];
        const total = sumTenantCounts([this.closedTotals[i]!, ...open]);
        return {
          offered: total.offered,
          admitted: total.admitted,
          denied: totalDenied(total),
          timedOut: total.timedOut,
          waiting: view.waiting,
          tokens: total.tokens,
        };
      }),
    };
  }

  private emit(event: LiveEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
