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
