import type { Subscribable } from './sources.js';

/** A settled Promise: a reaction on it is a microtask without `queueMicrotask`'s wrapping. */
const settled = Promise.resolve();

/**
 * What a line with nothing to listen to subscribes to: nothing, but holding it makes the line
 * check when it empties, as every other line does, and tell its watchers.
 */
const nothing: Subscribable = { subscribe: () => () => {} };

/**
 * @internal A waiting line's subscriptions to what can free units. They are taken when
 * someone joins the line and dropped once it is empty — at the end of the microtask in which
 * it emptied, so a line that empties and is joined again at once (a caller releasing and
 * queueing again, the most common pattern under load) keeps them instead of dropping and
 * taking them again on every turn. An idle line, or one dropped without `close()`, leaves
 * nothing subscribed on the budgets it was built over.
 */
export class Subscriptions {
  /** Stops the subscriptions; `undefined` while there are none. */
  private stops: (() => void)[] | undefined;
  /** Whether a check that drops the subscriptions of an emptied line is queued. */
  private queued = false;
  private readonly check: () => void;
  private readonly sources: readonly Subscribable[];
  /** Who is told that the line emptied (see {@link Subscriptions.watch}). */
  private watchers: readonly (() => void)[] = [];

  /**
   * @param sources - what to subscribe to, each once.
   * @param listener - what every source calls.
   * @param idle - whether the line is empty now.
   */
  constructor(
    sources: readonly Subscribable[],
    private readonly listener: (event?: unknown) => void,
    idle: () => boolean,
  ) {
    this.sources = sources.length === 0 ? [nothing] : sources;
    this.check = () => {
      this.queued = false;
      if (!idle()) return;
      this.drop();
      this.tell();
    };
  }

  /**
   * Be told, with no argument, when the line is found empty at the end of the microtask in
   * which it emptied, and when it is closed. A waiting line grants nobody else while anyone is
   * in it, whatever room its guard has: a line built over this one (inside an all-of, say)
   * waits for this, as the last waiter leaving — served with room to spare, timed out,
   * aborted — frees no units it could otherwise hear of.
   *
   * @param listener - called with nothing.
   * @returns a function that stops telling it (calling it again does nothing).
   */
  watch(listener: () => void): () => void {
    this.watchers = [...this.watchers, listener];
    let watching = true;
    return () => {
      if (!watching) return;
      watching = false;
      const at = this.watchers.indexOf(listener);
      if (at >= 0) this.watchers = this.watchers.filter((_, i) => i !== at);
    };
  }

  /** Drops the subscriptions of a closed line, and tells its watchers it is empty. */
  close(): void {
    this.drop();
    this.tell();
  }

  /** Whether the subscriptions are held. */
  get active(): boolean {
    return this.stops !== undefined;
  }

  /**
   * Subscribes to every source, unless already subscribed; when one refuses, to none.
   *
   * @throws what a source's `subscribe` threw, the others unsubscribed again.
   */
  take(): void {
    if (this.stops !== undefined || this.sources.length === 0) return;
    const stops: (() => void)[] = [];
    try {
      for (const source of this.sources) stops.push(source.subscribe(this.listener));
    } catch (error) {
      for (const stop of stops) stop();
      throw error;
    }
    this.stops = stops;
  }

  /**
   * The line is empty: drop the subscriptions at the end of this microtask if it still is
   * then. A caller the line settles after this call resumes after the check.
   */
  dropSoon(): void {
    if (this.stops === undefined || this.queued) return;
    this.queued = true;
    void settled.then(this.check);
  }

  /** Drops the subscriptions now. */
  drop(): void {
    const stops = this.stops;
    if (stops === undefined) return;
    this.stops = undefined;
    for (const stop of stops) stop();
  }

  /** Tells the watchers the line is empty (a watcher is a line's `notify`, which never throws). */
  private tell(): void {
    for (const watcher of this.watchers) watcher();
  }
}
