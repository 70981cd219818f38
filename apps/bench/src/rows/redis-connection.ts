import { Redis, type RedisOptions } from 'ioredis';

/** The environment variable that points the Redis rows at another server. */
export const redisUrlVariable = 'BUDGETRY_BENCH_REDIS_URL';

/**
 * Set by the first process that finds no Redis (the bench's parent) to the reason, so the
 * child processes it starts, which inherit its environment, skip the rows too without probing
 * and printing again.
 */
export const redisSkippedVariable = 'BUDGETRY_BENCH_REDIS_SKIPPED';

/** The server the CI script starts, and the one these machines run. */
export const defaultRedisUrl = 'redis://127.0.0.1:6379';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The Redis server the rows measure against: `$BUDGETRY_BENCH_REDIS_URL`, else the local one.
 *
 * @param env - the environment (default `process.env`).
 * @returns an ioredis connection URL.
 * @example
 * ```ts
 * benchRedisUrl({}); // 'redis://127.0.0.1:6379'
 * ```
 */
export function benchRedisUrl(env: Env = process.env): string {
  const url = env[redisUrlVariable];
  return url === undefined || url === '' ? defaultRedisUrl : url;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Keeps the client's last `error` event. Without retries ioredis rejects `connect()` with
 * "Connection is closed."; the event before it says why (`connect ECONNREFUSED …`).
 */
function lastErrorOf(client: Redis): () => unknown {
  let last: unknown;
  client.on('error', (error: unknown) => {
    last = error;
  });
  return () => last;
}

/**
 * Whether a Redis answers `PING` at `url`: one connection, no retries, closed again.
 *
 * @param url - the server.
 * @param timeoutMs - the longest wait for the connection.
 * @returns `undefined` when it answered `PONG`, else what went wrong.
 * @example
 * ```ts
 * await probeRedis('redis://127.0.0.1:1'); // 'connect ECONNREFUSED 127.0.0.1:1'
 * ```
 */
export async function probeRedis(url: string, timeoutMs = 1_000): Promise<string | undefined> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
  });
  const lastError = lastErrorOf(client);
  try {
    await client.connect();
    const pong = await client.ping();
    return pong === 'PONG' ? undefined : `PING answered ${JSON.stringify(pong)}`;
  } catch (error) {
    return messageOf(lastError() ?? error);
  } finally {
    client.disconnect();
  }
}

/** What the registry does with the Redis rows in this process. */
export type RedisRowsDecision =
  | { readonly register: true }
  | { readonly register: false; readonly reason: string; readonly announce: boolean };

/**
 * Decides whether the Redis rows are registered. On CI they always are: a CI machine starts
 * Redis (`.ci/run`), so one without it fails the rows instead of silently skipping them.
 * Elsewhere they are skipped when nothing answers, and the process that found out says so;
 * the processes it starts inherit the decision.
 *
 * @param env - the environment: `CI`, {@link redisSkippedVariable}.
 * @param probe - asks the server; called only when the decision depends on it.
 * @returns register, or skip with the reason and whether to print it.
 * @example
 * ```ts
 * await decideRedisRows({ CI: 'true' }, async () => 'down'); // { register: true }
 * ```
 */
export async function decideRedisRows(
  env: Env,
  probe: () => Promise<string | undefined>,
): Promise<RedisRowsDecision> {
  if (env['CI'] === 'true') return { register: true };
  const inherited = env[redisSkippedVariable];
  if (inherited !== undefined && inherited !== '') {
    return { register: false, reason: inherited, announce: false };
  }
  const problem = await probe();
  return problem === undefined
    ? { register: true }
    : { register: false, reason: problem, announce: true };
}

/**
 * The line printed when the rows are skipped: the server, what went wrong, what to do.
 *
 * @param url - the server asked.
 * @param reason - what the probe found.
 * @returns one line for stderr.
 * @example
 * ```ts
 * skipMessage('redis://127.0.0.1:6379', 'connect ECONNREFUSED 127.0.0.1:6379');
 * ```
 */
export function skipMessage(url: string, reason: string): string {
  return (
    `bench: the Redis rows are skipped: no Redis at ${url} (${reason}). ` +
    `Start one with \`redis-server --daemonize yes\` (apt-get install redis-server), ` +
    `or point ${redisUrlVariable} at one. CI never skips them.`
  );
}

/**
 * A client of the row's own, connected before it returns. It never reconnects and never
 * queues a command while disconnected: a row whose server goes away fails with the error
 * rather than hanging. Every other setting is ioredis's default, for every row alike.
 *
 * @param url - the server.
 * @param options - more ioredis options (a row that measures one on purpose).
 * @returns the connected client.
 * @throws Error naming the server when it cannot connect.
 * @example
 * ```ts
 * const redis = await connectRow('redis://127.0.0.1:6379');
 * redis.disconnect();
 * ```
 */
export async function connectRow(url: string, options: RedisOptions = {}): Promise<Redis> {
  const redis = new Redis(url, {
    ...options,
    lazyConnect: true,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    connectTimeout: 2_000,
  });
  const lastError = lastErrorOf(redis);
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw new Error(`cannot reach Redis at ${url}: ${messageOf(lastError() ?? error)}`);
  }
  return redis;
}

/**
 * Deletes every key whose name starts with `prefix` (`SCAN`, then `UNLINK` in batches).
 *
 * @param redis - a connected client.
 * @param prefix - the row's key prefix; must not be empty.
 * @returns how many keys were deleted.
 * @example
 * ```ts
 * await deleteKeysUnder(redis, 'budgetry-bench:1234-ab12cd:redis-bare');
 * ```
 */
export async function deleteKeysUnder(redis: Redis, prefix: string): Promise<number> {
  if (prefix === '') throw new Error('refusing to delete every key: the prefix is empty');
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** Escapes the characters `SCAN MATCH` treats as a pattern. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * Server time per script call, from `INFO commandstats`: the change in `EVALSHA` and `EVAL`
 * time and calls across `work`. Redis counts the whole script, the commands it calls included.
 * The figures are the server's, for every client: other clients' scripts meanwhile count too.
 *
 * @param redis - a connected client.
 * @param work - the calls to measure.
 * @returns microseconds per call and the calls counted, or `null` when none was.
 * @example
 * ```ts
 * const t = await serverMicrosPerScript(redis, async () => { await redis.eval('return 1', 0); });
 * ```
 */
export async function serverMicrosPerScript(
  redis: Redis,
  work: () => Promise<unknown>,
): Promise<{ readonly perCall: number; readonly calls: number } | null> {
  const before = scriptStats(await redis.info('commandstats'));
  await work();
  const after = scriptStats(await redis.info('commandstats'));
  const calls = after.calls - before.calls;
  return calls > 0 ? { perCall: (after.usec - before.usec) / calls, calls } : null;
}

/**
 * Sums the calls and microseconds of `EVALSHA` and `EVAL` in an `INFO commandstats` reply.
 *
 * @param info - the reply's text.
 * @returns the totals (0 when a command is absent).
 * @example
 * ```ts
 * scriptStats('cmdstat_evalsha:calls=4,usec=20,usec_per_call=5.00'); // { calls: 4, usec: 20 }
 * ```
 */
export function scriptStats(info: string): { calls: number; usec: number } {
  let calls = 0;
  let usec = 0;
  for (const match of info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+),usec=(\d+)/gm)) {
    calls += Number(match[1]);
    usec += Number(match[2]);
  }
  return { calls, usec };
}
