// Loaded before every test file when BUDGETRY_PROPERTY_TIME_LIMIT_MS is set (see
// vitest.config.ts). CI sets it for its second pass, on Node 22: every test file and every
// test runs there, but each fast-check property stops starting new runs after that many
// milliseconds and passes if none failed. The first pass, on Node 20, runs every property to
// its full count; so does `pnpm test` anywhere the variable is not set.
import fc from 'fast-check';

const limit = Number(process.env.BUDGETRY_PROPERTY_TIME_LIMIT_MS);
if (!Number.isSafeInteger(limit) || limit <= 0) {
  throw new Error(
    `BUDGETRY_PROPERTY_TIME_LIMIT_MS must be a positive whole number of milliseconds, got ${process.env.BUDGETRY_PROPERTY_TIME_LIMIT_MS}`,
  );
}
fc.configureGlobal({ ...fc.readConfigureGlobal(), interruptAfterTimeLimit: limit });
