import { createHash } from 'node:crypto';
import { BudgetError } from '@budgetry/core';
import type { CalendarMarks } from './calendar-marks.js';
import { type BatchSender, flushQueued, type QueuedCall, queueCall } from './client-queue.js';

/**
 * What a Redis budget needs of its client: `EVALSHA` and `EVAL`. An ioredis `Redis` (or
 * `Cluster`) instance is one; the budget never connects, quits or configures it.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import type { RedisScriptClient } from '@budgetry/redis';
 *
 * const client: RedisScriptClient = new Redis({ lazyConnect: true });
 * ```
 */
export interface RedisScriptClient {
  evalsha(sha: string, numkeys: number, ...args: string[]): Promise<unknown>;
  eval(script: string, numkeys: number, ...args: string[]): Promise<unknown>;
}

/** @internal A Lua script and its SHA-1, the name `EVALSHA` knows it by. */
export interface LuaScript {
  readonly text: string;
  readonly sha: string;
  /** What the configuration arguments are, for the message of a mismatch. */
  readonly configShape: string;
  /** How to delete what the script keeps, for the message of a mismatch. */
  readonly remedy: string;
}

/** @internal Names `text` by its SHA-1. */
export function luaScript(
  text: string,
  configShape: string,
  remedy = 'destroy() it first',
): LuaScript {
  return { text, sha: createHash('sha1').update(text).digest('hex'), configShape, remedy };
}

/** @internal Counters of one runner, for tests and telemetry. */
export interface RunnerStats {
  /** Calls answered `NOSCRIPT` and sent again with the script's text. */
  scriptReloads: number;
}

/** @internal A calendar budget's boundaries and where in the configuration they go. */
export interface CalendarArgument {
  /** The index in the runner's configuration arguments. */
  readonly at: number;
  readonly marks: CalendarMarks;
}

/**
 * @internal Runs one Lua script over a fixed set of keys (all in one hash slot): by SHA, again with its text when the server answers
 * `NOSCRIPT` (after `SCRIPT FLUSH` or a restart: the script did not run, so sending it again
 * cannot apply anything twice), under a per-call time limit. Every failure becomes a
 * `BudgetError`: `TIMEOUT` when the time limit passed first, `BACKEND` otherwise, with the
 * client's error as `cause`.
 *
 * With `maxBatch` above 1 (for a script that runs `bat`), the calls made in one turn of the
 * event loop wait for its end (client-queue.ts), and each run of consecutive calls of one
 * runner goes as one script call: the script's fixed work (its clock, loading and saving the
 * state, the sweep) is paid once for them all. Each gets its own reply, as if sent alone; a
 * failure of the batch is each one's. Every call on the client keeps the order it was made in.
 */
export class ScriptRunner implements BatchSender {
  readonly stats: RunnerStats = { scriptReloads: 0 };

  constructor(
    private readonly client: RedisScriptClient,
    private readonly script: LuaScript,
    /** The keys every call passes, in the order the script reads them. */
    readonly keys: readonly string[],
    /** The configuration arguments every call passes after the operation's name. */
    readonly config: readonly string[],
    private readonly timeoutMs: number,
    private readonly budget: string,
    /**
     * Calendar budgets' boundaries, each sent as the configuration argument at `at` (a
     * budget's period) with every call.
     */
    readonly calendars: readonly CalendarArgument[] = [],
    /** Most calls sent as one script call (1: every call alone). */
    readonly maxBatch = 1,
  ) {}

  /**
   * Sends `op` with its arguments: at once (after the calls queued on the client before it),
   * or, batching, at the end of the turn. Either way a later call on the same client reaches
   * the server after it — unless this one has to be sent again (answered `NOSCRIPT`, or
   * refused for calendar boundaries off the server's clock): the second sending follows
   * whatever was sent meanwhile.
   */
  run(op: string, args: readonly string[]): Promise<number[]> {
    if (this.maxBatch <= 1) {
      flushQueued(this.client);
      return this.runNow(op, args, op);
    }
    return new Promise<number[]>((resolve, reject) => {
      queueCall(this.client, { sender: this, op, args, resolve, reject });
    });
  }

  /** @internal Sends queued calls of this runner: a lone call as itself, several as one `bat`. */
  sendBatch(calls: readonly QueuedCall[]): void {
    if (calls.length === 1) {
      const only = calls[0]!;
      this.runNow(only.op, only.args, only.op).then(only.resolve, only.reject);
      return;
    }
    const args = [String(calls.length)];
    for (const c of calls) args.push(c.op, String(c.args.length), ...c.args);
    const ops = [...new Set(calls.map((c) => c.op))].join(', ');
    this.runNow('bat', args, `a batch of ${calls.length} calls (${ops})`).then(
      (reply) => {
        let at = 0;
        for (const c of calls) {
          const n = reply[at];
          if (typeof n !== 'number' || at + 1 + n > reply.length) {
            c.reject(malformed(c.op, this.budget, reply));
            continue;
          }
          c.resolve(reply.slice(at + 1, at + 1 + n));
          at += 1 + n;
        }
      },
      (error: unknown) => {
        for (const c of calls) c.reject(forOp(error, c.op));
      },
    );
  }

  private runNow(op: string, args: readonly string[], label: string): Promise<number[]> {
    const calendars = this.calendars;
    if (calendars.length === 0) return this.send(op, args, label);
    return this.send(op, args, label).catch((error: unknown) => {
      const cause = BudgetError.isInstance(error) ? error.cause : undefined;
      const told = /^BUDGETRY_CALENDAR (\d+)/.exec(messageOf(cause));
      if (told === null) throw error;
      // Refused before anything was read or written: safe to send again, once.
      for (const c of calendars) c.marks.correct(Number(told[1]));
      return this.send(op, args, label);
    });
  }

  private send(op: string, args: readonly string[], label: string): Promise<number[]> {
    const config = this.calendars.length === 0 ? this.config : this.withMarks();
    const argv = [...this.keys, op, ...config, ...args];
    const n = this.keys.length;
    const { sha, text } = this.script;
    let sent: Promise<unknown>;
    try {
      sent = this.client.evalsha(sha, n, ...argv).catch((error: unknown) => {
        if (!isNoScript(error)) throw error;
        this.stats.scriptReloads++;
        return this.client.eval(text, n, ...argv);
      });
    } catch (error) {
      sent = Promise.reject(error);
    }
    return this.limit(sent, label).then(
      (reply) => reply as number[],
      (error: unknown) => {
        throw toBudgetError(error, label, this.budget, this.script);
      },
    );
  }

  private withMarks(): string[] {
    const config = [...this.config];
    for (const c of this.calendars) config[c.at] = c.marks.argument();
    return config;
  }

  private limit(sent: Promise<unknown>, op: string): Promise<unknown> {
    if (this.timeoutMs === Number.POSITIVE_INFINITY) return sent;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new BudgetError({
            code: 'TIMEOUT',
            message: `Redis did not answer ${op} on budget ${JSON.stringify(this.budget)} within ${this.timeoutMs} ms; it may or may not have been applied`,
            details: { budget: this.budget, op, timeoutMs: this.timeoutMs },
          }),
        );
      }, this.timeoutMs);
      timer.unref?.();
      sent.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }
}

/** A batch's failure as one of its calls reports it: the same error, `details.op` its own. */
function forOp(error: unknown, op: string): unknown {
  if (!BudgetError.isInstance(error)) return error;
  return new BudgetError({
    code: error.code,
    message: error.message,
    details: { ...error.details, op, batched: true },
    cause: error.cause,
  });
}

function malformed(op: string, budget: string, reply: unknown): BudgetError {
  return new BudgetError({
    code: 'BACKEND',
    message: `Redis answered a batch on budget ${JSON.stringify(budget)} with a reply budgetry cannot read (for ${op})`,
    details: { budget, op, reply },
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isNoScript(error: unknown): boolean {
  return messageOf(error).startsWith('NOSCRIPT');
}

/**
 * @internal The backend's own name for a failure: the Redis error prefix (`OOM`, `READONLY`,
 * `LOADING`, …) or the system error code (`ECONNREFUSED`, …), else the error's class name.
 */
export function backendCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.length > 0) return code;
  const prefix = /^([A-Z][A-Z_]+)\b/.exec(messageOf(error))?.[1];
  if (prefix !== undefined) return prefix;
  return error instanceof Error ? error.name : typeof error;
}

/** @internal Wraps a failure of a call as a `BudgetError`, leaving budgetry's own errors be. */
export function toBudgetError(
  error: unknown,
  op: string,
  budget: string,
  script: Pick<LuaScript, 'configShape' | 'remedy'>,
): BudgetError {
  if (BudgetError.isInstance(error)) return error;
  const message = messageOf(error);
  if (message.includes('BUDGETRY_EPOCHS')) {
    return new BudgetError({
      code: 'INVALID_ARGUMENT',
      message: `budget ${JSON.stringify(budget)} has reached epoch 2^53 − 1: its schedule can begin no more epochs, so ${op} was refused and nothing changed`,
      details: { budget, op },
      cause: error,
    });
  }
  if (message.startsWith('BUDGETRY_CONFIG')) {
    return new BudgetError({
      code: 'INVALID_ARGUMENT',
      message: `budget ${JSON.stringify(budget)} exists in Redis with another configuration (${script.configShape}): ${message.slice(16)}; use another name, or ${script.remedy}`,
      details: { budget, op },
      cause: error,
    });
  }
  return new BudgetError({
    code: 'BACKEND',
    message: `Redis failed ${op} on budget ${JSON.stringify(budget)}: ${message}`,
    details: { budget, op, backendCode: backendCode(error) },
    cause: error,
  });
}
