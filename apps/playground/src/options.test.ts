import { describe, expect, it } from 'vitest';
import { DEFAULTS, HELP, parseCommandLine } from './options.js';

function errorOf(argv: string[]): string {
  const parsed = parseCommandLine(argv);
  if (parsed.kind !== 'error') throw new Error(`expected an error, got ${parsed.kind}`);
  return parsed.message;
}

describe('parseCommandLine', () => {
  it('runs with the documented defaults when given nothing', () => {
    expect(parseCommandLine([])).toEqual({
      kind: 'run',
      options: {
        tenants: DEFAULTS.tenants,
        minutes: DEFAULTS.minutes,
        seed: DEFAULTS.seed,
        backend: 'memory',
        redisUrl: undefined,
        json: false,
        plain: false,
        otel: undefined,
        aiSdk: false,
      },
    });
  });

  it('reads every option, in both --name value and --name=value forms', () => {
    const parsed = parseCommandLine([
      '--tenants',
      '3',
      '--duration=12',
      '--seed',
      '4294967295',
      '--backend',
      'shared',
      '--plain',
    ]);
    expect(parsed).toEqual({
      kind: 'run',
      options: {
        tenants: 3,
        minutes: 12,
        seed: 4_294_967_295,
        backend: 'shared',
        redisUrl: undefined,
        json: false,
        plain: true,
        otel: undefined,
        aiSdk: false,
      },
    });
    const json = parseCommandLine(['--json', '--backend', 'redis', '--redis-url', 'redis://h:1']);
    expect(json).toMatchObject({
      kind: 'run',
      options: { json: true, backend: 'redis', redisUrl: 'redis://h:1' },
    });
  });

  it('gives --backend redis the local Redis unless --redis-url names another', () => {
    expect(parseCommandLine(['--backend', 'redis'])).toMatchObject({
      kind: 'run',
      options: { backend: 'redis', redisUrl: 'redis://127.0.0.1:6379' },
    });
    expect(DEFAULTS.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(HELP).toContain(DEFAULTS.redisUrl);
  });

  it('drops the leading -- that `pnpm start -- …` passes on', () => {
    expect(parseCommandLine(['--', '--seed', '7'])).toMatchObject({
      kind: 'run',
      options: { seed: 7 },
    });
  });

  it('answers --help and -h with the help text, which documents every option', () => {
    expect(parseCommandLine(['--help'])).toEqual({ kind: 'help', text: HELP });
    expect(parseCommandLine(['--seed', '3', '-h'])).toEqual({ kind: 'help', text: HELP });
    for (const option of [
      '--tenants',
      '--duration',
      '--seed',
      '--backend',
      '--redis-url',
      '--json',
      '--plain',
      '--otel',
      '--otel-shadow <budget>',
      '--ai-sdk',
      '--web',
      '--port',
      '--speed',
      '--help',
    ]) {
      expect(HELP).toContain(option);
    }
  });

  it('refuses unknown options and stray arguments', () => {
    expect(errorOf(['--bogus'])).toBe('unknown option --bogus (see pnpm start -- --help)');
    expect(errorOf(['-x'])).toBe('unknown option -x (see pnpm start -- --help)');
    expect(errorOf(['seven'])).toBe('unexpected argument "seven" (see pnpm start -- --help)');
  });

  it('refuses a missing value, and a value given to a flag', () => {
    expect(errorOf(['--seed'])).toBe('--seed needs a value (see pnpm start -- --help)');
    expect(errorOf(['--seed', '--json'])).toBe('--seed needs a value (see pnpm start -- --help)');
    expect(errorOf(['--json=yes'])).toBe('--json takes no value (see pnpm start -- --help)');
  });

  it('refuses an option given twice instead of silently keeping the last', () => {
    expect(errorOf(['--seed', '1', '--seed', '2'])).toBe(
      '--seed is given twice ("1" and "2"): give it once',
    );
    expect(errorOf(['--tenants', '3', '--tenants=4'])).toBe(
      '--tenants is given twice ("3" and "4"): give it once',
    );
    expect(errorOf(['--json', '--json'])).toBe('--json is given twice: give it once');
    expect(parseCommandLine(['--seed', '1', '--seed', '2', '-h'])).toEqual({
      kind: 'help',
      text: HELP,
    });
  });

  it('tells how to reach the help through pnpm, which answers `pnpm start --help` itself', () => {
    expect(HELP).toContain('pnpm start -- --help');
    expect(HELP).toContain('node --import tsx --conditions=@budgetry/source src/main.ts');
  });

  it.each([
    [['--seed', 'abc'], '--seed must be a whole number from 0 to 4294967295, got "abc"'],
    [['--seed', '1.5'], '--seed must be a whole number from 0 to 4294967295, got "1.5"'],
    [['--seed', '-1'], '--seed must be a whole number from 0 to 4294967295, got "-1"'],
    [
      ['--seed', '4294967296'],
      '--seed must be a whole number from 0 to 4294967295, got "4294967296"',
    ],
    [['--seed', ''], '--seed must be a whole number from 0 to 4294967295, got ""'],
    [['--duration', '-3'], '--duration must be a whole number from 1 to 1440, got "-3"'],
    [['--duration', '0'], '--duration must be a whole number from 1 to 1440, got "0"'],
    [['--duration', '1e3'], '--duration must be a whole number from 1 to 1440, got "1e3"'],
    [['--duration', '1441'], '--duration must be a whole number from 1 to 1440, got "1441"'],
    [['--tenants', '0'], '--tenants must be a whole number from 1 to 50, got "0"'],
    [['--tenants', 'many'], '--tenants must be a whole number from 1 to 50, got "many"'],
    [['--tenants', '51'], '--tenants must be a whole number from 1 to 50, got "51"'],
  ])('refuses nonsense numbers: %j', (argv, message) => {
    expect(errorOf(argv)).toBe(message);
  });

  it('refuses an unknown backend, and a Redis URL that is wrong or for another backend', () => {
    expect(errorOf(['--backend', 'postgres'])).toBe(
      '--backend must be memory, shared or redis, got "postgres"',
    );
    expect(errorOf(['--redis-url', 'redis://localhost:6379'])).toBe(
      '--redis-url is only for --backend redis',
    );
    expect(errorOf(['--backend', 'redis', '--redis-url', 'http://x'])).toBe(
      '--redis-url must look like redis://host:port, got "http://x"',
    );
  });

  it('reads --otel, --otel-shadow (which implies --otel) and --ai-sdk', () => {
    expect(parseCommandLine(['--otel'])).toMatchObject({
      kind: 'run',
      options: { otel: { shadow: undefined }, aiSdk: false },
    });
    for (const budget of ['tokens', 'dollars', 'tenant']) {
      expect(parseCommandLine(['--otel-shadow', budget])).toMatchObject({
        kind: 'run',
        options: { otel: { shadow: budget } },
      });
      expect(parseCommandLine(['--otel', `--otel-shadow=${budget}`, '--json'])).toMatchObject({
        kind: 'run',
        options: { otel: { shadow: budget }, json: true },
      });
    }
    expect(parseCommandLine(['--ai-sdk', '--backend', 'redis'])).toMatchObject({
      kind: 'run',
      options: { aiSdk: true, otel: undefined, backend: 'redis' },
    });
    expect(parseCommandLine(['--ai-sdk', '--otel', '--backend', 'shared'])).toMatchObject({
      kind: 'run',
      options: { aiSdk: true, otel: { shadow: undefined }, backend: 'shared' },
    });
  });

  it('refuses a budget --otel-shadow cannot shadow, a missing one, and values given to the flags', () => {
    const shadowable = '--otel-shadow must be tokens, dollars or tenant';
    expect(errorOf(['--otel-shadow', 'requests'])).toBe(`${shadowable}, got "requests"`);
    expect(errorOf(['--otel-shadow', 'Tokens'])).toBe(`${shadowable}, got "Tokens"`);
    expect(errorOf(['--otel-shadow', ''])).toBe(`${shadowable}, got ""`);
    expect(errorOf(['--otel-shadow'])).toBe(
      '--otel-shadow needs a value (see pnpm start -- --help)',
    );
    expect(errorOf(['--otel=yes'])).toBe('--otel takes no value (see pnpm start -- --help)');
    expect(errorOf(['--ai-sdk=1'])).toBe('--ai-sdk takes no value (see pnpm start -- --help)');
  });

  it('refuses --otel on Redis, and --otel and --ai-sdk on the page, saying why', () => {
    const redis =
      "watches budgets in this process, and a Redis budget's figures are a round trip away: use --backend memory or shared";
    expect(errorOf(['--otel', '--backend', 'redis'])).toBe(`--otel ${redis}`);
    expect(errorOf(['--backend', 'redis', '--otel-shadow', 'tokens'])).toBe(
      `--otel-shadow ${redis}`,
    );
    expect(errorOf(['--web', '--otel'])).toBe('--otel is for a run in the terminal, not for --web');
    expect(errorOf(['--web', '--otel-shadow', 'tenant'])).toBe(
      '--otel-shadow is for a run in the terminal, not for --web',
    );
    expect(errorOf(['--ai-sdk', '--web'])).toBe(
      '--ai-sdk is for a run in the terminal, not for --web',
    );
  });

  it('refuses --json with --plain rather than ignoring one of them', () => {
    expect(errorOf(['--json', '--plain'])).toBe(
      '--json and --plain cannot be combined: --json prints no lines',
    );
  });
});
