// How the events a watched budget or a shadow reports become counts: one listener per watch
// (or per traced shadow coordinator), adding to the telemetry's counters under its labels.
import type { BudgetEvent } from '@budgetry/core';
import type { Attributes } from '@opentelemetry/api';
import { ATTR, deniedByAttribute, type Instruments } from './instruments.js';
import type { ShadowEvent } from './shadow-state.js';
import { inScope } from './watchable.js';

/**
 * @internal Counts a budget's events under `attributes`; for a hierarchy node (`scope`, its
 * path), only those made at it or below it.
 */
export function budgetEventCounter(
  instruments: Instruments,
  attributes: Attributes,
  scope: readonly string[] | undefined,
): (event: BudgetEvent) => void {
  const { reservations, denials, overReleased, leaked } = instruments;
  return (event) => {
    // A hierarchy node hears its whole tree's refunds; it counts its own subtree's.
    if (scope !== undefined && !inScope(scope, event)) return;
    switch (event.type) {
      case 'reserve':
        reservations.add(1, attributes);
        break;
      case 'deny':
        denials.add(1, attributes);
        break;
      case 'over-release':
        overReleased.add(event.excess, attributes);
        break;
      case 'leak':
        leaked.add(event.amount, attributes);
        break;
      default:
        break;
    }
  };
}

/**
 * @internal Counts what a shadow lets through, and what that work used, under `attributes`,
 * while `open()`: a phantom handle made before the telemetry closed may settle after it.
 */
export function shadowEventCounter(
  instruments: Instruments,
  attributes: Attributes,
  open: () => boolean,
): (event: ShadowEvent) => void {
  const { shadowPasses, shadowPassed, shadowUsed } = instruments;
  return (event) => {
    if (!open()) return;
    switch (event.type) {
      case 'pass': {
        // A detailed reservation's pass says who denied, as a dispatch's does.
        const deniedBy = deniedByAttribute(event.deniedBy);
        shadowPasses.add(1, {
          ...attributes,
          [ATTR.reason]: event.reason,
          ...(deniedBy === undefined ? {} : { [ATTR.deniedBy]: deniedBy }),
        });
        shadowPassed.add(event.cost, attributes);
        break;
      }
      case 'pass-settle':
        shadowUsed.add(event.used, attributes);
        break;
      case 'dispatch-pass':
        shadowPasses.add(1, {
          ...attributes,
          [ATTR.reason]: event.reason,
          ...(event.deniedBy === undefined ? {} : { [ATTR.deniedBy]: event.deniedBy }),
        });
        for (const [dim, amount] of Object.entries(event.estimate)) {
          shadowPassed.add(amount, { ...attributes, [ATTR.dimension]: dim });
        }
        break;
      case 'dispatch-settle':
        for (const [dim, amount] of Object.entries(event.used)) {
          shadowUsed.add(amount, { ...attributes, [ATTR.dimension]: dim });
        }
        break;
      case 'failure':
        // A policy failing to settle is told to the shadow's observer; it passes nothing.
        break;
    }
  };
}
