/**
 * Setup for the projects whose workers run file after file (vitest.config.ts): what a file left
 * behind dies with its process when it runs alone, so here it is disposed of when the file ends.
 */
import { afterAll } from 'vitest';
import { LocalRuntime } from '../../local/runtime.ts';

afterAll(async () => {
  // A failed or timed-out test may not have reached its dispose(); the next file starts its own.
  await LocalRuntime.active()?.dispose();
});
