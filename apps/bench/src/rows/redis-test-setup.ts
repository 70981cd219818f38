import type { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { connectRow, deleteKeysUnder } from './redis-connection.js';

/**
 * For the Redis rows' tests: a connection opened before a `describe` block's tests and, after
 * them, every key under `root` deleted and the connection closed. Call inside the block.
 *
 * @returns the connection, once the block's tests run.
 */
export function benchRedisForBlock(url: string, root: string): () => Redis {
  let redis: Redis | undefined;
  beforeAll(async () => {
    redis = await connectRow(url);
  });
  afterAll(async () => {
    if (redis === undefined) return;
    await deleteKeysUnder(redis, root);
    redis.disconnect();
  });
  return () => redis!;
}
