// The kit against every correct implementation in the repository: core's budgets and the
// outside controls through suite(), the rest through the check functions.
import { describe, it, test } from 'vitest';
import { suite } from '../src/index.js';
import { controlChecks, controlSuites } from './controls.js';

for (const spec of controlSuites) suite({ ...spec, test, describe } as Parameters<typeof suite>[0]);

describe('other correct subjects', () => {
  for (const c of controlChecks) it(`${c.name} passes`, () => c.run({}), 120_000);
});
