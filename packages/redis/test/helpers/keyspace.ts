import { slotOfKey } from '../../src/all-of-members.js';
// Redis Cluster's slot of a key, computed here (a standalone server has no CLUSTER KEYSLOT),
// and tenant ids that would be key syntax if they were not escaped.

/** Tenant ids with braces, colons, spaces, newlines, escapes of their own and more. */
export const hostile: readonly string[] = [
  'acme',
  'a}',
  '{a}',
  'a:state',
  'acme}:leases',
  'a b',
  'a\nb',
  '%7D',
  'a%7D',
  '}{',
  'tenant:{acme}:state',
  'ünïcødé 🎉',
  '*',
  '\u0000',
];

/**
 * The Cluster slot of a key, as @budgetry/redis computes it (its own CRC16, checked here
 * against the specification's check value and, in cluster.test.ts, the server's CLUSTER
 * KEYSLOT).
 */
export const slotOf = slotOfKey;

/** The numbers of a budget's state hash, in the order the budget script packs them. */
const budgetFields = [
  'net',
  'rs',
  'ch',
  'ep',
  'org',
  'pidx',
  'con',
  'od',
  'fg',
  'xl',
  'xu',
  'sq',
  'nd',
  'ng',
] as const;

/** A budget's state as the script keeps it: its `st` field, doubles packed little-endian. */
export type PackedBudgetState = Record<(typeof budgetFields)[number], number>;

/** Reads and unpacks the `st` field of the budget state hash `key` (undefined before any call). */
export async function packedState(
  redis: { hgetBuffer(key: string, field: string): Promise<Buffer | null> },
  key: string,
): Promise<PackedBudgetState | undefined> {
  const st = await redis.hgetBuffer(key, 'st');
  if (st === null) return undefined;
  if (st.length !== budgetFields.length * 8) throw new Error(`st holds ${st.length} bytes`);
  const state = {} as PackedBudgetState;
  budgetFields.forEach((name, i) => {
    state[name] = st.readDoubleLE(i * 8);
  });
  return state;
}
