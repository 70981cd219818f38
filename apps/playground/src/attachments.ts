import type { Coordinator, HierarchyNode, TokenBucket } from '@budgetry/compose';
import type { CoreTokenBudget } from './backend.js';
import type { Gateway, MeterName } from './gateway.js';

/** A tenant's name and its node in the gateway's hierarchy. */
export interface TenantNode {
  readonly name: string;
  readonly node: HierarchyNode;
}

/**
 * What a run can attach to its budgets and coordinator while they are built: `--otel` traces
 * the request bucket and the coordinator, puts one budget in shadow mode, and watches the
 * rest. A run without attachments builds everything bare.
 */
export interface Attachments {
  /** Wraps a token budget before its refill schedule (a shadow, when it is the one shadowed). */
  tokenBudget(name: MeterName, budget: CoreTokenBudget): CoreTokenBudget;
  /** Wraps the requests bucket as the coordinator's dimension. */
  requests(bucket: TokenBucket): TokenBucket;
  /** Wraps a tenant's node as its coordinator's `tenant` dimension. */
  tenant(node: HierarchyNode, name: string): HierarchyNode;
  /** Wraps the coordinator (each tenant's is made from it with `with`). */
  coordinator<D extends string>(llm: Coordinator<D>): Coordinator<D>;
  /** Once the gateway stands: watch its budgets; `time` is the simulated clock in words. */
  attach(gateway: Gateway, tenants: readonly TenantNode[], time: () => string): void;
  /** A reservation is about to be made: forget what a shadow let through before. */
  reserving(): void;
  /**
   * The reservation was granted.
   *
   * @returns the token budgets whose shadow let it through rather than granting it: they
   * were not charged, so their auditors are not told.
   */
  granted(): ReadonlySet<MeterName>;
  /** A simulated minute ended. */
  minuteEnded(): void;
}
