// A RedisScriptClient in front of a real one, with faults to order: a reply lost after the
// server applied the call (what a dropped connection or a timeout leaves behind), a call that
// never gets an answer (sent or not), and a command delivered twice (what a client re-sending unfulfilled commands after a reconnect
// does).
import type { Redis } from 'ioredis';
import type { RedisScriptClient } from '../../src/index.js';
import { opsOf, unbatch } from './batches.js';

export class LossyClient implements RedisScriptClient {
  /** Calls whose reply is dropped after the server applied them, by operation name. */
  readonly loseReply = new Map<string, number>();
  /** Calls never sent and never answered (the caller's time limit ends them), by operation. */
  readonly hangBefore = new Map<string, number>();
  /** Calls applied by the server whose reply never comes, by operation name. */
  readonly hangAfter = new Map<string, number>();
  /**
   * Every call's fate from its ordinal number and the operations it carries (a batch carries
   * several), for runs that need faults spread through them (applied before the per-operation
   * maps).
   */
  fate: ((n: number, ops: readonly string[]) => 'ok' | 'hang-before' | 'hang-after') | undefined;
  private calls = 0;
  /** Calls sent twice, by operation name. */
  readonly duplicate = new Map<string, number>();
  /** Every call, by operation name, as the server answered it (lost replies included). */
  readonly log: { op: string; args: string[]; reply: unknown }[] = [];

  constructor(private readonly redis: Redis) {}

  /** Whether the call carrying `ops` takes one of the faults `map` has left for them. */
  private take(map: Map<string, number>, ops: readonly string[]): boolean {
    for (const op of ops) {
      const n = map.get(op) ?? 0;
      if (n <= 0) continue;
      map.set(op, n - 1);
      return true;
    }
    return false;
  }

  async evalsha(sha: string, numkeys: number, ...args: string[]): Promise<unknown> {
    const op = opsOf(args.slice(numkeys));
    const fate = this.fate?.(++this.calls, op) ?? 'ok';
    if (fate === 'hang-before' || this.take(this.hangBefore, op)) return new Promise(() => {});
    if (fate === 'hang-after' || this.take(this.hangAfter, op)) {
      await this.redis.evalsha(sha, numkeys, ...args).catch(() => {});
      return new Promise(() => {});
    }
    const lose = this.take(this.loseReply, op);
    const twice = this.take(this.duplicate, op);
    const reply = this.redis.evalsha(sha, numkeys, ...args);
    if (twice) await this.redis.evalsha(sha, numkeys, ...args);
    const value = await reply;
    for (const call of unbatch(args.slice(numkeys), value)) {
      this.log.push({ op: call.argv[0]!, args: call.argv.slice(1), reply: call.reply });
    }
    if (lose) throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    return value;
  }

  eval(script: string, numkeys: number, ...args: string[]): Promise<unknown> {
    return this.redis.eval(script, numkeys, ...args);
  }
}
