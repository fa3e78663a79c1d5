/**
 * Property run: fast-check draws random fault schedules (one to four faults, each on a random step
 * or event, striking one to five times, or an operator stopping the release or rolling back as it
 * enters a step) across a release of one of the scenarios, and checks the invariants I1-I7 after
 * each. A failure prints the seed and the schedule; replay it with
 * `SWITCHYARD_FAULT_SEED=<seed> npx vitest run test/faults/property.test.ts`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FaultPlan } from '../../local/faults.ts';
import { runCase, type ScenarioName } from '../support/fault-matrix.ts';

const releaseSteps = [
  'AcquireLock',
  'Validate',
  'BackupDatabase',
  'WaitForSnapshot',
  'DeployInactiveColour',
  'WaitForServiceStable',
  'CheckHealth',
  'ShiftTraffic',
  'Bake',
  'ScaleDownOldColour',
  'CleanUpInactiveColour',
  'RollBackTraffic',
  'RecordOutcome',
  'ReleaseLock',
  'Notify',
];
/** What an operator may do as the release enters a state. */
const operatorSteps = releaseSteps.filter((s) => !['CleanUpInactiveColour', 'RollBackTraffic'].includes(s));
const detailTypes = [
  'ECR Image Action',
  'RDS DB Snapshot Event',
  'ECS Deployment State Change',
  'CloudWatch Alarm State Change',
];

const fault: fc.Arbitrary<FaultPlan> = fc.oneof(
  fc
    .record({
      state: fc.constantFrom(...releaseSteps),
      error: fc.constantFrom(
        { error: 'InternalFailure', status: 500 },
        { error: 'ThrottlingException', status: 400 },
        { error: 'TimeoutError', status: 400, mode: 'timeout' as const },
      ),
      times: fc.integer({ min: 1, max: 5 }),
    })
    .map(({ state, error, times }) => ({ api: [{ service: '*', operation: '*', state, times, ...error }] })),
  fc
    .record({
      state: fc.constantFrom(...releaseSteps),
      kind: fc.constantFrom('crash-after-effect' as const, 'timeout' as const),
      times: fc.integer({ min: 1, max: 2 }),
    })
    .map((f) => ({ lambda: [f] })),
  fc
    .record({
      detailType: fc.constantFrom(...detailTypes),
      action: fc.constantFrom('drop' as const, 'duplicate' as const, 'delay' as const),
      times: fc.integer({ min: 1, max: 3 }),
    })
    .map((f) => ({ events: [{ ...f, delaySeconds: 90 }] })),
  fc
    .record({
      state: fc.constantFrom(...operatorSteps),
      action: fc.constantFrom('stop' as const, 'rollback' as const),
    })
    .map((f) => ({ operator: [{ ...f, times: 1 }] })),
);

/** Several faults in one plan. */
const schedule = fc.array(fault, { minLength: 1, maxLength: 4 }).map(
  (plans): FaultPlan => ({
    api: plans.flatMap((p) => p.api ?? []),
    lambda: plans.flatMap((p) => p.lambda ?? []),
    events: plans.flatMap((p) => p.events ?? []),
    operator: plans.flatMap((p) => p.operator ?? []),
  }),
);

const seed = Number(process.env.SWITCHYARD_FAULT_SEED ?? 20261123);
// More runs for a longer hunt: SWITCHYARD_FAULT_RUNS=500.
const runs = Number(process.env.SWITCHYARD_FAULT_RUNS ?? 24);

describe('fault schedules drawn at random (fast-check)', () => {
  it(
    `keep I1-I7 for every drawn schedule (seed ${seed}, ${runs} runs)`,
    async () => {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom<ScenarioName>('happy', 'bad image', 'alarm'),
          schedule,
          async (scenario, plan) => {
            n++;
            const result = await runCase(`property #${n} ${scenario}`, scenario, plan, 'any');
            // A storm of faults may legitimately change the outcome (retries run out); the invariants
            // must hold whatever the outcome is.
            expect(result.broken, JSON.stringify({ scenario, plan, result })).toEqual([]);
          },
        ),
        { seed, numRuns: runs, endOnFailure: true },
      );
      expect(n).toBeGreaterThanOrEqual(runs);
    },
    runs * 5000,
  );
});
