import type { Subscribable } from './sources.js';

/** A settled Promise: a reaction on it is a microtask without `queueMicrotask`'s wrapping. */
const settled = Promise.resolve();

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

  /**
   * @param sources - what to subscribe to, each once.
   * @param listener - what every source calls.
   * @param idle - whether the line is empty now.
   */
  constructor(
    private readonly sources: readonly Subscribable[],
    private readonly listener: (event?: unknown) => void,
    idle: () => boolean,
  ) {
    this.check = () => {
      this.queued = false;
      if (idle()) this.drop();
    };
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
}
