import type { HierarchyNode } from '@budgetry/compose';
import { type Capacities, type ControlChange, checkValue } from './controls.js';
import { type Gateway, LIMITS, type Meter, type MeterName } from './gateway.js';

/** What {@link CapacityChanges} works on: the simulation's gateway and tenants' nodes. */
export interface CapacityHost {
  /** Its `tokens` and `dollars` are replaced by new generations. */
  readonly gateway: Gateway;
  /** The tenants' nodes, in the tenants' order; replaced when a capacity changes. */
  readonly nodes: HierarchyNode[];
  readonly names: readonly string[];
  /** Builds a new generation of a token budget, starting now, wired to the refill log. */
  meter(name: MeterName, capacity: number): Meter;
  /** The simulated time, for messages. */
  time(): string;
}

/**
 * Capacity changes asked for while a run goes on, each applied at its boundary.
 *
 * - Each tenant's own tokens per minute: through the hierarchy's own API,
 *   `root.child(key, { capacity })`, as soon as the tenant holds no more than the new capacity
 *   (the hierarchy refuses a capacity below what a node holds).
 * - Tokens per minute and dollars per day: `AtomicTokenBudget`, `SharedTokenBudget` and
 *   `RedisTokenBudget` have a fixed capacity, so the change is a documented rebuild at the next
 *   minute boundary (the tokens budget's epoch boundary): a new generation of the budget, with
 *   its own auditor, starts by owing what the old one owes at that instant — capacity −
 *   available + debt, read through the old budget's own API, so the day's spend and any debt
 *   carry over — charged as usage on a zero reservation (`tryReserveTokens(0)`, then
 *   `recordUsage`) and told to its auditor the same way. The old generation takes no new
 *   reservations; the calls in flight on it settle there. At the end every generation is held
 *   to its own ledger, and the new one's consumption must equal the usage reported on it plus
 *   what it carried in.
 */
export class CapacityChanges {
  private pending: { -readonly [K in keyof Capacities]?: Capacities[K] } = {};
  private tenantCapacity: number = LIMITS.tenantPerMinute;

  /** @param host - the simulation's parts. */
  constructor(private readonly host: CapacityHost) {}

  /**
   * Records the capacities a change asks for (demand is the simulation's own business).
   *
   * @param change - the change; only its capacities are read.
   * @throws ControlError for a value out of range (nothing is recorded then).
   */
  request(change: ControlChange): void {
    const next = { ...this.pending };
    for (const key of ['tokensPerMinute', 'usdMicrosPerDay', 'tenantPerMinute'] as const) {
      if (change[key] !== undefined) next[key] = checkValue(key, key, change[key]);
    }
    this.pending = next;
  }

  /** @returns the capacities in force and those still waiting for their boundary. */
  state(): { capacities: Capacities; pending: Partial<Capacities> } {
    const g = this.host.gateway;
    return {
      capacities: {
        tokensPerMinute: g.tokens.capacity,
        usdMicrosPerDay: g.dollars.capacity,
        tenantPerMinute: this.tenantCapacity,
      },
      pending: { ...this.pending },
    };
  }

  /**
   * Applies the pending changes whose boundary has come; call before each step, once the
   * budgets have begun the epochs due.
   *
   * @param minuteBoundary - whether the step starts a simulated minute.
   * @returns whether a budget or node was replaced (the coordinators must be rebuilt).
   */
  async apply(minuteBoundary: boolean): Promise<boolean> {
    const { tokensPerMinute, usdMicrosPerDay, tenantPerMinute } = this.pending;
    let replaced = false;
    if (minuteBoundary) {
      if (tokensPerMinute !== undefined) replaced = await this.replace('tokens', tokensPerMinute);
      if (usdMicrosPerDay !== undefined) {
        replaced = (await this.replace('dollars', usdMicrosPerDay)) || replaced;
      }
      delete this.pending.tokensPerMinute;
      delete this.pending.usdMicrosPerDay;
    }
    if (tenantPerMinute !== undefined) {
      const { gateway, nodes, names } = this.host;
      let waiting = false;
      names.forEach((name, i) => {
        const node = nodes[i]!;
        if (node.capacity === tenantPerMinute) return;
        if (node.held() > tenantPerMinute) {
          waiting = true;
          return;
        }
        nodes[i] = gateway.tenants.child(name, { capacity: tenantPerMinute });
        replaced = true;
      });
      if (!waiting) {
        this.tenantCapacity = tenantPerMinute;
        delete this.pending.tenantPerMinute;
      }
    }
    return replaced;
  }

  private async replace(name: MeterName, capacity: number): Promise<boolean> {
    const g = this.host.gateway;
    const old = g[name];
    if (old.capacity === capacity) return false;
    await old.budget.refresh();
    const { available, debt } = old.budget.reading();
    const owed = old.capacity - available + debt;
    const meter = this.host.meter(name, capacity);
    if (owed > 0) {
      meter.audit.carry(owed, this.host.time());
      await meter.budget.charge(owed);
    }
    old.audit.onRefill = undefined;
    old.budget.retire();
    g[name] = meter;
    g.generations.push(meter);
    return true;
  }
}
