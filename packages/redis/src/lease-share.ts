// How a lease pool divides its capacity between the processes that ask for it. The same
// arithmetic runs in the pool's Lua script (lease-script.ts), which is what decides grants;
// this TypeScript twin is the specification the tests check the script against.

/**
 * How a {@link RedisLeasedBudget}'s pool divides its capacity when the processes sharing it
 * want more than it has (when they want less, everyone gets what it wants):
 * - `equal`: max-min fairness. Each process gets an equal share; one that wants less than its
 *   share gets what it wants, and what it leaves is shared equally among the others.
 * - `proportional`: each process gets a slice of the capacity in proportion to what it wants.
 *
 * @example
 * ```ts
 * import type { LeaseShareAlgorithm } from '@budgetry/redis';
 * const algorithm: LeaseShareAlgorithm = 'proportional';
 * ```
 */
export type LeaseShareAlgorithm = 'equal' | 'proportional';

/** @internal The algorithms, for validation. */
export const LEASE_SHARE_ALGORITHMS: readonly LeaseShareAlgorithm[] = ['equal', 'proportional'];

/** @internal One process's request: its id (orders ties) and the units it wants. */
export interface LeaseWant {
  readonly id: string;
  readonly want: number;
}

/** Byte order for ASCII ids, as Lua's `<` on strings (Redis runs Lua in the C locale). */
function byId(a: LeaseWant, b: LeaseWant): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * @internal Each process's share of `capacity`, in the order of `wants`. Every share is at
 * most what that process wants; the shares add up to `min(capacity, Σ wants)`; ties are broken
 * by id, so every caller computing the same shares gets the same numbers.
 */
export function leaseShares(
  capacity: number,
  wants: readonly LeaseWant[],
  algorithm: LeaseShareAlgorithm,
): number[] {
  let total = 0;
  for (const w of wants) total += w.want;
  if (total <= capacity) return wants.map((w) => w.want);
  const share = new Map<string, number>();
  if (algorithm === 'equal') waterFill(capacity, wants, share);
  else proportional(capacity, total, wants, share);
  return wants.map((w) => share.get(w.id) ?? 0);
}

/** Max-min fairness: the smallest wants are met in full while they fit under an even split. */
function waterFill(capacity: number, wants: readonly LeaseWant[], share: Map<string, number>) {
  const order = [...wants].sort((a, b) => a.want - b.want || byId(a, b));
  let left = capacity;
  for (let j = 0; j < order.length; j++) {
    const k = order.length - j;
    const even = Math.floor(left / k);
    const w = order[j]!;
    if (w.want <= even) {
      share.set(w.id, w.want);
      left -= w.want;
      continue;
    }
    // Everyone still unmet wants more than an even split: each gets it, and the units the
    // division leaves over go one each to the first of them by id.
    const rest = order.slice(j).sort(byId);
    let extra = left - even * k;
    for (const r of rest) {
      share.set(r.id, even + (extra > 0 ? 1 : 0));
      extra--;
    }
    return;
  }
}

/** Shares in proportion to the wants; the units rounding leaves go to the largest remainders. */
function proportional(
  capacity: number,
  total: number,
  wants: readonly LeaseWant[],
  share: Map<string, number>,
) {
  const parts = wants.map((w) => {
    const exact = (w.want / total) * capacity;
    const whole = Math.floor(exact);
    return { id: w.id, want: w.want, whole, frac: exact - whole };
  });
  let given = 0;
  for (const p of parts) given += p.whole;
  parts.sort((a, b) => b.frac - a.frac || byId(a, b));
  let left = capacity - given;
  for (const p of parts) {
    // Floating point can leave the sum one off either way on huge numbers: trim or top up.
    const delta = left > 0 && p.whole < p.want ? 1 : left < 0 && p.whole > 0 ? -1 : 0;
    share.set(p.id, p.whole + delta);
    left -= delta;
  }
}
