// Loaded before every test file when BUDGETRY_PROPERTY_TIME_LIMIT_MS is set (see
// vitest.config.ts). CI sets it for its second pass, on Node 22: each fast-check property
// starts no new run once that many milliseconds have passed, and passes if none failed. A run
// in progress is never cut short, and the first run always completes, however slow the
// machine: fast-check's own `interruptAfterTimeLimit` cut a first run that took longer and then
// failed the property for having run nothing. The first pass, on Node 20, runs every property
// to its full count; so does `pnpm test` anywhere the variable is not set.
import fc from 'fast-check';

const limit = Number(process.env.BUDGETRY_PROPERTY_TIME_LIMIT_MS);
if (!Number.isSafeInteger(limit) || limit <= 0) {
  throw new Error(
    `BUDGETRY_PROPERTY_TIME_LIMIT_MS must be a positive whole number of milliseconds, got ${process.env.BUDGETRY_PROPERTY_TIME_LIMIT_MS}`,
  );
}

const stopStartingRuns: fc.UniversalPlugin = () => {
  const until = performance.now() + limit;
  let completed = 0;
  return {
    decorateRun: (nestedRun) => (value) => {
      if (completed > 0 && performance.now() >= until) return new fc.PreconditionFailure(true);
      const out = nestedRun(value);
      if (out !== null && typeof (out as { then?: unknown }).then === 'function') {
        return (out as Promise<fc.PreconditionFailure | fc.PropertyFailure | null>).then((r) => {
          completed += 1;
          return r;
        }) as typeof out;
      }
      completed += 1;
      return out;
    },
  };
};
fc.installGlobalPlugin(stopStartingRuns);
