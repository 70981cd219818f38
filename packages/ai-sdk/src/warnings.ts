/**
 * @internal A process warning of `type` (its `name`), with `cause` when there is one, where
 * there is a process; else the console's. The middleware tells this way what went wrong
 * without failing a call: a guard that could not take an overage, usage a budget cannot count,
 * a budget that failed to settle a call the provider answered.
 */
export function emitWarning(message: string, type: string, cause?: unknown): void {
  if (typeof process !== 'undefined' && typeof process.emitWarning === 'function') {
    const warning = new Error(message, cause === undefined ? undefined : { cause });
    warning.name = type;
    process.emitWarning(warning);
  } else {
    console.warn(message, ...(cause === undefined ? [] : [cause]));
  }
}

/** @internal The message of `error`, for a warning. */
export const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);
