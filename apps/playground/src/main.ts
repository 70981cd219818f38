// The main job: two simulated workloads gated by budgetry on the in-memory budgets, then a
// conformance self-check of the budgets they used. Each part checks conservation; a broken
// invariant exits non-zero.
import { runGateway } from './gateway.js';
import { runScenario } from './scenario.js';
import { runSelfCheck } from './self-check.js';

const seed = Number(process.env.BUDGETRY_SEED ?? 42);
const log = (line: string): void => console.log(line);
const violations = [
  ...(await runScenario({ seed, log })).violations,
  ...runGateway({ seed, log }).violations,
  ...(await runSelfCheck({ log })).violations,
];
for (const violation of violations) console.error(`invariant broken: ${violation}`);
console.log(violations.length === 0 ? '\nall invariants held' : '\nINVARIANTS BROKEN');
if (violations.length > 0) process.exitCode = 1;
