/**
 * The environment variable the check functions read a {@link ReplayToken} from.
 *
 * @example
 * ```ts
 * import { REPLAY_ENV } from '@budgetry/testing';
 * console.log(REPLAY_ENV); // 'BUDGETRY_REPLAY'
 * ```
 */
export const REPLAY_ENV = 'BUDGETRY_REPLAY';

/**
 * Everything needed to re-run one failing property run exactly: fast-check's `seed` and
 * `path`, and the `replayPath` of `fc.commands` (which fast-check's own hint omits). The
 * optional `subject` and `check` restrict the replay to the check that failed, so one token
 * in the environment replays one test of a suite and leaves the others alone.
 *
 * @example
 * ```ts
 * import type { ReplayToken } from '@budgetry/testing';
 * const token: ReplayToken = { seed: 42, path: '3:1', replayPath: 'CCB' };
 * ```
 */
export interface ReplayToken {
  readonly seed: number;
  readonly path: string;
  readonly replayPath: string;
  readonly subject?: string;
  readonly check?: string;
}

/**
 * Parses a replay token from the JSON printed by a {@link ConformanceError}.
 *
 * @param text - the JSON value of `BUDGETRY_REPLAY`.
 * @returns the token, or `undefined` when `text` is empty.
 * @throws TypeError when `text` is not a valid token.
 *
 * @example
 * ```ts
 * import { parseReplayToken } from '@budgetry/testing';
 * const token = parseReplayToken('{"seed":42,"path":"3:1","replayPath":"CCB"}');
 * console.log(token?.seed); // 42
 * ```
 */
export function parseReplayToken(text: string | undefined): ReplayToken | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null)
    throw new TypeError(`${REPLAY_ENV} is not an object`);
  const { seed, path, replayPath, subject, check } = value as Record<string, unknown>;
  if (!Number.isInteger(seed) || typeof path !== 'string' || typeof replayPath !== 'string') {
    throw new TypeError(`${REPLAY_ENV} needs an integer seed and string path and replayPath`);
  }
  return {
    seed: seed as number,
    path,
    replayPath,
    ...(typeof subject === 'string' ? { subject } : {}),
    ...(typeof check === 'string' ? { check } : {}),
  };
}

/**
 * Reads the replay token from `process.env.BUDGETRY_REPLAY`, if any.
 *
 * @returns the token, or `undefined` when the variable is unset or empty.
 *
 * @example
 * ```ts
 * import { readReplayToken } from '@budgetry/testing';
 * const token = readReplayToken();
 * ```
 */
export function readReplayToken(): ReplayToken | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process
    ?.env;
  return parseReplayToken(env?.[REPLAY_ENV]);
}

/**
 * The single line a user pastes in front of the test command to replay a failure.
 *
 * @param token - the failing run's replay token.
 * @returns `BUDGETRY_REPLAY='{…}'`.
 *
 * @example
 * ```ts
 * import { formatReplayLine } from '@budgetry/testing';
 * formatReplayLine({ seed: 1, path: '0', replayPath: 'A' });
 * // BUDGETRY_REPLAY='{"seed":1,"path":"0","replayPath":"A"}'
 * ```
 */
export function formatReplayLine(token: ReplayToken): string {
  return `${REPLAY_ENV}='${JSON.stringify(token).replaceAll("'", "'\\''")}'`;
}
