import { assertAmount, BudgetError } from '@budgetry/core';
import { UnitSum } from '../internal/count-ledger.js';
import { describe, invalid, type MemberKey, ownValue } from '../internal/member-list.js';

/** @internal Fixed charges as an array: -1 means "the reserved cost". */
export function chargesOf(keys: readonly MemberKey[], charge: unknown): number[] {
  if (charge !== undefined && (typeof charge !== 'object' || charge === null)) {
    throw invalid(`option charge must be a record of amounts, got ${describe(charge)}`, { charge });
  }
  const table = (charge ?? {}) as Record<string, unknown>;
  for (const name of Object.keys(table)) {
    if (!keys.some((k) => String(k) === name)) {
      throw invalid(`option charge names ${JSON.stringify(name)}, which is not a member`, {
        member: name,
      });
    }
  }
  return keys.map((k) => {
    const fixed = ownValue(table, String(k));
    if (fixed === undefined) return -1;
    assertAmount(fixed, `charge.${String(k)}`);
    return fixed;
  });
}

/** @internal Per-member costs from an array or a record, validated in full. */
export function costVectorOf(keys: readonly MemberKey[], costs: unknown): number[] {
  if (typeof costs !== 'object' || costs === null) {
    throw invalid(`costs must be an array or a record of amounts, got ${describe(costs)}`, {});
  }
  if (Array.isArray(costs)) {
    if (costs.length !== keys.length) {
      throw invalid(`costs has ${costs.length} entries for ${keys.length} members`, {});
    }
    return costs.map((c: unknown, i) => {
      assertAmount(c, `costs[${i}]`);
      return c;
    });
  }
  const table = costs as Record<string, unknown>;
  for (const name of Object.keys(table)) {
    if (!keys.some((k) => String(k) === name)) {
      throw invalid(`costs names ${JSON.stringify(name)}, which is not a member`, { member: name });
    }
  }
  return keys.map((k) => {
    // Only an absent member is charged 0; a null is a bad amount like any other.
    const given = ownValue(table, String(k));
    const c = given === undefined ? 0 : given;
    assertAmount(c, `costs.${String(k)}`);
    return c;
  });
}

/**
 * @internal The cost of a permit over per-member `charges`: their sum, which must itself be
 * an amount. A larger sum is refused with `INVALID_AMOUNT` before anything is charged.
 */
export function totalOf(charges: readonly number[]): number {
  let total = 0;
  for (const c of charges) {
    if (c > Number.MAX_SAFE_INTEGER - total) {
      throw new BudgetError({
        code: 'INVALID_AMOUNT',
        message: 'costs must sum to at most 2^53−1 (the permit’s cost is their sum)',
        details: { name: 'costs', value: charges },
      });
    }
    total += c;
  }
  return total;
}

/**
 * @internal The count API's record with fixed charges: reservations per cost, so that a
 * release returns a fixed charge only when it matches one reservation, and their total, exact
 * at any size (a cost no member is charged is not bounded by any capacity).
 */
export class FixedTally {
  private readonly byCost = new Map<number, number>();
  private readonly sum = new UnitSum();

  /** Units held: the total, or 2^53 − 1 while it is larger. */
  get held(): number {
    return this.sum.value;
  }

  add(cost: number): void {
    this.byCost.set(cost, (this.byCost.get(cost) ?? 0) + 1);
    this.sum.add(cost);
  }

  /** Removes one reservation of exactly `cost`; `false` when there is none. */
  remove(cost: number): boolean {
    const count = this.byCost.get(cost) ?? 0;
    if (count === 0) return false;
    if (count === 1) this.byCost.delete(cost);
    else this.byCost.set(cost, count - 1);
    this.sum.subtract(cost);
    return true;
  }
}
