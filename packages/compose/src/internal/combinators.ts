/** @internal A combinator class: its instances list the budgets they are made of. */
type Combinator = abstract new (
  // biome-ignore lint/suspicious/noExplicitAny: any constructor, whatever it takes
  ...args: any[]
) => { readonly members: readonly unknown[] };

/**
 * @internal The combinators (all-of, any-of, synchronous or not), registered by their own
 * modules so that the checks that look inside them (duplicate budgets, retry waits) import
 * none of them. A combinator's members are fixed at construction.
 */
const combinators: Combinator[] = [];

/** @internal Declares instances of `kind` (and of its subclasses) as combinators. */
export function registerCombinator(kind: Combinator): void {
  combinators.push(kind);
}

/** @internal The members of a registered combinator, or `undefined` for anything else. */
export function membersOf(value: unknown): readonly unknown[] | undefined {
  for (const kind of combinators) if (value instanceof kind) return value.members;
  return undefined;
}
