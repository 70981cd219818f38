// `--backend redis` against the local Redis: the run is the one memory gives, its budgets
// really live in Redis, and its keys are gone at the end. In CI it must run; elsewhere, without
// a Redis on 127.0.0.1:6379, it says how to start one. An unreachable Redis needs no server.
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { RedisTokenBudget } from '@budgetry/redis';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { BackendUnavailable } from './backend.js';
import { runCli } from './cli.js';
import { LIMITS } from './gateway.js';
import type { RunResult } from './result.js';
import { Simulation, type SimulationConfig } from './simulation.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const inCI = process.env.CI === 'true' || process.env.CI === '1';
const base: SimulationConfig = { tenants: 5, minutes: 8, seed: 42, backend: 'memory' };
const STEPS_PER_MINUTE = 240;

/** A client that gives up at once instead of reconnecting. */
function client(url: string): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1_000,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
  });
  redis.on('error', () => {});
  return redis;
}

const redis = client(REDIS_URL);
const up = await redis.connect().then(
  () => true,
  () => false,
);
/** `redis-server` on the PATH, to start a private server that a test can kill. */
const canStartRedis = spawnSync('redis-server', ['--version']).status === 0;
afterAll(() => redis.disconnect());
if (!up && !inCI) {
  console.warn(
    `Redis tests skipped: nothing answers at ${REDIS_URL}; start one with \`redis-server --daemonize yes\` (apt-get install redis-server)`,
  );
}
if (!canStartRedis && !inCI) {
  console.warn(
    'Redis failure test skipped: no redis-server on PATH (apt-get install redis-server)',
  );
}

/** What the command writes, kept (stdout is not a terminal: no live view). */
function captured() {
  let out = '';
  let err = '';
  return {
    stdout: { write: (text: string) => (out += text), isTTY: false },
    stderr: { write: (text: string) => (err += text) },
    out: () => out,
    err: () => err,
  };
}

/** The run without the one line that names its backend. */
function sameRun(result: RunResult) {
  return { ...result, scenario: { ...result.scenario, backend: undefined } };
}

async function run(
  config: Partial<SimulationConfig>,
  change?: Parameters<Simulation['control']>[0],
) {
  const sim = await Simulation.open({ ...base, ...config });
  for (let i = 0; i < 2 * STEPS_PER_MINUTE; i++) await sim.step();
  if (change !== undefined) sim.control(change);
  return sim.finish();
}

const keysUnder = (prefix: string) => redis.keys(`${prefix}:*`);

// Runs over Redis take a few seconds alone, more on a busy machine: time is no verdict here.
describe.skipIf(!up && !inCI)('the scenario on Redis', { timeout: 60_000 }, () => {
  it('keeps its token budgets in Redis under a prefix of its own, and deletes them at the end', async () => {
    const sim = await Simulation.open({ ...base, backend: 'redis' });
    const prefix = sim.backend.keyPrefix!;
    expect(prefix).toMatch(/^budgetry-playground:[0-9a-f]{12}$/);
    for (let i = 0; i < 3 * STEPS_PER_MINUTE; i++) await sim.step();
    expect((await keysUnder(prefix)).length).toBeGreaterThanOrEqual(2);
    // Another client opening the same budget sees what the run sees: the state is in Redis.
    const other = new RedisTokenBudget(LIMITS.tokensPerMinute, {
      redis,
      keyPrefix: prefix,
      name: 'tokens/min',
    });
    const theirs = await other.snapshot();
    const ours = sim.snapshot().budgets.find((b) => b.name === 'tokens')!;
    expect([theirs.available, theirs.debt]).toEqual([ours.available, ours.debt]);
    // Two minute boundaries passed, and each began an epoch there.
    expect(theirs.epoch).toBe(2);
    expect(theirs.consumed).toBeGreaterThan(LIMITS.tokensPerMinute);
    const result = await sim.finish();
    expect(result.held).toBe(true);
    expect(await keysUnder(prefix)).toEqual([]);
  });

  it('gives the run memory gives for the same seed, every conservation check held', async () => {
    const [onRedis, inMemory] = await Promise.all([
      run({ backend: 'redis' }),
      run({ backend: 'memory' }),
    ]);
    expect(onRedis.scenario.backend).toBe(
      'redis (RedisTokenBudget at redis://127.0.0.1:6379: tokens/min and dollars/day live there, each epoch begun by refill() at its simulated boundary)',
    );
    expect(onRedis.checks.filter((c) => !c.ok)).toEqual([]);
    expect(onRedis.checks).toHaveLength(8);
    // The same admissions, denials, refills (debt paid included) and ledgers, minute by minute.
    expect(sameRun(onRedis)).toEqual(sameRun(inMemory));
  });

  it('with --ai-sdk, the middleware reserves and settles on Redis: the run memory gives', async () => {
    // One after the other: a run in memory never waits for I/O, and would hold up the
    // connection to Redis for as long as it runs.
    const inMemory = await run({ backend: 'memory', aiSdk: true, minutes: 3 });
    const onRedis = await run({ backend: 'redis', aiSdk: true, minutes: 3 });
    expect(onRedis.checks.filter((c) => !c.ok)).toEqual([]);
    expect(onRedis.scenario.calls).toMatch(/budgetMiddleware/);
    expect(sameRun(onRedis)).toEqual(sameRun(inMemory));
  });

  it('changes capacities by new generations on Redis, each audited, as in memory', async () => {
    const change = { tokensPerMinute: 20_000, usdMicrosPerDay: 900_000 };
    const [onRedis, inMemory] = await Promise.all([
      run({ backend: 'redis' }, change),
      run({ backend: 'memory' }, change),
    ]);
    expect(onRedis.held).toBe(true);
    expect(onRedis.checks).toHaveLength(14);
    expect(sameRun(onRedis)).toEqual(sameRun(inMemory));
  });

  it('still catches a budget that forgives debt', async () => {
    const result = await run({ backend: 'redis', minutes: 3, fault: 'forgive-debt' });
    expect(result.held).toBe(false);
    expect(result.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual([
      "tokens/min: budget = auditor's ledger",
    ]);
  });

  it('runs from the command line: the same JSON as in memory, and no key left', async () => {
    const args = ['--json', '--duration', '3', '--seed', '7'];
    const before = await redis.keys('budgetry-playground:*');
    const [onRedis, inMemory] = [captured(), captured()];
    expect(await runCli([...args, '--backend', 'redis'], onRedis)).toBe(0);
    expect(await runCli(args, inMemory)).toBe(0);
    expect(onRedis.err()).toBe('');
    const result = JSON.parse(onRedis.out()) as RunResult;
    expect(result.held).toBe(true);
    expect(result.scenario.backend).toMatch(
      /^redis \(RedisTokenBudget at redis:\/\/127\.0\.0\.1:6379/,
    );
    expect(sameRun(result)).toEqual(sameRun(JSON.parse(inMemory.out())));
    // The run's prefix is its own secret: no key under the playground's prefixes is new.
    const after = await redis.keys('budgetry-playground:*');
    expect(after.filter((k) => !before.includes(k))).toEqual([]);
  });
});

describe.skipIf(!canStartRedis && !inCI)('a Redis that goes away during a run', () => {
  it('ends the run with one line and status 2', async () => {
    const port = await freePort();
    const server = spawn('redis-server', ['--port', `${port}`, '--save', '', '--appendonly', 'no']);
    const own = client(`redis://127.0.0.1:${port}`);
    try {
      await until(() =>
        own.connect().then(
          () => true,
          () => false,
        ),
      );
      const io = captured();
      const url = `redis://127.0.0.1:${port}`;
      const running = runCli(['--backend', 'redis', '--redis-url', url, '--json'], io);
      // Killed once the run is under way: its budgets exist on the server.
      await until(async () => (await own.keys('budgetry-playground:*')).length > 0);
      server.kill('SIGKILL');
      expect(await running).toBe(2);
      expect(io.out()).toBe('');
      expect(io.err()).toMatch(
        /^budgetry playground: the redis backend failed during the run: .+\n$/,
      );
      expect(io.err().split('\n')).toHaveLength(2);
    } finally {
      own.disconnect();
      server.kill('SIGKILL');
    }
  }, 30_000);
});

describe('an unreachable Redis', () => {
  it('is refused with one line that says how to get one', async () => {
    const error = await Simulation.open({
      ...base,
      backend: 'redis',
      redisUrl: 'redis://127.0.0.1:1',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailable);
    expect((error as Error).message).toBe(
      'cannot reach Redis at redis://127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1 (start one with `redis-server --daemonize yes`, or give another --redis-url)',
    );
  });

  it('is refused when it accepts the connection but never answers, at its time limit', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const error = await Simulation.open({
        ...base,
        backend: 'redis',
        redisUrl: `redis://127.0.0.1:${port}`,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BackendUnavailable);
      expect((error as Error).message).toMatch(
        new RegExp(`^cannot reach Redis at redis://127\\.0\\.0\\.1:${port}: Command timed out \\(`),
      );
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  }, 10_000);
});

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function until(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
}
