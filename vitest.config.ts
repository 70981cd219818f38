import { existsSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Tests run against TypeScript source: every workspace package exports its `src` under this
// condition, so no build is needed before `vitest run`.
const sourceCondition = '@budgetry/source';

// Type tests: a package with a `test-d` folder has its `test-d/**/*.test-d.ts` files checked by
// tsc (vitest's typecheck mode, against the package's tsconfig.json, which includes `test-d`),
// never run, and reported as tests next to the runtime ones.
const typeTestDir = 'test-d';

const projectDirs = ['packages', 'apps'].flatMap((group) =>
  existsSync(group)
    ? readdirSync(group, { withFileTypes: true })
        .filter(
          (entry) => entry.isDirectory() && existsSync(join(group, entry.name, 'package.json')),
        )
        .map((entry) => join(group, entry.name))
    : [],
);

// Test files run two at a time even on two cores (vitest's default leaves one core to itself,
// so one at a time there): most files spend their time waiting — on timers, Redis, child
// processes and worker threads — and a serial run took half again as long.
const maxWorkers = Math.max(2, availableParallelism() - 1);

// A time limit per fast-check property, for a second pass on another Node version (see the
// setup file); unset, every property runs its full count.
const propertyTimeLimit = process.env.BUDGETRY_PROPERTY_TIME_LIMIT_MS;
const setupFiles = propertyTimeLimit
  ? [fileURLToPath(new URL('./vitest.property-time-limit.ts', import.meta.url))]
  : [];

export default defineConfig({
  resolve: { conditions: [sourceCondition, ...defaultClientConditions] },
  ssr: { resolve: { conditions: [sourceCondition, ...defaultServerConditions] } },
  test: {
    maxWorkers,
    // A test that runs the playground's scenario several times takes a few seconds alone and
    // twice that beside another file on two cores: 5 s (vitest's default) is too close.
    testTimeout: 20_000,
    projects: projectDirs.map((dir) => ({
      extends: true,
      test: {
        name: dir.split('/')[1]!,
        root: dir,
        include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
        execArgv: ['--expose-gc'],
        // The kit's own tests prove it catches broken budgets within its runs: never limited.
        setupFiles: dir === 'packages/testing' ? [] : setupFiles,
        typecheck: {
          enabled: existsSync(join(dir, typeTestDir)),
          include: [`${typeTestDir}/**/*.test-d.ts`],
          tsconfig: 'tsconfig.json',
        },
      },
    })),
  },
});
