import {
  checkUsed,
  type LeakWatch,
  PermitCode,
  type PermitState,
  permitStateOf,
  SyncBudgetPermitBase,
  unwatchLeak,
} from '@budgetry/core';
import type { PathNode } from './path-node.js';

const { held: HELD, released: RELEASED, committed: COMMITTED } = PermitCode;

/**
 * @internal A permit's state; watched by core's leak backstop, so it must not reference the
 * permit.
 */
export class PermitCell implements LeakWatch {
  state: number = HELD;
  registered = false;
  constructor(
    readonly node: PathNode,
    readonly cost: number,
    readonly epoch: number,
  ) {}

  isArmed(): boolean {
    return this.state === HELD;
  }

  collected(): void {
    if (this.state !== HELD) return;
    this.state = RELEASED;
    const node = this.node;
    const tree = node.level.tree;
    tree.leaks++;
    const live = this.epoch === tree.epoch;
    if (live) node.unhold(this.cost);
    if (node.anyListened) node.settled(true, this.cost, 0, live ? this.cost : 0, true);
  }
}

/** @internal A reservation on a node's whole path, settled once. */
export class HierarchyPermit extends SyncBudgetPermitBase {
  constructor(private readonly cell: PermitCell) {
    super();
  }
  get cost(): number {
    return this.cell.cost;
  }
  get epoch(): number {
    return this.cell.epoch;
  }
  get state(): PermitState {
    return permitStateOf(this.cell.state);
  }
  releaseSync(): boolean {
    return this.settle(RELEASED, 0);
  }
  commitSync(used?: number): boolean {
    return this.settle(
      COMMITTED,
      used === undefined ? this.cell.cost : checkUsed(used, this.cell.cost),
    );
  }
  private settle(to: number, spent: number): boolean {
    const cell = this.cell;
    const node = cell.node;
    // A due refill first (arguments are checked): the permit settles in the epoch the clock
    // is in.
    if (node.anyScheduled) {
      const catchUp = node.level.catchUp;
      if (catchUp !== undefined) catchUp();
    }
    if (cell.state !== HELD) return false;
    cell.state = to;
    unwatchLeak(cell);
    // A commit keeps `spent` units until the next refill of the root and gives the rest back
    // along the path; a permit from before that refill gives nothing back (the new epoch
    // started full).
    const back = cell.cost - spent;
    if (back > 0 && cell.epoch === node.level.tree.epoch) node.unhold(back);
    if (node.anyListened && node.level.listeners !== undefined) {
      const refunded = cell.epoch === node.level.tree.epoch ? back : 0;
      node.settled(to === RELEASED, cell.cost, spent, refunded, false);
    }
    return true;
  }
}
