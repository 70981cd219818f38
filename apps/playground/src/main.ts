// The main job: a simulated ingestion-and-summarise pipeline gated by budgetry, run on the
// in-memory budgets. It prints what happened and checks conservation at the end; a broken
// invariant exits non-zero.
import { runScenario } from './scenario.js';

const seed = Number(process.env.BUDGETRY_SEED ?? 42);
const report = await runScenario({ seed, log: (line) => console.log(line) });
if (report.violations.length > 0) {
  for (const violation of report.violations) console.error(`invariant broken: ${violation}`);
  process.exitCode = 1;
}
