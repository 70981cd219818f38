// A budget, all-of or hierarchy script call as recorders see it: one EVALSHA may carry a batch ('bat') of calls,
// each with a reply of its own. Tests that audit every call read them one by one.

/** One call of the budget, all-of or hierarchy script as if it had been sent alone. */
export interface ScriptCall {
  /** Its ARGV: the operation, the configuration arguments, then its own arguments. */
  readonly argv: string[];
  readonly reply: number[];
}

/**
 * Arguments of the script's configuration: six for a budget (kind, capacity, policy, period,
 * debt, window), the number of members and six for each for an all-of, three for a tree
 * (capacities by level, period, window).
 */
function configLengthOf(argv: readonly string[]): number {
  const kind = (s: string | undefined) => s === 'guard' || s === 'token';
  if (kind(argv[1])) return 6;
  if (kind(argv[2])) return 1 + 6 * Number(argv[1]);
  return 3;
}

/**
 * The calls one EVALSHA of the budget, all-of or hierarchy script carried: itself, or each call of a batch with
 * the ARGV it would have had alone and its own reply.
 */
export function unbatch(argv: readonly string[], reply: unknown): ScriptCall[] {
  if (argv[0] !== 'bat') return [{ argv: [...argv], reply: reply as number[] }];
  const configLength = configLengthOf(argv);
  const config = argv.slice(1, 1 + configLength);
  const replies = reply as number[];
  const calls: ScriptCall[] = [];
  let p = 2 + configLength;
  let at = 0;
  for (let j = 0; j < Number(argv[1 + configLength]); j++) {
    const n = Number(argv[p + 1]);
    const length = replies[at]!;
    calls.push({
      argv: [argv[p]!, ...config, ...argv.slice(p + 2, p + 2 + n)],
      reply: replies.slice(at + 1, at + 1 + length),
    });
    p += 2 + n;
    at += 1 + length;
  }
  return calls;
}

/** The operations one EVALSHA of the budget script carries: its own, or its batch's in order. */
export function opsOf(argv: readonly string[]): string[] {
  if (argv[0] !== 'bat') return [argv[0] ?? ''];
  const configLength = configLengthOf(argv);
  const ops: string[] = [];
  let p = 2 + configLength;
  for (let j = 0; j < Number(argv[1 + configLength]); j++) {
    ops.push(argv[p]!);
    p += 2 + Number(argv[p + 1]);
  }
  return ops;
}
