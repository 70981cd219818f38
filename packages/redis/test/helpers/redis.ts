// Where the tests find Redis: the server on 127.0.0.1:6379 (these machines start one), or a
// private redis-server on a free port (fault tests always use one, so they can kill it).
// On CI a missing Redis fails the run; elsewhere the tests skip and say how to get it.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';

const INSTALL =
  'Redis is needed for these tests: apt-get install redis-server (or start one on 127.0.0.1:6379)';

function hasRedisServer(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function ping(port: number): Promise<boolean> {
  const client = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 500,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** A redis-server this test owns: started on a free port, killable and restartable. */
export class PrivateRedis {
  private child: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    private readonly persistDir: string | undefined,
    private readonly extra: readonly string[],
  ) {}

  /**
   * @param persistDir - keep an append-only file there, fsynced before every reply, so a
   * restart after `kill()` comes back with every acknowledged change; without it the server
   * keeps nothing and comes back empty.
   * @param extra - more arguments for redis-server (cluster mode, …).
   */
  static async start(persistDir?: string, extra: readonly string[] = []): Promise<PrivateRedis> {
    const server = new PrivateRedis(await freePort(), persistDir, extra);
    await server.restart();
    return server;
  }

  /** Starts the server again on the same port (after `kill()`). */
  async restart(): Promise<void> {
    const persistence =
      this.persistDir === undefined
        ? ['--appendonly', 'no']
        : ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.persistDir];
    this.child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        ...persistence,
        ...this.extra,
      ],
      { stdio: 'ignore' },
    );
    const child = this.child;
    process.once('exit', () => child.kill('SIGKILL'));
    for (let i = 0; i < 100; i++) {
      if (await ping(this.port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server did not start on port ${this.port}`);
  }

  /** kill -9: no shutdown, no goodbye to the clients. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    this.child = undefined;
  }
}

/** Whether tests can run, decided once per file: a Redis on 6379, or redis-server to start one. */
export const redisReady: boolean = await (async () => {
  if (await ping(6379)) return true;
  if (hasRedisServer()) return true;
  if (process.env['CI'] === 'true') throw new Error(`${INSTALL} — CI never skips these tests`);
  console.warn(`@budgetry/redis tests skipped. ${INSTALL}`);
  return false;
})();

/** Whether redis-server can be started here (fault tests need a private one). */
export const privateReady: boolean = (() => {
  if (hasRedisServer()) return true;
  if (process.env['CI'] === 'true') throw new Error(`${INSTALL} — CI never skips these tests`);
  if (redisReady) console.warn(`@budgetry/redis fault tests skipped. ${INSTALL}`);
  return false;
})();

let fallback: PrivateRedis | undefined;

/** The port of the shared test Redis: 6379 when it answers, else a private one per file. */
export async function sharedPort(): Promise<number> {
  if (await ping(6379)) return 6379;
  fallback ??= await PrivateRedis.start();
  return fallback.port;
}

/** A client for tests; errors are reported through rejected commands, not 'error' events. */
export function client(port: number, options: RedisOptions = {}): Redis {
  const redis = new Redis({ port, host: '127.0.0.1', ...options });
  redis.on('error', () => {});
  return redis;
}

const ROOT = `budgetry-test:${process.pid}:${randomBytes(4).toString('hex')}`;

/** A key prefix no other test, file or process uses (all under this file's own root). */
export function uniquePrefix(label: string): string {
  return `${ROOT}:${label}:${randomBytes(4).toString('hex')}`;
}

/** Deletes every key this file's tests made on `redis`, then disconnects it. */
export async function cleanUp(redis: Redis | undefined): Promise<void> {
  if (redis === undefined) return;
  const keys = await keysUnder(redis, ROOT);
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  redis.disconnect();
}

/** Every key under `prefix` (SCAN), to check cleanup and isolation. */
export async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    found.push(...batch);
  } while (cursor !== '0');
  return found.sort();
}
