// The kit against every implementation in the repository, at 1,000 runs per invariant.
import { AtomicBudget, AtomicTokenBudget } from '@budgetry/core';
import {
  checkAllOf,
  checkAnyOf,
  checkGuard,
  checkHierarchy,
  checkRefill,
  checkTokenBudget,
  guardInvariants,
  refillInvariants,
  tokenBudgetInvariants,
} from '../src/index.js';
import { describeConformance } from '../src/vitest.js';
import { referenceAllOf, referenceAnyOf, referenceHierarchy } from './reference-combinators.js';
import { ReferenceRefill } from './reference-refill.js';
import { RemoteGuard } from './remote-guard.js';
import { ToyGuard } from './toy-guard.js';

const numRuns = 1000;

for (const refillPolicy of ['reset', 'carry'] as const) {
  describeConformance(`reference interval refill (${refillPolicy})`, refillInvariants(), (o) =>
    checkRefill(
      ({ capacity, clock, policy }) => new ReferenceRefill(capacity, policy, clock, 1_000),
      { ...o, numRuns, refillPolicy },
    ),
  );
  describeConformance(`AtomicBudget (${refillPolicy})`, guardInvariants('white-box'), (o) =>
    checkGuard(
      ({ capacity }) => new AtomicBudget(capacity, { refillPolicy, leakBackstop: false }),
      { ...o, numRuns },
    ),
  );
  describeConformance(
    `AtomicTokenBudget (${refillPolicy})`,
    tokenBudgetInvariants('white-box'),
    (o) =>
      checkTokenBudget(
        ({ capacity }) => new AtomicTokenBudget(capacity, { refillPolicy, leakBackstop: false }),
        { ...o, numRuns },
      ),
  );
}

describeConformance('AtomicBudget seen as a black box', guardInvariants('black-box'), (o) =>
  checkGuard(
    ({ capacity }) => {
      const b = new AtomicBudget(capacity, { leakBackstop: false });
      return {
        tryReserve: (c: number) => b.tryReserve(c),
        release: (c: number) => b.release(c),
        tryAcquire: (c: number) => b.tryAcquire(c),
      };
    },
    { ...o, numRuns, mode: 'black-box' },
  ),
);

describeConformance('the gallery toy guard without a bug', guardInvariants('white-box'), (o) =>
  checkGuard((ctx) => new ToyGuard(ctx.capacity, 'none', ctx.hop), { ...o, numRuns }),
);

describeConformance('a remote guard whose replies get lost', guardInvariants('remote'), (o) =>
  checkGuard((ctx) => new RemoteGuard(ctx.capacity, ctx.hop), { ...o, numRuns, mode: 'remote' }),
);

describeConformance('reference all-of', ['AO1', 'AO2', 'AO3'], (o) =>
  checkAllOf(({ capacities }) => referenceAllOf(capacities), { ...o, numRuns }),
);
describeConformance('a remote guard whose replies get lost', guardInvariants('remote'), (o) =>
  checkGuard((ctx) => new RemoteGuard(ctx.capacity, ctx.hop), { ...o, numRuns, mode: 'remote' }),
);

describeConformance('reference all-of over members that throw', ['AO1', 'AO2', 'AO3'], (o) =>
  checkAllOf(({ capacities, members }) => referenceAllOf(capacities, undefined, members), {
    ...o,
    numRuns,
  }),
);
describeConformance('reference any-of', ['AN1', 'AN2', 'AN3'], (o) =>
  checkAnyOf(({ capacities }) => referenceAnyOf(capacities), { ...o, numRuns }),
);
describeConformance('reference hierarchy', ['HI1', 'HI2', 'HI3'], (o) =>
  checkHierarchy(({ capacities }) => referenceHierarchy(capacities), { ...o, numRuns }),
);
