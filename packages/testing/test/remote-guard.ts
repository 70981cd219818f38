// A guard behind a simulated network: every call goes out and comes back through the kit's
// hop, and some replies are lost (the call rejects with TIMEOUT, whether or not the server
// applied it). `bug` plants the remote gallery's bugs.
import { assertAmount, BudgetError } from '@budgetry/core';

export type RemoteBug = 'none' | 'retry-without-idempotency-key' | 'read-then-write';

/** The server side: one counter, applied atomically (or, with the bug, read-then-write). */
class Server {
  avail: number;
  /** Units held through the count API: a release returns at most these. */
  pool = 0;
  constructor(readonly capacity: number) {
    this.avail = capacity;
  }
}

export class RemoteGuard {
  private readonly server: Server;
  private calls = 0;
  constructor(
    capacity: number,
    private readonly hop: (label?: string) => Promise<void>,
    private readonly bug: RemoteBug = 'none',
  ) {
    this.server = new Server(capacity);
  }

  /** Deterministic losses: every 4th call loses its reply, half of them before applying. */
  private fate(): 'ok' | 'lost-after' | 'lost-before' {
    const n = ++this.calls;
    if (n % 8 === 3) return 'lost-after';
    if (n % 8 === 7) return 'lost-before';
    return 'ok';
  }

  private timeout(): BudgetError {
    return new BudgetError({ code: 'TIMEOUT', message: 'no reply from the budget server' });
  }

  async tryReserve(cost: number): Promise<boolean> {
    assertAmount(cost, 'cost');
    const fate = this.fate();
    await this.hop('send');
    if (fate === 'lost-before') throw this.timeout();
    const granted = await this.apply(cost);
    await this.hop('reply');
    if (fate === 'lost-after') {
      // Planted: the client retries the lost call as a new one, and the server charges twice.
      if (this.bug === 'retry-without-idempotency-key' && granted) {
        await this.hop('retry');
        return this.apply(cost);
      }
      throw this.timeout();
    }
    return granted;
  }

  async release(cost: number): Promise<void> {
    assertAmount(cost, 'cost');
    await this.hop('send');
    const accepted = Math.min(cost, this.server.pool);
    this.server.pool -= accepted;
    this.server.avail += accepted;
    await this.hop('reply');
  }

  async available(): Promise<number> {
    await this.hop('send');
    return this.server.avail;
  }

  private async apply(cost: number): Promise<boolean> {
    if (this.bug === 'read-then-write') {
      const seen = this.server.avail;
      await this.hop('server read');
      if (cost > seen) return false;
      this.server.avail = seen - cost;
      this.server.pool += cost;
      return true;
    }
    if (cost > this.server.avail) return false;
    this.server.avail -= cost;
    this.server.pool += cost;
    return true;
  }
}
