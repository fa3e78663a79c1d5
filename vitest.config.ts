import { defineConfig } from 'vitest/config';

export const config = defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    // Prints `faults: N cases, N passed` after the fault-injection matrix and property run.
    // Teardowns run in reverse: the IAM check last, so a failing check still lets the fault summary print.
    globalSetup: ['test/support/iam-summary.ts', 'test/support/fault-summary.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});

// vitest looks for a default export; biome's noDefaultExport is relaxed for this file only.
export default config;
