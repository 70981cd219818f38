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

/** CRC16 (XMODEM) of the key's hash tag (or the whole key without one), modulo 16384. */
export function slotOf(key: string): number {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  const hashed = close > open + 1 ? key.slice(open + 1, close) : key;
  let crc = 0;
  for (const byte of Buffer.from(hashed, 'utf8')) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}
