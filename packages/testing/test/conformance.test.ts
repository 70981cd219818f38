// The kit against every correct implementation in the repository: core's budgets and the
// outside controls through suite(), the rest through the check functions.
import { describe, it, test } from 'vitest';
import { suite } from '../src/index.js';
import { controlChecks, controlSuites } from './controls.js';

// Fewer runs than the default keep the kit's own suite quick; the measurement test runs every
// control under default options on 30 random seeds.
const options = { numRuns: 50 };

for (const spec of controlSuites) {
  suite({ ...spec, test, describe, options: { ...options, ...spec.options } } as Parameters<
    typeof suite
  >[0]);
}

describe('other correct subjects', () => {
  for (const c of controlChecks) it(`${c.name} passes`, () => c.run(options), 120_000);
});
