import type { HierarchyNode } from '@budgetry/compose';
import type { BudgetEvent } from '@budgetry/core';
import { Auditor } from '@budgetry/testing';
import type { BudgetReading } from './backend.js';
import { formatClock, formatCount } from './format.js';
import { paint } from './live.js';

/** One conservation check and how it came out. */
export interface Check {
  readonly name: string;
  readonly ok: boolean;
  /** What was found: the figures that agree, or exactly what broke. */
  readonly detail: string;
}

/** The budget's refill schedule as the auditor knows it, on the simulated clock. */
export interface RefillBoundaries {
  now(): number;
  /** The earliest instant epoch `epoch` may begin (epoch 0 is the budget's first). */
  earliest(epoch: number): number;
  /** For messages. */
  readonly timeZone: string;
}

/**
 * The local midnights after `from` in `timeZone`, found by reading the local date minute by
 * minute (independently of compose's calendar arithmetic).
 *
 * @param from - when the budget was built, epoch milliseconds.
 * @param timeZone - an IANA zone.
 * @returns epoch `n` (1-based) → the `n`th local midnight after `from`.
 */
export function localMidnights(from: number, timeZone: string): (epoch: number) => number {
  const date = new Intl.DateTimeFormat('en-CA', { timeZone, dateStyle: 'short' });
  const found: number[] = [];
  return (epoch) => {
    while (found.length < epoch) {
      const after = found.at(-1) ?? from;
      const today = date.format(after);
      let t = Math.floor(after / 60_000) * 60_000 + 60_000;
      while (date.format(t) === today) t += 60_000;
      found.push(t);
    }
    return found[Math.max(0, epoch - 1)] ?? from;
  };
}

/**
 * Checks as the report prints them, a line each, then one verdict line: `held` in green, or
 * `broken` with how many of them failed in red.
 *
 * @param checks - the checks.
 * @param verdict - whether they held (by default, whether each did), and the two verdicts.
 * @param color - ANSI colours.
 * @returns the lines.
 */
export function renderChecks(
  checks: readonly Check[],
  verdict: { readonly ok?: boolean; readonly held: string; readonly broken: string },
  color: boolean,
): string[] {
  const lines = checks.map(
    (c) =>
      `  ${c.ok ? paint('ok    ', 'green', color) : paint('BROKEN', 'red', color)} ${c.name}: ${c.detail}`,
  );
  const failed = checks.filter((c) => !c.ok).length;
  lines.push(
    (verdict.ok ?? failed === 0)
      ? paint(verdict.held, 'green', color)
      : paint(
          `${verdict.broken}: ${failed} of ${checks.length} checks failed (see above)`,
          'red',
          color,
        ),
  );
  return lines;
}

/**
 * Mirrors one token budget into the kit's independent {@link Auditor}: the scenario tells it
 * every reservation the coordinator granted, every usage recorded and every refund, and the
 * budget's own `refill` events, in the order they happened. The ledger then says what the
 * budget must show; {@link TokenAudit.compare} holds the budget to it.
 */
export class TokenAudit {
  readonly auditor: Auditor;
  /** Σ usage the simulated provider reported for settled calls: the ground truth. */
  reported = 0;
  /** Usage of calls a shadow of this budget let through: never charged to it. */
  letThrough = 0;
  /**
   * What this budget started owing when it replaced an earlier generation of itself (a
   * capacity change): charged as usage on a zero reservation, so the ledger sees it too.
   */
  carriedIn = 0;
  /** The first disagreement, kept so the report can say when it started. */
  private firstBreak: string | undefined;
  /** Told of each refill: the new epoch, and the debt it started by paying. */
  onRefill: ((epoch: number, debtPaid: number) => void) | undefined;

  /**
   * @param label - the budget's name in messages.
   * @param capacity - the budget's capacity per epoch.
   */
  constructor(
    readonly label: string,
    capacity: number,
    private readonly boundaries?: RefillBoundaries,
  ) {
    // The scenario's policy: `reset` refills and exact debt (no cap).
    this.auditor = new Auditor({ capacity, policy: 'reset' });
  }

  /** The budget's observer: refills are taken from the budget itself, when they happen. */
  readonly observe = (event: BudgetEvent): void => {
    if (event.type !== 'refill') return;
    const due = this.boundaries;
    if (due !== undefined && event.epoch > this.auditor.epoch) {
      const now = due.now();
      const earliest = due.earliest(event.epoch);
      if (now < earliest) {
        this.broke(
          `${formatClock(now, due.timeZone)}: the budget began epoch ${event.epoch}, due no earlier than ${formatClock(earliest, due.timeZone)}: a refill ahead of its schedule hands out its capacity again`,
        );
      }
    }
    const debt = this.auditor.debt;
    while (this.auditor.epoch < event.epoch) this.auditor.refill();
    this.onRefill?.(event.epoch, debt - this.auditor.debt);
  };

  /**
   * A reservation the budget granted.
   *
   * @param amount - the estimate.
   * @param at - when, for the message.
   * @returns the ledger's handle, or `undefined` when the ledger had no room (a broken run).
   */
  grant(amount: number, at: string): number | undefined {
    const handle = this.auditor.grant(amount);
    if (handle === undefined) {
      this.broke(
        `${at}: the budget granted ${formatCount(amount)} but the ledger had only ${formatCount(this.auditor.available)} free`,
      );
    }
    return handle;
  }

  /** Usage recorded on a handle from {@link TokenAudit.grant}. */
  record(handle: number | undefined, prompt: number, completion: number, at: string): void {
    this.reported += prompt + completion;
    if (handle !== undefined && !this.auditor.record(handle, prompt, completion)) {
      this.broke(`${at}: a reservation was recorded after it was settled`);
    }
  }

  /**
   * Usage of a call this budget's shadow let through (`--otel-shadow`): the budget was not
   * charged for it, so neither is the ledger; it is kept apart from the reported usage.
   */
  pass(prompt: number, completion: number): void {
    this.letThrough += prompt + completion;
  }

  /** A reservation refunded whole (the call failed before using anything). */
  release(handle: number | undefined, at: string): void {
    if (handle !== undefined && !this.auditor.release(handle)) {
      this.broke(`${at}: a reservation was refunded after it was settled`);
    }
  }

  /**
   * What the budget was charged on taking over from an earlier generation: a zero reservation
   * recorded with `amount` of usage, told to the ledger the same way. Not reported usage.
   *
   * @param amount - what the earlier generation owed this epoch.
   * @param at - when, for the message.
   */
  carry(amount: number, at: string): void {
    const handle = this.grant(0, at);
    if (handle !== undefined && !this.auditor.record(handle, amount, 0)) {
      this.broke(`${at}: the carried-in charge could not be recorded`);
    }
    this.carriedIn += amount;
  }

  /**
   * Compares the budget with the ledger now.
   *
   * @param budget - the figures of the budget the ledger mirrors, read through its own API.
   * @param at - when, for the message.
   * @returns whether they agree; the first disagreement is kept.
   */
  compare(budget: BudgetReading, at: string): boolean {
    const a = this.auditor;
    const seen = `available ${formatCount(budget.available)}, debt ${formatCount(budget.debt)}, consumed ${formatCount(budget.consumed)}, epoch ${budget.epoch}`;
    const ledger = `available ${formatCount(a.available)}, debt ${formatCount(a.debt)}, consumed ${formatCount(a.consumed)}, epoch ${a.epoch}`;
    if (seen === ledger) return true;
    this.broke(`${at}: the budget shows ${seen}; the auditor's ledger says ${ledger}`);
    return false;
  }

  /**
   * The final checks of this budget, at rest.
   *
   * @param budget - the figures of the budget the ledger mirrors, read at rest.
   * @param at - when, for the messages.
   * @returns one check per invariant.
   */
  finalChecks(budget: BudgetReading, at: string): Check[] {
    const agrees = this.compare(budget, at);
    const a = this.auditor;
    const consumed = budget.consumed;
    const passed =
      this.letThrough > 0
        ? `; ${formatCount(this.letThrough)} more on calls its shadow let through, not charged`
        : '';
    return [
      {
        name: `${this.label}: budget = auditor's ledger`,
        ok: agrees && this.firstBreak === undefined,
        detail:
          this.firstBreak ??
          `available ${formatCount(a.available)}, debt ${formatCount(a.debt)}, consumed ${formatCount(a.consumed)} over ${a.epoch + 1} epoch${a.epoch === 0 ? '' : 's'}, from ${formatCount(a.events.length)} events`,
      },
      this.carriedIn === 0
        ? {
            name: `${this.label}: consumed = Σ reported usage`,
            ok: consumed === this.reported,
            detail: `consumed ${formatCount(consumed)}, the provider reported ${formatCount(this.reported)}${passed}`,
          }
        : {
            name: `${this.label}: consumed = Σ reported usage + carried in`,
            ok: consumed === this.reported + this.carriedIn,
            detail: `consumed ${formatCount(consumed)}, the provider reported ${formatCount(this.reported)}, ${formatCount(this.carriedIn)} carried in from the generation it replaced${passed}`,
          },
      {
        name: `${this.label}: nothing held or leaked at rest`,
        ok: budget.reserved === 0 && budget.leaks === 0,
        detail: `${formatCount(budget.reserved)} still reserved, ${budget.leaks} leaked handles`,
      },
    ];
  }

  private broke(message: string): void {
    this.firstBreak ??= message;
  }
}

/**
 * The tenant tree at rest: every tenant within its capacity, and what the tenants hold adds up
 * to what the global budget holds, within its capacity.
 *
 * @param root - the global budget, with a child per tenant.
 * @returns the check.
 */
export function hierarchyCheck(root: HierarchyNode): Check {
  let sum = 0;
  const over: string[] = [];
  for (const child of root.children()) {
    sum += child.held();
    if (child.held() > child.capacity) over.push(`${child.key} holds ${formatCount(child.held())}`);
  }
  const own = root.ownHeld();
  const held = root.held();
  const ok = over.length === 0 && sum + own === held && held <= root.capacity;
  return {
    name: 'tenants: Σ tenants held + own held = global held ≤ capacity',
    ok,
    detail:
      over.length > 0
        ? `over their capacity: ${over.join(', ')}`
        : `${formatCount(sum)} + ${formatCount(own)} ${sum + own === held ? '=' : '≠'} ${formatCount(held)}, capacity ${formatCount(root.capacity)}`,
  };
}

/**
 * Every dispatch the coordinator granted was settled or cancelled exactly once.
 *
 * @param granted - dispatches granted.
 * @param settled - dispatches settled.
 * @param cancelled - dispatches cancelled.
 * @param open - dispatches still held.
 * @returns the check.
 */
export function dispatchCheck(
  granted: number,
  settled: number,
  cancelled: number,
  open: number,
): Check {
  return {
    name: 'dispatches: each settled or cancelled exactly once',
    ok: open === 0 && settled + cancelled === granted,
    detail: `${formatCount(granted)} granted, ${formatCount(settled)} settled, ${formatCount(cancelled)} cancelled, ${open} still held`,
  };
}
