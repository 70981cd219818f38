import { type ControlChange, ControlError, checkValue } from './controls.js';
import { between } from './random.js';

/** How a tenant sends traffic. */
export type TenantKind = 'greedy' | 'bursty' | 'quiet';

/** One tenant of the gateway and the shape of its demand. */
export interface TenantProfile {
  readonly name: string;
  readonly kind: TenantKind;
  /** Mean calls per simulated second outside bursts. */
  readonly rate: number;
  /** Smallest and largest token estimate of one call. */
  readonly estimate: readonly [number, number];
  /** Share of its callers that wait for budget (until a deadline) instead of giving up. */
  readonly patience: number;
}

const NAMES = [
  'acme',
  'globex',
  'initech',
  'umbrella',
  'hooli',
  'stark',
  'wayne',
  'tyrell',
  'cyberdyne',
  'soylent',
];

/**
 * The tenants of a run: the first greedy (it alone asks for more than its share), the second
 * bursty (quiet, then a flood of calls for ten seconds), the rest quiet with a little
 * variety from the seed.
 *
 * @param count - how many tenants.
 * @param random - the run's generator.
 * @returns the profiles, in a fixed order.
 */
export function tenantProfiles(count: number, random: () => number): TenantProfile[] {
  const profiles: TenantProfile[] = [];
  for (let i = 0; i < count; i++) {
    const name = NAMES[i] ?? `tenant-${i + 1}`;
    if (i === 0) {
      profiles.push({ name, kind: 'greedy', rate: 1.6, estimate: [1_200, 2_800], patience: 0.2 });
    } else if (i === 1) {
      profiles.push({ name, kind: 'bursty', rate: 0.1, estimate: [800, 2_000], patience: 0.5 });
    } else {
      const rate = 0.12 + between(random, 0, 8) / 100;
      profiles.push({ name, kind: 'quiet', rate, estimate: [400, 1_500], patience: 0.8 });
    }
  }
  return profiles;
}

/** Calls per simulated second while the bursty tenant floods. */
const BURST_RATE = 6;
/** How long a flood lasts. */
const BURST_MS = 10_000;
/** Mean time between floods. */
const BURST_EVERY_MS = 150_000;

/** One call a tenant wants to make: its estimate, split as the provider prices it. */
export interface Request {
  /** Index of the tenant in the profiles. */
  readonly tenant: number;
  /** Estimated prompt and completion tokens. */
  readonly prompt: number;
  readonly completion: number;
}

/** The tenants' demand over simulated time: who calls, when, and with what estimate. */
export class Demand {
  private readonly burstUntil: number[];
  /** Each tenant's demand multiplier (1: its profile's own rate). */
  readonly scale: number[];

  /**
   * @param profiles - the tenants.
   * @param random - the run's generator.
   */
  constructor(
    private readonly profiles: readonly TenantProfile[],
    private readonly random: () => number,
  ) {
    this.burstUntil = profiles.map(() => 0);
    this.scale = profiles.map(() => 1);
  }

  /**
   * The calls that arrive in one step, in a random order, as they would from independent
   * clients.
   *
   * @param now - the step's simulated time.
   * @param stepMs - the step's length.
   * @returns the calls.
   */
  next(now: number, stepMs: number): Request[] {
    const order: number[] = [];
    this.profiles.forEach((profile, i) => {
      let rate = profile.rate;
      if (profile.kind === 'bursty') {
        if (now >= this.burstUntil[i]! && this.random() < stepMs / BURST_EVERY_MS) {
          this.burstUntil[i] = now + BURST_MS;
        }
        if (now < this.burstUntil[i]!) rate = BURST_RATE;
      }
      rate *= this.scale[i]!;
      for (let n = arrivals(rate, stepMs, this.random); n > 0; n--) order.push(i);
    });
    for (let i = order.length - 1; i > 0; i--) {
      const j = between(this.random, 0, i);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    return order.map((tenant) => {
      const [low, high] = this.profiles[tenant]!.estimate;
      const estimate = between(this.random, low, high);
      const prompt = Math.round(estimate * (0.55 + this.random() * 0.25));
      return { tenant, prompt, completion: estimate - prompt };
    });
  }
}

/**
 * Calls a tenant starts in one step: its rate (or the flood's) as a whole number of calls plus
 * one more with the leftover fraction as probability, so the mean is exact.
 *
 * @param rate - calls per simulated second.
 * @param stepMs - the step's length.
 * @param random - the run's generator.
 * @returns how many calls arrive.
 */
export function arrivals(rate: number, stepMs: number, random: () => number): number {
  const mean = (rate * stepMs) / 1_000;
  const whole = Math.floor(mean);
  return whole + (random() < mean - whole ? 1 : 0);
}

/**
 * The demand multipliers a change asks for, by tenant index: `demand` for all, then
 * `tenantDemand` by name.
 *
 * @param change - the change.
 * @param profiles - the run's tenants.
 * @returns multipliers to set; nothing is set by this function.
 * @throws ControlError for a value out of range or an unknown tenant.
 */
export function demandFactors(
  change: ControlChange,
  profiles: readonly TenantProfile[],
): Map<number, number> {
  const factors = new Map<number, number>();
  if (change.demand !== undefined) {
    const all = checkValue('demand', 'demand', change.demand);
    for (let i = 0; i < profiles.length; i++) factors.set(i, all);
  }
  for (const [name, factor] of Object.entries(change.tenantDemand ?? {})) {
    const i = profiles.findIndex((p) => p.name === name);
    if (i < 0) throw new ControlError(`no tenant named ${JSON.stringify(name)}`);
    factors.set(i, checkValue(`tenantDemand.${name}`, 'demand', factor));
  }
  return factors;
}

/** What the simulated provider will do with an admitted call. */
export interface ProviderAnswer {
  readonly outcome: 'complete' | 'fail' | 'abort';
  /** The usage it will report. */
  readonly prompt: number;
  readonly completion: number;
  /** Simulated steps until it answers. */
  readonly steps: number;
}

/**
 * Draws the provider's answer to a call: about 4 % fail before using anything, about 6 % are
 * aborted midway; usage lands above or below the estimate.
 *
 * @param request - the call.
 * @param random - the run's generator.
 * @returns the answer.
 */
export function providerAnswer(request: Request, random: () => number): ProviderAnswer {
  const roll = random();
  const outcome = roll < 0.04 ? 'fail' : roll < 0.1 ? 'abort' : 'complete';
  const prompt = Math.round(request.prompt * (0.9 + random() * 0.2));
  const full = Math.round(request.completion * (0.3 + random() * 1.5));
  const completion = outcome === 'abort' ? Math.round(full * (0.1 + random() * 0.6)) : full;
  return { outcome, prompt, completion, steps: between(random, 2, 32) };
}
