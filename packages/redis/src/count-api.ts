import { assertAmount, BudgetError } from '@budgetry/core';
import type { RemoteCore } from './remote-core.js';

/**
 * @internal Where units granted locally under `failure: 'open'` are counted: a release returns
 * these first.
 */
export interface OpenUnits {
  get(): number;
  set(units: number): void;
}

/** @internal A plain counter of locally granted units. */
export function openUnits(): OpenUnits {
  let units = 0;
  return {
    get: () => units,
    set: (n) => {
      units = n;
    },
  };
}

/**
 * @internal The count API (`tryReserve` / `release`) of the Redis budgets and of each node of
 * a Redis hierarchy: pool release, clamped or strict, as core's budgets. Each call carries a
 * fresh operation id, so a command the client re-sends after a reconnect is applied once.
 */
export class CountApi {
  /**
   * @param tail - arguments after the operation's own (a hierarchy node's name).
   * @param open - where local grants under `failure: 'open'` are counted.
   */
  constructor(
    private readonly core: RemoteCore,
    private readonly tail: readonly string[] = [],
    private readonly open: OpenUnits = openUnits(),
  ) {}

  async tryReserve(cost: number): Promise<boolean> {
    assertAmount(cost, 'cost');
    const id = this.core.nextId();
    try {
      const { v, net } = await this.core.call('res', [id, String(cost), ...this.tail]);
      return this.core.admitted(v[0] === 1, cost, net);
    } catch (error) {
      // Under failure: 'open'. A reservation that reached Redis is granted there: its units
      // are released through Redis, never also counted here (a release takes local units
      // first, and would leave Redis holding them for good).
      return await this.core.failed(error, id, (landed) => {
        if (!landed) this.open.set(this.open.get() + cost);
        return true;
      });
    }
  }

  async release(cost: number): Promise<void> {
    assertAmount(cost, 'cost');
    const local = Math.min(cost, this.open.get());
    const rest = cost - local;
    if (local > 0 && rest === 0) {
      this.open.set(this.open.get() - local);
      return;
    }
    const strict = this.core.o.strict ? '1' : '0';
    const id = this.core.nextId();
    // The local units are claimed now, so that a release overlapping this one cannot claim
    // them too (and send Redis a release of units another process holds); given back if this
    // release is refused or fails.
    this.open.set(this.open.get() - local);
    let reply: Awaited<ReturnType<RemoteCore['call']>>;
    try {
      reply = await this.core.call('rel', [id, String(rest), strict, ...this.tail]);
    } catch (error) {
      this.open.set(this.open.get() + local);
      throw error;
    }
    const [code = 0, accepted = 0] = reply.v;
    const name = this.core.o.name;
    if (code === -1) {
      this.open.set(this.open.get() + local);
      throw new BudgetError({
        code: 'OVER_RELEASE',
        message: `release(${cost}) exceeds the ${accepted + local} units held through tryReserve`,
        details: { budget: name, cost, held: accepted + local },
      });
    }
    const refunded = accepted + local;
    const available = Math.max(reply.net, 0);
    this.core.emit(() => ({ type: 'release', budget: name, cost, refunded, available }));
    if (refunded < cost) {
      const excess = cost - refunded;
      this.core.emit(() => ({
        type: 'over-release',
        budget: name,
        requested: cost,
        accepted: refunded,
        excess,
      }));
    }
  }
}
