import fc from 'fast-check';

/** One step of a coordinator audit: reserve rows and tokens, settle or cancel one, refill. */
export type Step =
  | { op: 'reserve'; rows: number; tokens: number }
  | { op: 'settle'; index: number; rows: number; tokens: number }
  | { op: 'cancel'; index: number }
  | { op: 'refill' };

/**
 * Steps for a rows dimension of capacity `rows`: reservations up to 2 over it, settles up to
 * 4 over it (under, at and over the estimate), cancels and refills.
 */
export function dispatchSteps(rows: number): fc.Arbitrary<Step> {
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        op: fc.constant('reserve' as const),
        rows: fc.nat(rows + 2),
        tokens: fc.nat(40),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        op: fc.constant('settle' as const),
        index: fc.nat(5),
        rows: fc.nat(rows + 4),
        tokens: fc.nat(60),
      }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('cancel' as const), index: fc.nat(5) }) },
    { weight: 1, arbitrary: fc.constant({ op: 'refill' as const }) },
  );
}
