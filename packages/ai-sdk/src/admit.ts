import { BudgetError, type Clock } from '@budgetry/core';
import { BudgetDeniedError } from './denied-error.js';
import { type Held, isHeld, type Plan } from './gate.js';

/** @internal How admission treats a denial. */
export interface AdmitSettings {
  readonly onDenied: 'throw' | 'wait';
  readonly maxWaitMs: number;
  readonly pollMs: number;
  readonly clock: Clock;
}

/**
 * @internal Reserve for a call, throwing the denial or waiting it out (sleeping until the
 * budget's retry hint, or `pollMs`, and trying again) until `maxWaitMs` or the call's abort.
 */
export async function admit(
  plan: Plan,
  settings: AdmitSettings,
  signal: AbortSignal | undefined,
): Promise<Held> {
  checkNotAborted(signal);
  const started = settings.clock.now();
  for (;;) {
    const got = await plan.reserve();
    if (isHeld(got)) {
      if (signal?.aborted) {
        await got.refund(false); // nothing was sent
        checkNotAborted(signal);
      }
      return got;
    }
    // The signal may have fired while a (remote) budget answered: no sleep would hear it.
    checkNotAborted(signal);
    const waited = settings.clock.now() - started;
    if (got.never === true) {
      const { deniedBy } = got;
      const message = `model call denied by budget ${deniedBy}: its estimate is above the budget's capacity, so no wait can admit it`;
      throw new BudgetDeniedError({ deniedBy, estimate: plan.amounts, message });
    }
    if (settings.onDenied === 'throw' || waited >= settings.maxWaitMs) {
      throw new BudgetDeniedError({ ...got, estimate: plan.amounts });
    }
    const delay = Math.min(
      Math.max(1, got.retryAfterMs ?? settings.pollMs),
      settings.maxWaitMs - waited,
    );
    await sleep(settings.clock, delay, signal);
  }
}

function checkNotAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new BudgetError({
      code: 'ABORTED',
      message: 'the model call was aborted before it was admitted',
      cause: signal.reason,
    });
  }
}

/**
 * A call waiting for its budget is pending work, as a request in flight is: while any call
 * sleeps, one ref'd interval keeps the process alive. The clock's timers are unref'd (a
 * budget's timer must never hold a process open), so without it a script whose calls wait for
 * a refill would exit in the middle, status 0, its remaining calls never made.
 */
let sleeping = 0;
let keepAlive: ReturnType<typeof setInterval> | undefined;

function holdProcess(): () => void {
  if (sleeping++ === 0) keepAlive = setInterval(() => {}, 2 ** 30);
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    if (--sleeping === 0 && keepAlive !== undefined) {
      clearInterval(keepAlive);
      keepAlive = undefined;
    }
  };
}

function sleep(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const letGo = holdProcess();
    const onAbort = () => {
      letGo();
      cancel();
      reject(
        new BudgetError({
          code: 'ABORTED',
          message: 'the model call was aborted while waiting for its budget',
          cause: signal?.reason,
        }),
      );
    };
    let cancel: () => void;
    try {
      cancel = clock.setTimer(() => {
        letGo();
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
    } catch (error) {
      // A clock that cannot set a timer: the call fails, and keeps nothing alive.
      letGo();
      reject(error);
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
