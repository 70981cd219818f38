import { assertAmount, BudgetError } from '@budgetry/core';
import type { RemoteCore } from './remote-core.js';

/**
 * @internal The count API (`tryReserve` / `release`) of both Redis budgets: pool release,
 * clamped or strict, as core's budgets. Each call carries a fresh operation id, so a command
 * the client re-sends after a reconnect is applied once.
 */
export class CountApi {
  /** Units granted locally under `failure: 'open'`; a release returns these first. */
  private openHeld = 0;

  constructor(private readonly core: RemoteCore) {}

  async tryReserve(cost: number): Promise<boolean> {
    assertAmount(cost, 'cost');
    const id = this.core.nextId();
    try {
      const { v, net } = await this.core.call('res', [id, String(cost)]);
      return this.core.admitted(v[0] === 1, cost, net);
    } catch (error) {
      return await this.core.failed(error, id, () => {
        this.openHeld += cost;
        return true;
      });
    }
  }

  async release(cost: number): Promise<void> {
    assertAmount(cost, 'cost');
    const local = Math.min(cost, this.openHeld);
    const rest = cost - local;
    if (local > 0 && rest === 0) {
      this.openHeld -= local;
      return;
    }
    const strict = this.core.o.strict ? '1' : '0';
    const reply = await this.core.call('rel', [this.core.nextId(), String(rest), strict]);
    const [code = 0, accepted = 0] = reply.v;
    const name = this.core.o.name;
    if (code === -1) {
      throw new BudgetError({
        code: 'OVER_RELEASE',
        message: `release(${cost}) exceeds the ${accepted + local} units held through tryReserve`,
        details: { budget: name, cost, held: accepted + local },
      });
    }
    this.openHeld -= local;
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
