import { defineConfig } from 'vitest/config';

/**
 * `npm run test:conformance`: every step's real handler against moto, an AWS emulator nobody here
 * wrote (test/conformance/). Not part of `npm test`; `.ci/run` runs it after.
 */
export const config = defineConfig({
  test: {
    include: ['test/conformance/**/*.conformance.ts'],
    setupFiles: ['test/setup.ts'],
    globalSetup: ['test/conformance/moto.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});

// vitest looks for a default export; biome's noDefaultExport is relaxed for this file only.
export default config;
