/**
 * Fault matrix, lost answers: a SendTaskSuccess or SendTaskFailure that takes effect but whose
 * answer never reaches the caller (it sees a timeout), for each function that resumes parked
 * tasks. The caller must not undo, repeat or strand anything: the release ends as without the
 * fault, with I1-I7 holding. (The lock's hand-over and queue slot: test/local/lock-windows.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import type { FaultPlan } from '../../local/faults.ts';
import { runCase, type ScenarioName, scenarios } from '../support/fault-matrix.ts';

const lost = (folder: string, operation: string): FaultPlan => ({
  api: [
    {
      service: 'SFN',
      operation,
      folder,
      error: 'TimeoutError',
      mode: 'timeout',
      times: 1,
    },
  ],
});
const cases: { folder: string; operation: string; scenario: ScenarioName; also?: FaultPlan }[] = [
  { folder: 'acquire-lock', operation: 'SendTaskSuccess', scenario: 'happy' },
  { folder: 'wait-resume', operation: 'SendTaskSuccess', scenario: 'happy' },
  {
    folder: 'wait-resume',
    operation: 'SendTaskFailure',
    scenario: 'bad image',
    // The deployment fails (at 58 s) a moment before the reconciler's first look at the wait (60 s),
    // which would find it first and answer the wait itself: that look's read of the service fails
    // (each of the SDK's 3 attempts), so the deployment's event answers it.
    also: {
      api: [
        {
          service: 'ECS',
          operation: 'DescribeServices',
          folder: 'reconciler',
          resource: 'checkout-api-green',
          error: 'ServiceUnavailableException',
          status: 503,
          times: 3,
        },
      ],
    },
  },
  {
    folder: 'reconciler',
    operation: 'SendTaskSuccess',
    scenario: 'happy',
    // With the deployment events lost, the reconciler is the one that resumes the wait.
    also: { events: [{ detailType: 'ECS Deployment State Change', action: 'drop', times: 100 }] },
  },
  {
    folder: 'reconciler',
    operation: 'SendTaskFailure',
    scenario: 'alarm',
    also: { events: [{ detailType: 'CloudWatch Alarm State Change', action: 'drop', times: 100 }] },
  },
];

describe('fault matrix: lost answers to SendTask* calls', () => {
  it.each(cases)('$folder $operation ($scenario)', async ({ folder, operation, scenario, also }) => {
    const { api, ...rest } = lost(folder, operation);
    const plan: FaultPlan = { ...rest, ...(also ?? {}), api: [...(api ?? []), ...(also?.api ?? [])] };
    const result = await runCase(`lost answer: ${folder} ${operation}`, scenario, plan);
    expect(
      result.fired.some((f) => f.includes(operation)),
      'the fault fired',
    ).toBe(true);
    expect(result.broken, JSON.stringify(result)).toEqual([]);
    expect(result.outcome).toBe(scenarios[scenario].outcome);
  });
});
