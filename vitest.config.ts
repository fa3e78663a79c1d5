import { availableParallelism } from 'node:os';
import { defaultExclude, defineConfig } from 'vitest/config';

/**
 * Test files whose local runtimes all run one targets file, by that file. The functions read their
 * config once per process, at cold start (local/runtime.ts), so only files of one targets file can
 * share a worker process: each group is a project with `isolate: false`, whose workers run file
 * after file with the SDK, dynalite and the functions already loaded and warm. Starting a fresh
 * process per file cost a third of these files' CPU. The unit files that start no runtime and mock
 * nothing share one the same way (a process each cost about as much as their tests). Every other
 * file (a targets file of its own, SDK mocks, only other processes) runs in a process of its own.
 */
const byTargets: Record<string, string[]> = {
  // test/fixtures/targets.json (startWorld, runCase)
  fixture: [
    'test/faults/events.test.ts',
    'test/faults/lost-answers.test.ts',
    'test/faults/property.test.ts',
    'test/faults/release-steps.test.ts',
    'test/faults/rollback-at-steps.test.ts',
    'test/faults/rollback-steps.test.ts',
    'test/faults/stop-steps.test.ts',
    'test/local/aws-defaults.test.ts',
    'test/local/dynamo-latency.test.ts',
    'test/local/execution-environments.test.ts',
    'test/local/lock-windows.test.ts',
    'test/local/release-events.test.ts',
    'test/local/release.test.ts',
    'test/local/retry.test.ts',
    'test/local/rollback-wins.test.ts',
    'test/local/rollback.test.ts',
    'test/local/recovery-claims.test.ts',
    'test/local/rollback-stranded.test.ts',
    'test/faults/stop-in-flight.test.ts',
    'test/local/same-seed.test.ts',
    'test/local/task-definition.test.ts',
    'test/unit/steps.test.ts',
  ],
  // local/targets.json, the shipped one
  shipped: [
    'test/iam/iam.test.ts',
    'test/local/demo.test.ts',
    'test/local/fast-rollback.test.ts',
    'test/local/progressive.test.ts',
    'test/local/recovery.test.ts',
  ],
  // test/fixtures/targets-approval.json (startApprovalWorld, approvalWorlds)
  approval: [
    'test/browser/approval-page.test.ts',
    'test/faults/approval-steps.test.ts',
    'test/local/approval-trust.test.ts',
    'test/local/approval.test.ts',
    'test/local/bad-input.test.ts',
    'test/local/plan.test.ts',
  ],
  // local/targets.json with a freeze window, written once per process (test/support/freeze-world.ts)
  freeze: ['test/faults/freeze-steps.test.ts', 'test/local/freeze.test.ts'],
  analysis: ['test/faults/analysis-steps.test.ts', 'test/local/analysis.test.ts'],
  hooks: ['test/faults/hook-steps.test.ts', 'test/local/hooks.test.ts'],
  promotion: ['test/faults/promotion-steps.test.ts', 'test/local/promotion.test.ts'],
  // No runtime, no SDK mocks, no environment of their own: pure functions, models and ASL checks.
  unit: [
    'test/asl/release-asl.test.ts',
    'test/asl/rollback-asl.test.ts',
    'test/unit/analysis.test.ts',
    'test/unit/asl-validation.test.ts',
    'test/unit/approval-details.test.ts',
    'test/unit/cli-imports.test.ts',
    'test/unit/clock.test.ts',
    'test/unit/config.test.ts',
    'test/unit/ecs-model.test.ts',
    'test/unit/execution-environments.test.ts',
    'test/unit/elbv2-model.test.ts',
    'test/unit/examples.test.ts',
    'test/unit/faults.test.ts',
    'test/unit/group.test.ts',
    'test/unit/hooks.test.ts',
    'test/unit/lint-ignores.test.ts',
    'test/unit/mann-whitney.test.ts',
    'test/unit/progressive.test.ts',
    'test/unit/promotion.test.ts',
    'test/unit/rate-limits.test.ts',
    'test/unit/record-pusher.test.ts',
    'test/unit/signing.test.ts',
    'test/unit/soak.test.ts',
  ],
};

export const config = defineConfig({
  test: {
    setupFiles: ['test/setup.ts'],
    // Prints `faults: N cases, N passed` after the fault-injection matrix and property run.
    // Teardowns run in reverse: the IAM check last, so a failing check still lets the fault summary print.
    // The CLI and the demo are bundled once for the files that spawn them (test/support/cli-bundle.ts).
    globalSetup: [
      'test/support/iam-summary.ts',
      'test/support/fault-summary.ts',
      'test/support/cli-bundle.ts',
    ],
    // vitest's default is one worker fewer than the cores: one worker on the 2-core machines CI uses.
    // The local runtime's cases are CPU-bound and independent, so two workers share 2 cores well.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // Concurrent tests (the CLI file: each spawns its own processes) two at a time, not five: on two
    // cores, more only starves the other worker.
    maxConcurrency: 2,
    // The local runtime attributes each AWS call to the function making it through AsyncLocalStorage
    // (local/faults.ts). On Node 22 that rides on async hooks, which tax every promise; this flag
    // (Node 24's default) makes it a context frame instead: 5 % of a local release's CPU.
    execArgv: ['--experimental-async-context-frame'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Projects run in name order, each one's files longest first: the isolated files (the longest
    // two among them) first, then the groups.
    projects: [
      {
        extends: true,
        test: {
          name: 'isolated',
          include: ['test/**/*.test.ts'],
          exclude: [...defaultExclude, ...Object.values(byTargets).flat()],
        },
      },
      ...Object.entries(byTargets).map(([name, files]) => ({
        extends: true,
        test: {
          name: `shared: ${name} targets`,
          include: files,
          isolate: false,
          // A runtime a failed test left active must not fail the next file in the worker.
          setupFiles: ['test/support/shared-worker.ts'],
        },
      })),
    ],
  },
});

// vitest looks for a default export; biome's noDefaultExport is relaxed for this file only.
export default config;
