import { parseArgs } from 'node:util';

/** Where the scenario's shared budgets live. */
export type BackendKind = 'memory' | 'shared' | 'redis';

/** The budgets `--otel-shadow` can run in shadow mode: those `@budgetry/otel` can watch. */
export const SHADOWABLE = ['tokens', 'dollars', 'tenant'] as const;
/** One of {@link SHADOWABLE}. */
export type ShadowChoice = (typeof SHADOWABLE)[number];

/** `--otel`: export the run through `@budgetry/otel`, with one budget in shadow mode if asked. */
export interface OtelOptions {
  /** The budget that decides without enforcing (`--otel-shadow`), if any. */
  readonly shadow: ShadowChoice | undefined;
}

/** Everything the command line can set, validated. */
export interface PlaygroundOptions {
  /** Tenants sharing the gateway: the first is greedy, the second bursty, the rest quiet. */
  readonly tenants: number;
  /** Simulated minutes to run. */
  readonly minutes: number;
  /** Seed of the simulated traffic: the same seed gives the same run. */
  readonly seed: number;
  readonly backend: BackendKind;
  /** The Redis server of `--backend redis` (with a default then); `undefined` otherwise. */
  readonly redisUrl: string | undefined;
  /** One JSON document on stdout instead of the report. */
  readonly json: boolean;
  /** Line output even on a terminal. */
  readonly plain: boolean;
  /** Serve the live page instead (`--web`); absent for a terminal run. */
  readonly web?: WebOptions | undefined;
  /** Export through OpenTelemetry (`--otel`, `--otel-shadow`); absent otherwise. */
  readonly otel?: OtelOptions | undefined;
  /** Send the calls through `@budgetry/ai-sdk`'s middleware (`--ai-sdk`). */
  readonly aiSdk?: boolean;
}

/** The page's server: where it listens and how fast simulated time runs. */
export interface WebOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** Simulated seconds per second of wall time. */
  readonly speed: number;
}

/** What the command line asks for: a run, the help text, or a one-line complaint. */
export type ParsedCommandLine =
  | { readonly kind: 'run'; readonly options: PlaygroundOptions }
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'error'; readonly message: string };

export const DEFAULTS = {
  tenants: 5,
  minutes: 8,
  seed: 42,
  webMinutes: 15,
  port: 8080,
  speed: 20,
  redisUrl: 'redis://127.0.0.1:6379',
} as const;
export const LIMITS = { tenants: 50, minutes: 24 * 60, speed: 600 } as const;

export const HELP = `budgetry playground: an LLM gateway shared by several tenants, on simulated time

Usage: pnpm start [options]        from the repository root
       pnpm start -- --help        this help (pnpm answers \`pnpm start --help\` itself)
       node --import tsx --conditions=@budgetry/source src/main.ts [options]
                                   in apps/playground, without pnpm

Options:
  --tenants <n>       tenants sharing the gateway, 1-${LIMITS.tenants} (default ${DEFAULTS.tenants}): the first is
                      greedy, the second bursty, the others quiet
  --duration <min>    simulated minutes to run, a whole number 1-${LIMITS.minutes} (default ${DEFAULTS.minutes});
                      one simulated minute takes about a second on a terminal, and
                      a few milliseconds otherwise
  --seed <n>          seed of the simulated traffic, an integer 0-4294967295
                      (default ${DEFAULTS.seed}); the same seed gives the same run
  --backend <name>    where the tokens-per-minute and daily-dollar budgets live:
                        memory  AtomicTokenBudget, in this process (default)
                        shared  SharedTokenBudget, on a SharedArrayBuffer
                        redis   RedisTokenBudget, on the server of --redis-url; each
                                epoch begins by refill() at its simulated boundary
  --redis-url <url>   the Redis server for --backend redis, redis://host:port (default
                      ${DEFAULTS.redisUrl}); the run's keys have a prefix of
                      their own and are deleted at the end
  --otel              attach @budgetry/otel to the budgets and the coordinator,
                      exporting to the OpenTelemetry SDK's in-memory metric reader
                      and span exporter; the report ends with what was exported
                      (each budget's metrics, spans by outcome, threshold events,
                      each level once per epoch), checked against the run's figures;
                      memory and shared backends only
  --otel-shadow <budget>
                      --otel with one budget in shadow mode: it decides and is
                      exported but denies nothing, and the report says what it
                      would have denied; ${SHADOWABLE.join(', ')} (each tenant's budget)
  --ai-sdk            send every call through @budgetry/ai-sdk's budgetMiddleware
                      around the AI SDK's mock language model (streamText), which
                      estimates, reserves, reconciles and refunds; the report's
                      header says what is simulated
  --json              print one JSON document (the whole run) instead of the report
  --plain             print a line per simulated minute even on a terminal
  --web               serve the live page on http://127.0.0.1:<port>/ instead: charts,
                      controls for demand and capacities, the verdict (default
                      duration ${DEFAULTS.webMinutes} minutes); Ctrl-C stops it
  --port <n>          the page's port, 0-65535 (default ${DEFAULTS.port}; 0 picks a free one)
  --speed <x>         simulated seconds per second on the page, a whole number
                      1-${LIMITS.speed} (default ${DEFAULTS.speed})
  -h, --help          print this help

Exit status: 0 when every conservation invariant held, 1 when one broke or, with
--otel, what was exported does not match the run (the report says which), 2 for
a bad option or a backend that is unavailable or fails.
`;

const SPEC = {
  tenants: { type: 'string' },
  duration: { type: 'string' },
  seed: { type: 'string' },
  backend: { type: 'string' },
  'redis-url': { type: 'string' },
  json: { type: 'boolean' },
  plain: { type: 'boolean' },
  otel: { type: 'boolean' },
  'otel-shadow': { type: 'string' },
  'ai-sdk': { type: 'boolean' },
  web: { type: 'boolean' },
  port: { type: 'string' },
  speed: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

class UsageError extends Error {}

/**
 * Parses the command line strictly: unknown options, missing values, stray arguments and
 * numbers out of range are refused with one line that says what is wrong.
 *
 * @param argv - the arguments after the script name.
 * @returns the options, the help text, or the complaint.
 */
export function parseCommandLine(argv: readonly string[]): ParsedCommandLine {
  // `pnpm start -- --seed 7` hands the script a leading `--`; it separates nothing here.
  const args = joinNegativeNumbers(argv[0] === '--' ? argv.slice(1) : [...argv]);
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (error) {
    return { kind: 'error', message: describeParseError(error) };
  }
  const values = parsed.values;
  if (values.help) return { kind: 'help', text: HELP };
  try {
    refuseRepeats(parsed.tokens);
    return { kind: 'run', options: validate(values) };
  } catch (error) {
    if (error instanceof UsageError) return { kind: 'error', message: error.message };
    throw error;
  }
}

/**
 * `--duration -3` is a negative number, not a missing value followed by an option `-3`: join
 * such pairs (`--duration=-3`) so the complaint is about the number.
 */
function joinNegativeNumbers(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const next = args[i + 1];
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    if (
      name !== undefined &&
      SPEC[name as keyof typeof SPEC]?.type === 'string' &&
      next !== undefined &&
      /^-[\d.]/.test(next)
    ) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

function parse(args: string[]) {
  return parseArgs({ args, options: SPEC, strict: true, allowPositionals: false, tokens: true });
}

/** `--seed 1 --seed 2` would silently run seed 2: an option given twice is refused instead. */
function refuseRepeats(tokens: ReturnType<typeof parse>['tokens']): void {
  const seen = new Map<string, string | undefined>();
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    if (seen.has(token.name)) {
      const values = [seen.get(token.name), token.value].filter((v) => v !== undefined);
      const what =
        values.length === 2 ? ` (${values.map((v) => JSON.stringify(v)).join(' and ')})` : '';
      throw new UsageError(`--${token.name} is given twice${what}: give it once`);
    }
    seen.set(token.name, token.value);
  }
}

function validate(values: ReturnType<typeof parse>['values']): PlaygroundOptions {
  const backend = values.backend ?? 'memory';
  if (backend !== 'memory' && backend !== 'shared' && backend !== 'redis') {
    throw new UsageError(
      `--backend must be memory, shared or redis, got ${JSON.stringify(backend)}`,
    );
  }
  const redisUrl = values['redis-url'];
  if (redisUrl !== undefined) {
    if (backend !== 'redis') throw new UsageError('--redis-url is only for --backend redis');
    if (!isRedisUrl(redisUrl)) {
      throw new UsageError(
        `--redis-url must look like redis://host:port, got ${JSON.stringify(redisUrl)}`,
      );
    }
  }
  if (values.json && values.plain) {
    throw new UsageError('--json and --plain cannot be combined: --json prints no lines');
  }
  const web = values.web ?? false;
  if (web && (values.json || values.plain)) {
    throw new UsageError(`--web cannot be combined with --${values.json ? 'json' : 'plain'}`);
  }
  for (const name of ['port', 'speed'] as const) {
    if (values[name] !== undefined && !web) throw new UsageError(`--${name} is only for --web`);
  }
  const otel = otelOptions(values, backend, web);
  const minutes = web ? DEFAULTS.webMinutes : DEFAULTS.minutes;
  return {
    tenants: integer('--tenants', values.tenants, DEFAULTS.tenants, 1, LIMITS.tenants),
    minutes: integer('--duration', values.duration, minutes, 1, LIMITS.minutes),
    seed: integer('--seed', values.seed, DEFAULTS.seed, 0, 2 ** 32 - 1),
    backend,
    redisUrl: backend === 'redis' ? (redisUrl ?? DEFAULTS.redisUrl) : undefined,
    json: values.json ?? false,
    plain: values.plain ?? false,
    otel,
    aiSdk: values['ai-sdk'] ?? false,
    web: web
      ? {
          port: integer('--port', values.port, DEFAULTS.port, 0, 65_535),
          speed: integer('--speed', values.speed, DEFAULTS.speed, 1, LIMITS.speed),
        }
      : undefined,
  };
}

function otelOptions(
  values: ReturnType<typeof parse>['values'],
  backend: BackendKind,
  web: boolean,
): OtelOptions | undefined {
  const shadow = values['otel-shadow'];
  if (web) {
    const flag = ['otel', 'otel-shadow', 'ai-sdk'].find((f) => values[f as 'otel'] !== undefined);
    if (flag !== undefined) {
      throw new UsageError(`--${flag} is for a run in the terminal, not for --web`);
    }
  }
  if (shadow !== undefined && !(SHADOWABLE as readonly string[]).includes(shadow)) {
    throw new UsageError(
      `--otel-shadow must be ${SHADOWABLE.slice(0, -1).join(', ')} or ${SHADOWABLE.at(-1)}, got ${JSON.stringify(shadow)}`,
    );
  }
  if (!values.otel && shadow === undefined) return undefined;
  if (backend === 'redis') {
    // Watching reads a budget's figures synchronously, at every event and every collection.
    throw new UsageError(
      `--${shadow === undefined ? 'otel' : 'otel-shadow'} watches budgets in this process, and a Redis budget's figures are a round trip away: use --backend memory or shared`,
    );
  }
  return { shadow: shadow as ShadowChoice | undefined };
}

function integer(
  name: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined) return fallback;
  const value = /^[+-]?\d+$/.test(raw.trim()) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(
      `${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

function isRedisUrl(raw: string): boolean {
  try {
    const url = new URL(raw);
    return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** node:util's messages suggest `--` tricks that do not apply here; say it plainly instead. */
function describeParseError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  const quoted = /'([^']*)'/.exec(message)?.[1];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${quoted ?? message} (see pnpm start -- --help)`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${JSON.stringify(quoted ?? message)} (see pnpm start -- --help)`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const option = /--[a-z-]+/.exec(message)?.[0];
      return option && /argument missing|ambiguous/.test(message)
        ? `${option} needs a value (see pnpm start -- --help)`
        : `${option ?? 'an option'} takes no value (see pnpm start -- --help)`;
    }
    default:
      return message.split('\n')[0] ?? 'bad command line';
  }
}
