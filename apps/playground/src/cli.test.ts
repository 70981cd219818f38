// The command as a user runs it: a child process, judged by its exit status, stdout and stderr.
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { type CliIO, runCli } from './cli.js';
import { PLAYGROUND, startArgs, startCommand } from './spawn-start.js';

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `src/main.ts` as `pnpm start` does, with stdout a pipe (not a terminal). */
function spawnCli(args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      startArgs(args),
      { cwd: PLAYGROUND, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** In-process output streams; `isTTY` decides between the live view and plain lines. */
function memoryIO(
  isTTY: boolean,
  size: { columns: number; rows?: number } = { columns: 160 },
): CliIO & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (t: string) => (out += t), isTTY, ...size },
    stderr: { write: (t: string) => (err += t) },
    sleep: async () => {},
    out: () => out,
    err: () => err,
  };
}

describe('the command line, spawned', () => {
  const refusals: [string[], string][] = [
    [['--bogus'], 'budgetry playground: unknown option --bogus (see pnpm start -- --help)\n'],
    [
      ['--seed', 'abc'],
      'budgetry playground: --seed must be a whole number from 0 to 4294967295, got "abc"\n',
    ],
    [
      ['--duration', '-5'],
      'budgetry playground: --duration must be a whole number from 1 to 1440, got "-5"\n',
    ],
    [
      ['--tenants', '0'],
      'budgetry playground: --tenants must be a whole number from 1 to 50, got "0"\n',
    ],
    [
      ['--backend', 'redis', '--redis-url', 'redis://127.0.0.1:1'],
      'budgetry playground: cannot reach Redis at redis://127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1 (start one with `redis-server --daemonize yes`, or give another --redis-url)\n',
    ],
    [
      ['--web', '--port', '0', '--backend', 'redis', '--redis-url', 'redis://127.0.0.1:1'],
      'budgetry playground: cannot reach Redis at redis://127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1 (start one with `redis-server --daemonize yes`, or give another --redis-url)\n',
    ],
    [
      ['--backend', 'sqlite'],
      'budgetry playground: --backend must be memory, shared or redis, got "sqlite"\n',
    ],
    [
      ['--otel', '--backend', 'redis'],
      "budgetry playground: --otel watches budgets in this process, and a Redis budget's figures are a round trip away: use --backend memory or shared\n",
    ],
    [
      ['--otel-shadow', 'requests'],
      'budgetry playground: --otel-shadow must be tokens, dollars or tenant, got "requests"\n',
    ],
  ];

  it('refuses bad usage and an unavailable backend with one line on stderr and status 2', async () => {
    const outcomes = await Promise.all(refusals.map(([args]) => spawnCli(args)));
    outcomes.forEach((outcome, i) => {
      expect({ args: refusals[i]![0], ...outcome }).toEqual({
        args: refusals[i]![0],
        code: 2,
        stdout: '',
        stderr: refusals[i]![1],
      });
    });
  }, 120_000);

  it('prints the help with status 0', async () => {
    const outcome = await spawnCli(['--help']);
    expect(outcome.code).toBe(0);
    expect(outcome.stderr).toBe('');
    expect(outcome.stdout).toMatch(/^budgetry playground: /);
    expect(outcome.stdout).toContain('--backend <name>');
  }, 60_000);

  it('prints plain lines, one per simulated minute, when stdout is not a terminal', async () => {
    const outcome = await spawnCli(['--duration', '3', '--tenants', '3']);
    expect(outcome.code).toBe(0);
    expect(outcome.stderr).toBe('');
    expect(outcome.stdout).not.toContain('\x1b[');
    const minuteLines = outcome.stdout.split('\n').filter((l) => l.startsWith('minute '));
    expect(minuteLines.map((l) => l.slice(0, 16))).toEqual([
      'minute 1/3 23:55',
      'minute 2/3 23:56',
      'minute 3/3 23:57',
    ]);
    expect(outcome.stdout).toContain('Per tenant: averages per minute over 3 minutes');
    expect(outcome.stdout.trimEnd().split('\n').at(-1)).toBe('all conservation invariants held');
  }, 60_000);

  it('with --otel --ai-sdk, says the calls went through the middleware and ends with what was exported', async () => {
    const outcome = await spawnCli(['--otel', '--ai-sdk', '--duration', '2']);
    expect(outcome.stderr).toBe('');
    expect(outcome.code).toBe(0);
    const lines = outcome.stdout.trimEnd().split('\n');
    expect(lines).toContain(
      "calls: through @budgetry/ai-sdk's budgetMiddleware and the AI SDK's mock model",
    );
    const header = lines.findIndex((l) => l.startsWith('budgetry playground — seed 42'));
    expect(lines[header + 1]).toMatch(
      /^calls: through @budgetry\/ai-sdk's budgetMiddleware around/,
    );
    expect(lines).toContain('all conservation invariants held');
    expect(lines).toContain(
      'OpenTelemetry: what @budgetry/otel exported, read back from the SDK at the end',
    );
    expect(lines.find((l) => l.startsWith('tokens/min       enforce'))).toBeDefined();
    expect(lines.at(-1)).toBe('what was exported matches the run');
  }, 60_000);

  it('with --json --otel-shadow, puts what was exported and what the shadow let through in the JSON', async () => {
    const outcome = await spawnCli(['--json', '--otel-shadow', 'tenant', '--duration', '2']);
    expect(outcome.code).toBe(0);
    const result = JSON.parse(outcome.stdout);
    expect(result.held).toBe(true);
    expect(result.otel.shadow).toMatchObject({ budget: 'tenant', passes: expect.any(Number) });
    expect(result.otel.checks.every((c: { ok: boolean }) => c.ok)).toBe(true);
    expect(result.scenario.calls).toBeUndefined();
  }, 60_000);

  it('replays a seed exactly: the same seed gives the same JSON, another seed another', async () => {
    const [a, b, c] = await Promise.all([
      spawnCli(['--json', '--seed', '11', '--duration', '2']),
      spawnCli(['--json', '--seed', '11', '--duration', '2']),
      spawnCli(['--json', '--seed', '12', '--duration', '2']),
    ]);
    expect([a!.code, b!.code, c!.code]).toEqual([0, 0, 0]);
    const first = JSON.parse(a!.stdout);
    expect(first.scenario.seed).toBe(11);
    expect(first.held).toBe(true);
    expect(b!.stdout).toBe(a!.stdout);
    expect(c!.stdout).not.toBe(a!.stdout);
  }, 120_000);
});

describe('the command stopped midway, spawned', () => {
  it('on SIGTERM, says where it stopped in one line and exits 143', async () => {
    const run = startCommand(['--duration', '1440', '--tenants', '50']);
    await expect.poll(run.out, { timeout: 30_000, interval: 20 }).toMatch(/^minute 1\/1440/m);
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(143);
    expect(run.err()).toMatch(
      /^\nbudgetry playground: stopped by SIGTERM at \d\d:\d\d:\d\d \(minute \d+ of 1440\), before the verdict\n$/,
    );
  }, 60_000);

  it('when the reader of its output goes away (`| head`), ends quietly with 141', async () => {
    const run = startCommand(['--duration', '1440', '--tenants', '50']);
    await expect.poll(run.out, { timeout: 30_000, interval: 20 }).toMatch(/^minute 1\/1440/m);
    run.child.stdout.destroy();
    expect(await run.exit).toBe(141);
    expect(run.err()).toBe('');
  }, 60_000);
});

describe('runCli', () => {
  it('draws the live view in place on a terminal, then the report', async () => {
    const io = memoryIO(true);
    const code = await runCli(['--duration', '1', '--tenants', '2'], io);
    expect(code).toBe(0);
    const out = io.out();
    // Frames after the first move back up over the previous one (ESC [ n F).
    expect(out).toMatch(new RegExp(`${'\x1b'}\\[\\d+F`));
    expect(out).toContain('refills as they happen:');
    expect(out).toContain('all conservation invariants held');
    expect(out).not.toMatch(/^minute 1\/1/m);
  });

  it('fits each frame of the live view to a small terminal, so redrawing in place works', async () => {
    const io = memoryIO(true, { columns: 40, rows: 15 });
    expect(await runCli(['--duration', '1', '--tenants', '12'], io)).toBe(0);
    const live = io.out().slice(0, io.out().indexOf('budgetry playground — seed'));
    // ESC [ n F moves back up over the n lines of the previous frame.
    const ups = [...live.matchAll(new RegExp(`${'\x1b'}\\[(\\d+)F`, 'g'))].map((m) => Number(m[1]));
    expect(ups.length).toBeGreaterThan(2);
    expect(Math.max(...ups)).toBeLessThanOrEqual(14);
    const text = live.replace(new RegExp(`${'\x1b'}\\[[?0-9;]*[A-Za-z]`, 'g'), '');
    const widest = Math.max(...text.split('\n').map((l) => l.length));
    expect(widest).toBeLessThanOrEqual(40);
    expect(text).toMatch(/… \d+ more tenants \(a taller/);
    expect(text).toContain('all tenants/min');
  });

  it('draws the live view at full size when the terminal does not say its size', async () => {
    const io = memoryIO(true, { columns: 0, rows: 0 });
    expect(await runCli(['--duration', '1', '--tenants', '12'], io)).toBe(0);
    expect(io.out()).toMatch(/^hooli +quiet/m);
    expect(io.out()).toContain('own budget  denied by');
  });

  it('prints plain lines on a terminal with --plain', async () => {
    const io = memoryIO(true);
    expect(await runCli(['--duration', '1', '--plain'], io)).toBe(0);
    expect(io.out()).not.toContain('\x1b[');
    expect(io.out()).toMatch(/^minute 1\/1 23:55 \| admitted\/offered acme /m);
  });

  it('exits 1 and says what broke when a budget forgives debt', async () => {
    const io = memoryIO(false);
    const code = await runCli(['--duration', '3'], io, { fault: 'forgive-debt' });
    expect(code).toBe(1);
    const out = io.out();
    expect(out).toMatch(
      /BROKEN tokens\/min: budget = auditor's ledger: end of minute \d: the budget shows available \d[\d ]*, debt 0,/,
    );
    expect(out.trimEnd().split('\n').at(-1)).toMatch(/^INVARIANTS BROKEN: 1 of 8 checks failed/);
  });

  it('exits 1 when a budget refills ahead of its schedule, though its figures match its events', async () => {
    const io = memoryIO(false);
    const code = await runCli(['--duration', '3'], io, { fault: 'early-refill' });
    expect(code).toBe(1);
    expect(io.out()).toMatch(
      /BROKEN tokens\/min: budget = auditor's ledger: 23:55:30: the budget began epoch 1, due no earlier than 23:56:00: a refill ahead of its schedule hands out its capacity again/,
    );
    expect(io.out().trimEnd().split('\n').at(-1)).toMatch(
      /^INVARIANTS BROKEN: 1 of 8 checks failed/,
    );
  });

  it('says the same in JSON: held is false and the broken check is named', async () => {
    const io = memoryIO(false);
    expect(await runCli(['--json', '--duration', '3'], io, { fault: 'forgive-debt' })).toBe(1);
    const result = JSON.parse(io.out());
    expect(result.held).toBe(false);
    expect(
      result.checks.filter((c: { ok: boolean }) => !c.ok).map((c: { name: string }) => c.name),
    ).toEqual(["tokens/min: budget = auditor's ledger"]);
  });
});
