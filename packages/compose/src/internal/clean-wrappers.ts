/**
 * @internal Wrappers whose calls throw only where the object they wrap throws (a refill
 * scheduler catching up first, a waiting line with nobody in it): for `failsClean`, such a
 * wrapper fails clean when what it wraps does. Registered by the wrappers' own modules, so
 * that the check imports none of them.
 */
const wrappers = new Map<object, (wrapper: object) => unknown>();

/** @internal Declares instances of `prototype` as clean when `inner(instance)` is. */
export function registerCleanWrapper<T extends object>(
  prototype: T,
  inner: (wrapper: T) => unknown,
): void {
  wrappers.set(prototype, inner as (wrapper: object) => unknown);
}

/** @internal What a registered wrapper wraps, or `undefined` for anything else. */
export function wrappedBy(value: object): { inner: unknown } | undefined {
  const inner = wrappers.get(Object.getPrototypeOf(value));
  return inner === undefined ? undefined : { inner: inner(value) };
}
