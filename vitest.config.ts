import { defineConfig } from 'vitest/config';

// One runner for the whole repo so that `npm test` yields one report (.reports/vitest.json)
// whose counts .ci/run prints. Workspace packages resolve to their TypeScript source
// through the `source` export condition, so tests never run against a stale build.
const resolve = { conditions: ['source'] };
const unitGlobs = ['{proto,packages,services,detectors}/*/test/**/*.test.ts', '{proto,detectors}/test/**/*.test.ts'];
const slowGlobs = ['**/*.int.test.ts', 'test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'];

export default defineConfig({
  resolve,
  test: {
    reporters: ['default', ['json', { outputFile: '.reports/vitest.json' }]],
    projects: [
      {
        resolve,
        test: { name: 'unit', include: unitGlobs, exclude: ['**/node_modules/**', ...slowGlobs] },
      },
      {
        resolve,
        test: {
          name: 'integration',
          include: ['**/*.int.test.ts', 'test/integration/**/*.test.ts'],
          exclude: ['**/node_modules/**'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Real brokers and engines on two cores: one file at a time keeps runs stable.
          fileParallelism: false,
        },
      },
      {
        resolve,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
