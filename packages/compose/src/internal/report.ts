/**
 * @internal Reports an error no caller can receive as a process warning of `type` (or on the
 * console where there is no `process`): observable, never a crash.
 */
export function warn(type: string, what: string, error: unknown): void {
  const message = `budgetry: ${what}: ${error instanceof Error ? error.message : String(error)}`;
  if (typeof process !== 'undefined' && typeof process.emitWarning === 'function') {
    process.emitWarning(message, type);
  } else {
    console.warn(message);
  }
}

/**
 * @internal Errors with no caller go to `onError`; without one, or when it throws too, they
 * become a process warning of `type`, saying `what` failed.
 */
export function reporter(
  onError: ((error: unknown) => void) | undefined,
  what: string,
  type: string,
): (error: unknown) => void {
  return (error) => {
    if (onError !== undefined) {
      try {
        onError(error);
        return;
      } catch (failure) {
        warn(type, 'onError threw', failure);
      }
    }
    warn(type, what, error);
  };
}
