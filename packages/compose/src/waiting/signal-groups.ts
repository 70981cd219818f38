/**
 * @internal The fields a waiter lends to the list of waiters that gave the same signal. Kept
 * on the waiter itself, so joining and leaving that list allocate nothing.
 */
export interface SignalMember {
  /** The group it is listed in; `undefined` once it is not. */
  group: SignalGroup | undefined;
  /** The waiter listed before it on the same signal. */
  before: SignalMember | undefined;
  /** The waiter listed after it on the same signal. */
  after: SignalMember | undefined;
}

/** @internal One line's waiters that gave one signal, in arrival order, and its listener. */
export interface SignalGroup {
  readonly signal: AbortSignal;
  readonly listener: () => void;
  first: SignalMember | undefined;
  last: SignalMember | undefined;
}

/**
 * @internal A waiting line's abort listeners: one per signal, however many of its waiters
 * gave that signal. An `AbortSignal` looks through every listener it has for a duplicate
 * before it adds one, so a listener per waiter would make joining O(n) for n waiters sharing
 * a signal (one controller for a whole request, or for shutdown, is common), and Node warns
 * about a possible leak from the eleventh on. Here joining and leaving are O(1): the waiter
 * is linked into its signal's list, and the listener is added with the first and removed
 * with the last. On abort, the waiters listed then give up in the order they joined.
 */
export class SignalGroups<W extends SignalMember> {
  private readonly groups = new Map<AbortSignal, SignalGroup>();

  /** @param aborted - called for each waiter listed on a signal when it aborts. */
  constructor(private readonly aborted: (waiter: W, signal: AbortSignal) => void) {}

  /**
   * Lists `waiter` on `signal`.
   *
   * @throws what the signal's `addEventListener` threw; nothing is listed then.
   */
  add(waiter: W, signal: AbortSignal): void {
    let group = this.groups.get(signal);
    if (group === undefined) {
      const created: SignalGroup = {
        signal,
        listener: () => this.fire(created),
        first: undefined,
        last: undefined,
      };
      signal.addEventListener('abort', created.listener, { once: true });
      this.groups.set(signal, created);
      group = created;
    }
    const last = group.last;
    waiter.group = group;
    waiter.before = last;
    waiter.after = undefined;
    if (last === undefined) group.first = waiter;
    else last.after = waiter;
    group.last = waiter;
  }

  /** Takes `waiter` off its signal's list, if it is on one; the last one off stops listening. */
  delete(waiter: W): void {
    const group = waiter.group;
    if (group === undefined) return;
    const { before, after } = waiter;
    if (before === undefined) group.first = after;
    else before.after = after;
    if (after === undefined) group.last = before;
    else after.before = before;
    waiter.group = undefined;
    waiter.before = undefined;
    waiter.after = undefined;
    if (group.first !== undefined) return;
    this.forget(group);
    group.signal.removeEventListener('abort', group.listener);
  }

  /** The signal aborted: every waiter listed on it now leaves the list, then gives up. */
  private fire(group: SignalGroup): void {
    this.forget(group);
    // Called with `once`: the signal has dropped the listener; a look-alike signal may not.
    group.signal.removeEventListener('abort', group.listener);
    const listed: W[] = [];
    for (let w = group.first; w !== undefined; ) {
      const next = w.after;
      w.group = undefined;
      w.before = undefined;
      w.after = undefined;
      listed.push(w as W);
      w = next;
    }
    group.first = undefined;
    group.last = undefined;
    // One at a time: each may serve the line, which may settle later ones of the list first
    // (they are then no longer in line, and giving up does nothing).
    for (const w of listed) this.aborted(w, group.signal);
  }

  private forget(group: SignalGroup): void {
    if (this.groups.get(group.signal) === group) this.groups.delete(group.signal);
  }
}
