// Wrappers keep the wrapped budget's type and every member they do not change: a Proxy whose
// overrides replace a few methods, and which hands out every other method bound to the
// wrapped object. Binding matters: core's handles check the budget that issued them by
// identity, so a method must run with `this` the budget, never the wrapper.

/** @internal Methods to replace, by name, each called with the wrapper's arguments. */
export type Overrides = Readonly<Record<string, (...args: never[]) => unknown>>;

/** @internal `target` with the methods in `overrides` replaced, and nothing else changed. */
export function withOverrides<T extends object>(target: T, overrides: Overrides): T {
  const bound = new Map<PropertyKey, { readonly fn: unknown; readonly bound: unknown }>();
  return new Proxy(target, {
    get(t, prop) {
      if (typeof prop === 'string' && Object.hasOwn(overrides, prop)) return overrides[prop];
      const value: unknown = Reflect.get(t, prop, t);
      if (typeof value !== 'function') return value;
      const cached = bound.get(prop);
      if (cached !== undefined && cached.fn === value) return cached.bound;
      const fn = (value as (...args: unknown[]) => unknown).bind(t);
      bound.set(prop, { fn: value, bound: fn });
      return fn;
    },
  });
}

/** @internal Whether `target` has a method called `name`. */
export function hasMethod(target: object, name: string): boolean {
  return typeof (target as Record<string, unknown>)[name] === 'function';
}
