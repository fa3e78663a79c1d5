import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export const config = defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    // Prints `faults: N cases, N passed` after the fault-injection matrix and property run.
    // Teardowns run in reverse: the IAM check last, so a failing check still lets the fault summary print.
    globalSetup: ['test/support/iam-summary.ts', 'test/support/fault-summary.ts'],
    // vitest's default is one worker fewer than the cores: one worker on the 2-core machines CI uses.
    // The local runtime's cases are CPU-bound and independent, so two workers share 2 cores well.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // Concurrent tests (the CLI file: each spawns its own processes) two at a time, not five: on two
    // cores, more only starves the other worker.
    maxConcurrency: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});

// vitest looks for a default export; biome's noDefaultExport is relaxed for this file only.
export default config;
