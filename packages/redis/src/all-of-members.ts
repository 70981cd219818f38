import { BudgetError } from '@budgetry/core';
import type { CalendarMarks } from './calendar-marks.js';
import { RedisBudget } from './redis-budget.js';
import { RedisTokenBudget } from './redis-token-budget.js';
import type { RemoteCore } from './remote-core.js';
import type { RedisScriptClient } from './script-runner.js';

/**
 * What a {@link RedisAllOf} can hold: guards and token budgets on Redis.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { RedisBudget, type RedisAllOfMember } from '@budgetry/redis';
 *
 * const member: RedisAllOfMember = new RedisBudget(10, { redis: new Redis({ lazyConnect: true }), name: 'rows' });
 * ```
 */
export type RedisAllOfMember = RedisBudget | RedisTokenBudget;

/** @internal One member as the all-of uses it. */
export interface MemberPart {
  readonly budget: RedisAllOfMember;
  readonly core: RemoteCore;
  readonly token: boolean;
  /** The member's four keys and six configuration arguments, as its own script gets them. */
  readonly keys: readonly string[];
  readonly config: readonly string[];
  /** A calendar member's boundaries (its own budget's, clock offset and all). */
  readonly marks: CalendarMarks | undefined;
}

/** @internal The members, validated, with what the script needs of them. */
export interface MemberList<K> {
  readonly keys: K[];
  readonly parts: MemberPart[];
  readonly client: RedisScriptClient;
}

/** What the all-of reads of a member (protected in the class, by design internal). */
/** @internal An `INVALID_ARGUMENT` error of a RedisAllOf. */
export function invalid(message: string, details: Record<string, unknown>): BudgetError {
  return new BudgetError({ code: 'INVALID_ARGUMENT', message, details });
}

/** @internal CRC16 (XMODEM) of a key's hash tag (or of the key without one), modulo 16384. */
export function slotOfKey(key: string): number {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  const hashed = close > open + 1 ? key.slice(open + 1, close) : key;
  let crc = 0;
  for (const byte of Buffer.from(hashed, 'utf8')) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc % 16384;
}

/**
 * @internal Checks the members of an all-of: at least one, each a `RedisBudget` or
 * `RedisTokenBudget`, none twice (nor two opening the same budget), all on one client, and —
 * on a Redis Cluster client — all in one slot, so one script can reach every one of them.
 */
export function memberListOf<K extends string | number>(members: unknown): MemberList<K> {
  if (typeof members !== 'object' || members === null) {
    throw invalid('RedisAllOf expects an array or a record of Redis budgets', {});
  }
  const entries: [string | number, unknown][] = Array.isArray(members)
    ? members.map((m, i) => [i, m])
    : Object.entries(members);
  if (entries.length === 0) throw invalid('RedisAllOf needs at least one member', {});
  const parts: MemberPart[] = [];
  const seen = new Map<string, string | number>();
  let client: RedisScriptClient | undefined;
  let slot: number | undefined;
  for (const [key, budget] of entries) {
    if (!(budget instanceof RedisBudget || budget instanceof RedisTokenBudget)) {
      throw invalid(
        `RedisAllOf member ${JSON.stringify(key)} is not a RedisBudget or RedisTokenBudget`,
        { member: key },
      );
    }
    const core = budget.core;
    const keys = core.runner.keys;
    const state = keys[0]!;
    const twin = seen.get(state);
    if (twin !== undefined) {
      throw invalid(
        `RedisAllOf member ${JSON.stringify(key)} is the budget ${JSON.stringify(budget.name)} already given as member ${JSON.stringify(twin)}`,
        { member: key, same: twin },
      );
    }
    seen.set(state, key);
    client ??= core.o.redis;
    if (core.o.redis !== client) {
      throw invalid(
        `RedisAllOf member ${JSON.stringify(key)} uses another Redis client than the first member: one script must reach every member, through one client`,
        { member: key },
      );
    }
    if ((client as { isCluster?: unknown }).isCluster === true) {
      const own = slotOfKey(state);
      slot ??= own;
      if (own !== slot) {
        throw invalid(
          `RedisAllOf member ${JSON.stringify(key)} (budget ${JSON.stringify(budget.name)}) is in Cluster slot ${own}, the first member in slot ${slot}: one script can only reach keys of one slot (give the members the same \`slot\` option)`,
          { member: key, slot: own, firstSlot: slot },
        );
      }
    }
    // The configuration the member's own script sends, exactly (what its state was made with).
    const config = core.runner.config;
    const marks = core.runner.calendars[0]?.marks;
    parts.push({ budget, core, token: budget instanceof RedisTokenBudget, keys, config, marks });
  }
  return { keys: entries.map(([k]) => k as K), parts, client: client! };
}

/** @internal What a member with fixed charge `f` (−1: none) is charged for `cost` (0: nothing). */
export function chargeFor(f: number, cost: number): number {
  return f < 0 || cost === 0 ? cost : f;
}

/** @internal What each member is charged for `cost`, as script arguments (none: each the cost). */
export function chargeArgsFor(fixed: readonly number[], cost: number): string[] {
  if (cost === 0 || fixed.every((f) => f < 0)) return [];
  return fixed.map((f) => String(chargeFor(f, cost)));
}

/**
 * The `charge` option of a RedisAllOf as one entry per member: its fixed charge, or −1 when
 * it is charged the reserved cost.
 */
export function fixedCharges(keys: readonly (string | number)[], charge: unknown): number[] {
  if (charge === undefined) return keys.map(() => -1);
  if (typeof charge !== 'object' || charge === null || Array.isArray(charge)) {
    throw invalid('RedisAllOf option charge must be a record of amounts by member key', {
      charge,
    });
  }
  const table = charge as Record<string, unknown>;
  for (const name of Object.keys(table)) {
    if (!keys.some((k) => String(k) === name)) {
      throw invalid(
        `RedisAllOf option charge names ${JSON.stringify(name)}, which is not a member`,
        {
          charge: name,
        },
      );
    }
  }
  return keys.map((k) => {
    if (!Object.hasOwn(table, String(k))) return -1;
    const fixed = table[String(k)];
    if (!Number.isSafeInteger(fixed) || (fixed as number) < 0) {
      throw new BudgetError({
        code: 'INVALID_AMOUNT',
        message: `RedisAllOf option charge.${String(k)} must be a non-negative safe integer, got ${String(fixed)}`,
        details: { name: `charge.${String(k)}`, value: fixed },
      });
    }
    return fixed as number;
  });
}

/** @internal Checks a RedisAllOf's `maxBatch`: an integer from 1 to 1 000. */
export function checkBatch(value: unknown): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > 1_000) {
    throw invalid(`maxBatch must be an integer from 1 to 1 000, got ${String(value)}`, {
      name: 'maxBatch',
      value,
    });
  }
  return value as number;
}

type Limit = 'leaseMs' | 'timeoutMs' | 'maxBatch';

/** @internal `options[limit]` when given, else the members' least (`null` is given: refused). */
export function shortest(
  options: { readonly [L in Limit]?: number },
  members: readonly { readonly [L in Limit]: number }[],
  limit: Limit,
): number {
  const given = options[limit];
  return given === undefined ? Math.min(...members.map((m) => m[limit])) : given;
}

/** @internal Checks a RedisAllOf's `leaseMs` or `timeoutMs`, and returns it. */
export function checkMs(value: unknown, name: string, infinite: boolean): number {
  if (infinite && value === Number.POSITIVE_INFINITY) return value;
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw invalid(`${name} must be a positive safe integer of milliseconds, got ${String(value)}`, {
      name,
      value,
    });
  }
  return value as number;
}

/** @internal A configuration mismatch of the all-of script, naming the member whose stored budget differs. */
export function memberNamed(
  error: unknown,
  keys: readonly (string | number)[],
  parts: readonly MemberPart[],
): unknown {
  if (!BudgetError.isInstance(error) || error.code !== 'INVALID_ARGUMENT') return error;
  const at = /member (\d+) stored/.exec(error.message);
  if (at === null) return error;
  const i = Number(at[1]) - 1;
  const member = keys[i]!;
  const name = parts[i]!.core.o.name;
  return new BudgetError({
    code: 'INVALID_ARGUMENT',
    message: `member ${JSON.stringify(member)}: budget ${JSON.stringify(name)} exists in Redis with another configuration (${error.message.replace(/^.*member \d+ /, '')})`,
    details: { ...error.details, member, budget: name },
    cause: error,
  });
}
