import type { Request } from './tenants.js';

/** How one caller's wait ended. */
export interface WaitEnd {
  readonly request: Request;
  /** When it began waiting (its first denial). */
  readonly since: number;
  /** The latest instant it was willing to wait until. */
  readonly deadline: number;
  /** When it was admitted or gave up: never after `deadline`. */
  readonly at: number;
  readonly admitted: boolean;
}

/** What a retry found: nothing (admitted), or a denial with its retry hint. */
export type Retry = (request: Request) => Promise<{ readonly retryAfterMs?: number } | undefined>;

interface Waiter {
  readonly request: Request;
  readonly since: number;
  readonly deadline: number;
  /** Never after `deadline`: a caller whose next chance lies beyond it has given up. */
  nextTry: number;
}

/**
 * The callers waiting for budget, each until its own deadline. A caller retries when its
 * last denial's `retryAfterMs` says (at the next step when the denial gives none) and gives up
 * as soon as that lies past its deadline — at once when even the first hint does. So no
 * caller is admitted or counted as timed out after its deadline, and the line holds at most
 * the callers denied within the longest deadline: its length follows the arrival rate, not
 * the run's length.
 */
export class WaitingLine {
  private waiters: Waiter[] = [];
  private readonly perTenant = new Map<number, number>();

  /**
   * @param stepMs - the simulation's step: the soonest a retry can come.
   * @param ended - told of every wait that ends, admitted or not, in order.
   */
  constructor(
    private readonly stepMs: number,
    private readonly ended: (end: WaitEnd) => void,
  ) {}

  /** Callers waiting now. */
  get length(): number {
    return this.waiters.length;
  }

  /**
   * @param tenant - a tenant's index.
   * @returns how many of its callers wait now.
   */
  waitingFor(tenant: number): number {
    return this.perTenant.get(tenant) ?? 0;
  }

  /**
   * A denied caller decides to wait until `deadline`.
   *
   * @param request - its call.
   * @param now - the simulated time of the denial.
   * @param deadline - the latest it will wait until.
   * @param retryAfterMs - the denial's retry hint, if it had one.
   * @returns whether it waits; `false` when the hint already lies past the deadline and it
   * gave up at once (reported as ended).
   */
  join(request: Request, now: number, deadline: number, retryAfterMs?: number): boolean {
    const nextTry = this.retryAt(now, retryAfterMs);
    if (nextTry > deadline) {
      this.ended({ request, since: now, deadline, at: now, admitted: false });
      return false;
    }
    this.waiters.push({ request, since: now, deadline, nextTry });
    this.count(request.tenant, 1);
    return true;
  }

  /**
   * Retries, in the order they joined, the callers whose time has come; each admitted one
   * leaves the line, and each denied one waits for its next try or gives up when that lies
   * past its deadline.
   *
   * @param now - the simulated time.
   * @param retry - tries one call again.
   */
  async serve(now: number, retry: Retry): Promise<void> {
    const still: Waiter[] = [];
    for (const waiter of this.waiters) {
      if (waiter.nextTry > now) {
        still.push(waiter);
        continue;
      }
      const denial = await retry(waiter.request);
      const next = denial === undefined ? undefined : this.retryAt(now, denial.retryAfterMs);
      if (next !== undefined && next <= waiter.deadline) {
        waiter.nextTry = next;
        still.push(waiter);
        continue;
      }
      this.leave(waiter, now, denial === undefined);
    }
    this.waiters = still;
  }

  /**
   * Every caller still waiting gives up now (the run ended before their deadlines).
   *
   * @param now - the simulated time.
   */
  giveUpAll(now: number): void {
    for (const waiter of this.waiters.splice(0)) this.leave(waiter, now, false);
  }

  private retryAt(now: number, retryAfterMs: number | undefined): number {
    return now + Math.max(this.stepMs, retryAfterMs ?? this.stepMs);
  }

  private leave(waiter: Waiter, at: number, admitted: boolean): void {
    this.count(waiter.request.tenant, -1);
    const { request, since, deadline } = waiter;
    this.ended({ request, since, deadline, at, admitted });
  }

  private count(tenant: number, by: number): void {
    this.perTenant.set(tenant, this.waitingFor(tenant) + by);
  }
}
