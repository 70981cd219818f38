// Where an async method yields before doing its (synchronous) check-and-act.
//
// These fixtures are written as a user outside the repository would write them: they know the
// documented budget interfaces and `@budgetry/core`'s error helpers, nothing of the kit.

/**
 * What every async method awaits first:
 * - `none`: nothing (the method runs to completion in the calling tick),
 * - `microtask`: one `await Promise.resolve()`,
 * - `immediate`: one `setImmediate` turn,
 * - `socket`: a `setTimeout(0)` turn, standing in for a loopback round trip.
 */
export type Boundary = 'none' | 'microtask' | 'immediate' | 'socket';

/** Every boundary mode, for `describe.each`. */
export const boundaries: readonly Boundary[] = ['none', 'microtask', 'immediate', 'socket'];

/**
 * Wait out one boundary. Callers skip the call entirely for `none`, because even
 * `await undefined` yields a microtask.
 */
export function cross(boundary: Exclude<Boundary, 'none'>): Promise<void> {
  switch (boundary) {
    case 'microtask':
      return Promise.resolve();
    case 'immediate':
      return new Promise((resolve) => setImmediate(resolve));
    case 'socket':
      return new Promise((resolve) => setTimeout(resolve, 0));
  }
}
