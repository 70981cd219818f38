import type { Coordinator, Dispatch, HierarchyNode } from '@budgetry/compose';
import type { Attachments } from './attachments.js';
import { type Check, dispatchCheck } from './audit.js';
import { type Dimension, type Gateway, type Meter, type MeterName, PRICE } from './gateway.js';
import { type DenialKind, emptyDenials, type Interval, type TenantCounts } from './stats.js';
import { providerAnswer, type Request } from './tenants.js';

/** What turned a call away, and when a retry can succeed if that budget knows. */
export interface Denial {
  readonly kind: DenialKind;
  readonly retryAfterMs?: number;
}

/** What {@link Calls} works with: the simulation's gateway, tenants and minute. */
export interface CallsHost {
  readonly gateway: Gateway;
  /** The tenants' nodes, in the tenants' order (replaced when a capacity changes). */
  readonly nodes: readonly HierarchyNode[];
  /** Whether the token budgets are in process, reserved and settled synchronously. */
  readonly sync: boolean;
  /** A simulated step: the provider answers after a whole number of them. */
  readonly stepMs: number;
  readonly random: () => number;
  /** The coordinator a tenant's calls go through. */
  coordinator(tenant: number): Coordinator<Dimension>;
  /** The minute running now. */
  interval(): Interval;
  /** A tenant's counts in that minute. */
  counts(request: Request): TenantCounts;
  /** The simulated time, for the auditors' messages. */
  time(): string;
  /** Told of each reservation and grant, to know what a shadow let through (`--otel-shadow`). */
  readonly shadows?: Pick<Attachments, 'reserving' | 'granted'>;
}

/**
 * How calls reach the provider: {@link Calls} reserves and settles through the coordinator
 * itself; `AiSdkCalls` (`--ai-sdk`) leaves that to `@budgetry/ai-sdk`'s middleware.
 */
export interface CallPath {
  /** @returns a tenant's calls out at the provider now. */
  outFor(tenant: number): number;
  /** Reserves and sends a call: `undefined` when admitted, else what denied it. */
  dispatch(request: Request, now: number): Promise<Denial | undefined>;
  /** Reconciles the calls the provider has answered by `now`, in the order they were sent. */
  answerDue(now: number): Promise<void>;
  /** Reconciles every call still out: the run ends, and they complete now. */
  answerAll(): Promise<void>;
  /** Every attempt denied so far, first attempts and waiting callers' retries, by kind. */
  readonly denials: Readonly<Record<DenialKind, number>>;
  /** Dispatches granted so far. */
  readonly granted: number;
  /** @returns the checks on the calls at rest: each dispatch settled or cancelled once, … */
  checks(): Check[];
  /** How calls are made, for the report's header, when not by the scenario's own code. */
  readonly description?: string;
}

/** A call admitted: what it reserved on, and what its auditors were told. */
export interface Admitted {
  readonly request: Request;
  readonly audit: { readonly tokens: number | undefined; readonly dollars: number | undefined };
  /** The generations of the token budgets it was reserved on: it settles there. */
  readonly meters: { readonly tokens: Meter; readonly dollars: Meter };
  /** Token budgets whose shadow let it through uncharged: their auditors are not told. */
  readonly passed: ReadonlySet<MeterName>;
}

const NONE: ReadonlySet<MeterName> = new Set();

/** A call's estimate: tokens, and their price in micro-dollars. */
export function estimateOf(request: Request): { tokens: number; usd: number } {
  return {
    tokens: request.prompt + request.completion,
    usd: request.prompt * PRICE.prompt + request.completion * PRICE.completion,
  };
}

/**
 * A denial as the report counts it: the coordinator's `tenant` dimension is the tenant's own
 * budget when the tenant had no room, and all tenants' budget otherwise.
 */
export function denialOf(
  host: CallsHost,
  request: Request,
  decision: { readonly deniedBy: string; readonly retryAfterMs?: number | undefined },
  tally: Record<DenialKind, number>,
): Denial {
  let kind = decision.deniedBy as DenialKind;
  if (kind === 'tenant') {
    const node = host.nodes[request.tenant]!;
    kind = node.capacity - node.held() >= estimateOf(request).tokens ? 'global' : 'tenant';
  }
  tally[kind]++;
  const { retryAfterMs } = decision;
  return retryAfterMs === undefined ? { kind } : { kind, retryAfterMs };
}

/** A reservation was granted: tell the auditors (but of what a shadow let through) and count it. */
export function admit(host: CallsHost, request: Request): Admitted {
  const passed = host.shadows?.granted() ?? NONE;
  const { tokens, usd } = estimateOf(request);
  const at = host.time();
  const meters = { tokens: host.gateway.tokens, dollars: host.gateway.dollars };
  const audit = {
    tokens: passed.has('tokens') ? undefined : meters.tokens.audit.grant(tokens, at),
    dollars: passed.has('dollars') ? undefined : meters.dollars.audit.grant(usd, at),
  };
  host.counts(request).admitted++;
  host.interval().budgets.requests.used++;
  return { request, audit, meters, passed };
}

/** A call failed before using anything (or was aborted before any output), refunded whole. */
export function refunded(
  host: CallsHost,
  call: Admitted,
  counted: 'failed' | 'aborted' = 'failed',
): void {
  const at = host.time();
  host.counts(call.request)[counted]++;
  for (const name of ['tokens', 'dollars'] as const) {
    if (!call.passed.has(name)) call.meters[name].audit.release(call.audit[name], at);
  }
}

/** A call was settled with `prompt` and `completion` tokens: tell the auditors and count it. */
export function settled(
  host: CallsHost,
  call: Admitted,
  outcome: 'complete' | 'abort',
  prompt: number,
  completion: number,
): void {
  const interval = host.interval();
  const counts = host.counts(call.request);
  const at = host.time();
  const charged = {
    tokens: [prompt, completion],
    dollars: [prompt * PRICE.prompt, completion * PRICE.completion],
  } as const;
  for (const name of ['tokens', 'dollars'] as const) {
    const audit = call.meters[name].audit;
    const [p, c] = charged[name];
    if (call.passed.has(name)) audit.pass(p, c);
    else audit.record(call.audit[name], p, c, at);
  }
  const tokens = prompt + completion;
  const usd = charged.dollars[0] + charged.dollars[1];
  if (outcome === 'abort') counts.aborted++;
  else counts.completed++;
  counts.tokens += tokens;
  counts.usdMicros += usd;
  counts.overage += Math.max(0, tokens - estimateOf(call.request).tokens);
  interval.budgets.tokens.used += tokens;
  interval.budgets.dollars.used += usd;
  interval.budgets.global.used += tokens;
}

/** A call admitted and out at the provider. */
interface Call extends Admitted {
  readonly dispatch: Dispatch<Dimension>;
  readonly doneAt: number;
  readonly outcome: 'complete' | 'fail' | 'abort';
  /** What the provider will report. */
  readonly prompt: number;
  readonly completion: number;
}

/**
 * What both call paths share: the calls out at the provider, each answered (reconciled by
 * {@link CallsOut.answer}) once the simulated clock reaches its `doneAt`, in the order sent.
 */
export abstract class CallsOut<C extends { readonly doneAt: number; readonly request: Request }> {
  protected out: C[] = [];

  /** The provider answered (or failed): reconcile the call. */
  protected abstract answer(call: C): Promise<void>;

  outFor(tenant: number): number {
    return this.out.filter((call) => call.request.tenant === tenant).length;
  }

  async answerDue(now: number): Promise<void> {
    const due = this.out.filter((call) => call.doneAt <= now);
    this.out = this.out.filter((call) => call.doneAt > now);
    for (const call of due) await this.answer(call);
  }

  async answerAll(): Promise<void> {
    for (const call of this.out.splice(0)) await this.answer(call);
  }
}

/**
 * The calls through the gateway, from reservation to reconciliation: each is reserved on every
 * dimension at once through its tenant's coordinator, told to the auditors, answered by the
 * simulated provider some steps later, and then settled with the usage it reports (or
 * cancelled, refunding everything, when it failed).
 */
export class Calls extends CallsOut<Call> implements CallPath {
  private readonly dispatches = { granted: 0, settled: 0, cancelled: 0, held: 0 };
  readonly denials = emptyDenials();

  /** @param host - the simulation's parts. */
  constructor(private readonly host: CallsHost) {
    super();
  }

  get granted(): number {
    return this.dispatches.granted;
  }

  /**
   * Reserves a call on every dimension; when granted, draws what the provider will do with it
   * (now, so the run depends on the seed alone) and sends it.
   *
   * @param request - the call.
   * @param now - the simulated time.
   * @returns what denied it, or `undefined` when it was admitted.
   */
  async dispatch(request: Request, now: number): Promise<Denial | undefined> {
    const host = this.host;
    const { tokens, usd } = estimateOf(request);
    const estimate = { requests: 1, tokens, dollars: usd, tenant: tokens };
    const coordinator = host.coordinator(request.tenant);
    host.shadows?.reserving();
    const decision = host.sync
      ? coordinator.tryReserveSync(estimate)
      : await coordinator.tryReserve(estimate);
    if (!decision.ok) return denialOf(host, request, decision, this.denials);
    this.dispatches.granted++;
    const admitted = admit(host, request);
    const { outcome, prompt, completion, steps } = providerAnswer(request, host.random);
    this.out.push({
      ...admitted,
      dispatch: decision.permit,
      doneAt: now + steps * host.stepMs,
      outcome,
      prompt,
      completion,
    });
    return undefined;
  }

  /** @returns the check that every dispatch was settled or cancelled exactly once. */
  checks(): Check[] {
    const { granted, settled, cancelled, held } = this.dispatches;
    return [dispatchCheck(granted, settled, cancelled, held)];
  }

  /** The provider answered (or failed): reconcile the dispatch. */
  protected async answer(call: Call): Promise<void> {
    const { sync } = this.host;
    if (call.outcome === 'fail') {
      if (sync) call.dispatch.cancelSync();
      else await call.dispatch.cancel();
      this.dispatches.cancelled++;
      if (call.dispatch.state !== 'cancelled') this.dispatches.held++;
      refunded(this.host, call);
      return;
    }
    const tokens = call.prompt + call.completion;
    const usd = call.prompt * PRICE.prompt + call.completion * PRICE.completion;
    const usage = { requests: 1, tokens, dollars: usd, tenant: tokens };
    if (sync) call.dispatch.settleSync(usage);
    else await call.dispatch.settle(usage);
    this.dispatches.settled++;
    if (call.dispatch.state !== 'settled') this.dispatches.held++;
    settled(this.host, call, call.outcome, call.prompt, call.completion);
  }
}
