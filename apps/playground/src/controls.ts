/**
 * What the page's controls may change while a run goes on, and the checks on the values: every
 * field of a change is validated before any of it is applied, so a bad value changes nothing.
 */

/** Capacities that can change while the simulation runs. */
export interface Capacities {
  /** The provider's tokens per minute. */
  readonly tokensPerMinute: number;
  /** The daily dollar cap, in micro-dollars. */
  readonly usdMicrosPerDay: number;
  /** Each tenant's own tokens per minute. */
  readonly tenantPerMinute: number;
}

/** A change the controls ask for; absent fields stay as they are. */
export interface ControlChange {
  /** A demand multiplier for every tenant at once. */
  readonly demand?: number;
  /** A demand multiplier for some tenants, by name. */
  readonly tenantDemand?: Readonly<Record<string, number>>;
  readonly tokensPerMinute?: number;
  readonly usdMicrosPerDay?: number;
  readonly tenantPerMinute?: number;
}

/** The settings in force, and the capacity changes still waiting for their boundary. */
export interface ControlState {
  /** Each tenant's demand multiplier, in the tenants' order. */
  readonly demand: readonly number[];
  readonly capacities: Capacities;
  readonly pending: Partial<Capacities>;
}

/** Allowed ranges, inclusive. Demand is a multiplier; the rest are whole numbers. */
export const CONTROL_RANGES = {
  demand: { min: 0, max: 20, integer: false },
  tokensPerMinute: { min: 1_000, max: 10_000_000, integer: true },
  usdMicrosPerDay: { min: 10_000, max: 1_000_000_000, integer: true },
  tenantPerMinute: { min: 500, max: 10_000_000, integer: true },
} as const;

type RangeName = keyof typeof CONTROL_RANGES;

/** A value outside {@link CONTROL_RANGES}, or a change that is not an object of numbers. */
export class ControlError extends Error {
  override readonly name = 'ControlError';
}

/**
 * Checks one value against its range.
 *
 * @param name - the field, for the message.
 * @param range - which range applies.
 * @param value - what was sent.
 * @returns the value.
 * @throws ControlError when it is not a number in range.
 */
export function checkValue(name: string, range: RangeName, value: unknown): number {
  const { min, max, integer } = CONTROL_RANGES[range];
  const kind = integer ? 'a whole number' : 'a number';
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    (integer && !Number.isSafeInteger(value)) ||
    value < min ||
    value > max
  ) {
    throw new ControlError(`${name} must be ${kind} from ${min} to ${max}, got ${show(value)}`);
  }
  return value;
}

/**
 * Validates a whole change (as parsed from JSON) against the run's tenants.
 *
 * @param body - the parsed request body.
 * @param tenants - the run's tenant names.
 * @returns the change, every field checked.
 * @throws ControlError for an unknown field, an unknown tenant or a value out of range.
 */
export function parseControlChange(body: unknown, tenants: readonly string[]): ControlChange {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ControlError('the body must be a JSON object such as {"demand": 2}');
  }
  const fields = Object.entries(body as Record<string, unknown>);
  if (fields.length === 0) throw new ControlError('nothing to change');
  const change: Record<string, unknown> = {};
  for (const [key, value] of fields) {
    switch (key) {
      case 'demand':
        change[key] = checkValue(key, 'demand', value);
        break;
      case 'tokensPerMinute':
      case 'usdMicrosPerDay':
      case 'tenantPerMinute':
        change[key] = checkValue(key, key, value);
        break;
      case 'tenantDemand':
        change[key] = tenantDemand(value, tenants);
        break;
      default:
        throw new ControlError(
          `unknown control ${show(key)}; known: demand, tenantDemand, tokensPerMinute, usdMicrosPerDay, tenantPerMinute`,
        );
    }
  }
  return change as ControlChange;
}

function tenantDemand(value: unknown, tenants: readonly string[]): Record<string, number> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ControlError('tenantDemand must be an object of tenant names to multipliers');
  }
  const out: Record<string, number> = {};
  for (const [name, factor] of Object.entries(value as Record<string, unknown>)) {
    if (!tenants.includes(name)) throw new ControlError(`no tenant named ${show(name)}`);
    out[name] = checkValue(`tenantDemand.${name}`, 'demand', factor);
  }
  return out;
}

function show(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(JSON.stringify(value));
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
