// The calls waiting to be sent on one Redis client, across every budget object that uses it.
// Batching holds a call until the end of the turn; to keep every call in the order it was
// made, every batching runner on a client queues here, and anything sent on the client at
// once (a runner that does not batch, a budget's destroy()) first sends what is queued.

/** @internal A call queued on a client: what to send, and what to settle with the reply. */
export interface QueuedCall {
  readonly sender: BatchSender;
  readonly op: string;
  readonly args: readonly string[];
  readonly resolve: (reply: number[]) => void;
  readonly reject: (error: unknown) => void;
}

/** @internal What sends a run of queued calls: one script call for them all. */
export interface BatchSender {
  /** Most calls one script call may carry. */
  readonly maxBatch: number;
  /** Sends `calls` (all this sender's, in order) as one script call, now. */
  sendBatch(calls: readonly QueuedCall[]): void;
}

class ClientQueue {
  private pending: QueuedCall[] = [];

  add(call: QueuedCall): void {
    this.pending.push(call);
    if (this.pending.length === 1) queueMicrotask(() => this.flush());
  }

  /**
   * Sends everything queued, in order: each run of consecutive calls of one sender as one
   * script call (at most its `maxBatch`).
   */
  flush(): void {
    const calls = this.pending;
    if (calls.length === 0) return;
    this.pending = [];
    let i = 0;
    while (i < calls.length) {
      const sender = calls[i]!.sender;
      let j = i + 1;
      while (j < calls.length && calls[j]!.sender === sender && j - i < sender.maxBatch) j++;
      sender.sendBatch(calls.slice(i, j));
      i = j;
    }
  }
}

const queues = new WeakMap<object, ClientQueue>();

/** @internal Queues `call` on `client`; it is sent at the end of the turn, or before anything sent sooner. */
export function queueCall(client: object, call: QueuedCall): void {
  let queue = queues.get(client);
  if (queue === undefined) {
    queue = new ClientQueue();
    queues.set(client, queue);
  }
  queue.add(call);
}

/** @internal Sends, now and in order, whatever is queued on `client`. */
export function flushQueued(client: object): void {
  queues.get(client)?.flush();
}
