import type { Coordinator, Dispatch, HierarchyNode } from '@budgetry/compose';
import { type Check, dispatchCheck } from './audit.js';
import { type Dimension, type Gateway, type Meter, PRICE } from './gateway.js';
import type { DenialKind, Interval, TenantCounts } from './stats.js';
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
}

/** A call admitted and out at the provider. */
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

/**
 * The calls through the gateway, from reservation to reconciliation: each is reserved on every
 * dimension at once through its tenant's coordinator, told to the auditors, answered by the
 * simulated provider some steps later, and then settled with the usage it reports (or
 * cancelled, refunding everything, when it failed).
 */
export class Calls {
  private out: Call[] = [];
  private readonly dispatches = { granted: 0, settled: 0, cancelled: 0, held: 0 };

  /** @param host - the simulation's parts. */
  constructor(private readonly host: CallsHost) {}

  /**
   * @param tenant - a tenant's index.
   * @returns its calls out at the provider now.
   */
  outFor(tenant: number): number {
    return this.out.filter((call) => call.request.tenant === tenant).length;
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
    const tokens = request.prompt + request.completion;
    const usd = request.prompt * PRICE.prompt + request.completion * PRICE.completion;
    const estimate = { requests: 1, tokens, dollars: usd, tenant: tokens };
    const coordinator = host.coordinator(request.tenant);
    const decision = host.sync
      ? coordinator.tryReserveSync(estimate)
      : await coordinator.tryReserve(estimate);
    if (!decision.ok) {
      let kind: DenialKind = decision.deniedBy;
      if (kind === 'tenant') {
        const node = host.nodes[request.tenant]!;
        kind = node.capacity - node.held() >= tokens ? 'global' : 'tenant';
      }
      const { retryAfterMs } = decision;
      return retryAfterMs === undefined ? { kind } : { kind, retryAfterMs };
    }
    this.dispatches.granted++;
    const at = host.time();
    const meters = { tokens: host.gateway.tokens, dollars: host.gateway.dollars };
    const audit = {
      tokens: meters.tokens.audit.grant(tokens, at),
      dollars: meters.dollars.audit.grant(usd, at),
    };
    host.counts(request).admitted++;
    host.interval().budgets.requests.used++;
    const { outcome, prompt, completion, steps } = providerAnswer(request, host.random);
    this.out.push({
      request,
      dispatch: decision.permit,
      doneAt: now + steps * host.stepMs,
      outcome,
      prompt,
      completion,
      audit,
      meters,
    });
    return undefined;
  }

  /**
   * Reconciles the calls the provider has answered by `now`, in the order they were sent.
   *
   * @param now - the simulated time.
   */
  async answerDue(now: number): Promise<void> {
    const due = this.out.filter((call) => call.doneAt <= now);
    this.out = this.out.filter((call) => call.doneAt > now);
    for (const call of due) await this.answer(call);
  }

  /** Reconciles every call still out: the run ends, and they complete now. */
  async answerAll(): Promise<void> {
    for (const call of this.out.splice(0)) await this.answer(call);
  }

  /** @returns the check that every dispatch was settled or cancelled exactly once. */
  check(): Check {
    const { granted, settled, cancelled, held } = this.dispatches;
    return dispatchCheck(granted, settled, cancelled, held);
  }

  /** The provider answered (or failed): reconcile the dispatch. */
  private async answer(call: Call): Promise<void> {
    const { sync } = this.host;
    const interval = this.host.interval();
    const counts = this.host.counts(call.request);
    const at = this.host.time();
    const audits = { tokens: call.meters.tokens.audit, dollars: call.meters.dollars.audit };
    if (call.outcome === 'fail') {
      if (sync) call.dispatch.cancelSync();
      else await call.dispatch.cancel();
      this.dispatches.cancelled++;
      if (call.dispatch.state !== 'cancelled') this.dispatches.held++;
      counts.failed++;
      audits.tokens.release(call.audit.tokens, at);
      audits.dollars.release(call.audit.dollars, at);
      return;
    }
    const tokens = call.prompt + call.completion;
    const usd = call.prompt * PRICE.prompt + call.completion * PRICE.completion;
    const usage = { requests: 1, tokens, dollars: usd, tenant: tokens };
    if (sync) call.dispatch.settleSync(usage);
    else await call.dispatch.settle(usage);
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
}
