import { defineConfig } from 'vitest/config';

// One runner for the whole repo so that `npm test` yields one report (.reports/vitest.json)
// whose counts .ci/run prints. Workspace packages resolve to their TypeScript source
// through the `source` export condition, so tests never run against a stale build.
// Vitest runs tests in Vite's SSR environment, whose resolver reads `ssr.resolve`, not
// `resolve`; the condition must be set there or packages silently resolve to dist/.
const resolve = { conditions: ['source'] };
const ssr = { resolve: { conditions: ['source', 'module', 'node', 'development|production'] } };
const unitGlobs = ['{proto,packages,services,detectors}/*/test/**/*.test.ts', '{proto,detectors}/test/**/*.test.ts'];
const slowGlobs = ['**/*.int.test.ts', 'test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'];

export default defineConfig({
  resolve,
  ssr,
  test: {
    reporters: ['default', ['json', { outputFile: '.reports/vitest.json' }]],
    projects: [
      {
        resolve,
        ssr,
        test: {
          name: 'unit',
          include: unitGlobs,
          exclude: ['**/node_modules/**', ...slowGlobs],
          // Unit files run beside the integration files on two cores; the 5 s default
          // turned a loaded CI run into a false failure. A hung test still fails.
          testTimeout: 30_000,
        },
      },
      {
        resolve,
        ssr,
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
        ssr,
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
