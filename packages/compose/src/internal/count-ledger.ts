/**
 * @internal The count API (`tryReserve(cost)` / `release(cost)`) on top of handles: each
 * count reservation is kept as a handle under its cost, and `release(cost)` settles one
 * handle of exactly that cost. Releasing a cost that nothing holds is an over-release: it
 * is counted and changes nothing, so a double release can never refund twice.
 *
 * Combinators whose members hand out handles (token budgets, async guards) use this so the
 * count API keeps the epoch fencing of the handles underneath.
 */
export class CountLedger<H> {
  private readonly byCost = new Map<number, H[]>();
  /** Units held through the count API. */
  held = 0;
  /** Units released beyond what was held, ignored. */
  overReleased = 0;

  push(cost: number, handle: H): void {
    const list = this.byCost.get(cost);
    if (list === undefined) this.byCost.set(cost, [handle]);
    else list.push(handle);
    this.held += cost;
  }

  /**
   * Keeps `handle` under `cost` when a reservation produced one.
   *
   * @returns whether there was a handle (the count API's `tryReserve` result).
   */
  keep(cost: number, handle: H | null): boolean {
    if (handle === null) return false;
    this.push(cost, handle);
    return true;
  }

  /** Removes and returns a handle of exactly `cost`, or counts an over-release. */
  take(cost: number): H | undefined {
    const list = this.byCost.get(cost);
    const handle = list?.pop();
    if (handle === undefined) {
      this.overReleased += cost;
      return undefined;
    }
    if (list!.length === 0) this.byCost.delete(cost);
    this.held -= cost;
    return handle;
  }
}
