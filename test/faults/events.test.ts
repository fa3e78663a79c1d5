/**
 * Fault matrix, events: every step that waits on (or starts from) an EventBridge event × a lost
 * event (all of that type), a duplicated one and one delivered late so later events overtake it.
 * Events are hints: the reconciler re-reads AWS, so each case ends as it would have, with I1-I7.
 */
import { describe, expect, it } from 'vitest';
import type { ApiFault } from '../../local/faults.ts';
import { eventFaults, runCase, type ScenarioName, scenarios } from '../support/fault-matrix.ts';

const rows: { step: string; detailType: string; scenario: ScenarioName }[] = [
  { step: 'release trigger', detailType: 'ECR Image Action', scenario: 'happy' },
  { step: 'release WaitForSnapshot', detailType: 'RDS DB Snapshot Event', scenario: 'happy' },
  { step: 'release WaitForServiceStable', detailType: 'ECS Deployment State Change', scenario: 'happy' },
  { step: 'release Bake', detailType: 'CloudWatch Alarm State Change', scenario: 'alarm' },
];
// The slow-path rollback scales the previous colour up on its unchanged task definition: ECS starts
// no new deployment and emits no deployment event, so that wait is resumed by the reconciler alone.

describe('fault matrix: events', () => {
  describe.each(rows)('$step ($detailType)', ({ step, detailType, scenario }) => {
    it.each(Object.keys(eventFaults) as (keyof typeof eventFaults)[])(`${scenario} + %s`, async (fault) => {
      // Without its push event no release starts, and nothing may have changed.
      const expected =
        detailType === 'ECR Image Action' && fault === 'lost events'
          ? 'not started'
          : scenarios[scenario].outcome;
      const result = await runCase(`${step} × ${fault}`, scenario, eventFaults[fault](detailType), expected);
      expect(result.fired.length, 'the fault fired').toBeGreaterThan(0);
      expect(result.broken, JSON.stringify(result)).toEqual([]);
      expect(result.outcome).toBe(expected);
    });
  });
});

/**
 * A failed bake puts the weights back itself, from whichever function claimed it (the alarm event's
 * wait-resume or a reconciler tick). When that write or its read-back fails, RollBackTraffic must
 * still finish the rollback: the release ends RolledBack with I1-I7.
 */
const fastPathFaults: { name: string; operation: string; fault: Omit<ApiFault, 'service' | 'operation'> }[] =
  [
    {
      name: 'write 5xx',
      operation: 'ModifyRule',
      fault: { error: 'InternalFailure', status: 500, times: 5 },
    },
    {
      name: 'write throttled',
      operation: 'ModifyRule',
      fault: { error: 'Throttling', status: 400, times: 5 },
    },
    {
      name: 'write timed out (after taking effect)',
      operation: 'ModifyRule',
      fault: { error: 'TimeoutError', mode: 'timeout', times: 1 },
    },
    {
      name: 'read-back throttled',
      operation: 'DescribeRules',
      fault: { error: 'Throttling', status: 400, times: 5 },
    },
  ];

describe('fault matrix: the fast rollback of a failed bake', () => {
  it.each(fastPathFaults)('alarm + $name', async ({ name, operation, fault }) => {
    const api = ['wait-resume', 'reconciler'].map((folder) => ({
      service: 'ELBv2',
      operation,
      folder,
      ...fault,
    }));
    const result = await runCase(`fast rollback × ${name}`, 'alarm', { api });
    expect(result.fired.length, 'the fault fired').toBeGreaterThan(0);
    expect(result.broken, JSON.stringify(result)).toEqual([]);
    expect(result.outcome).toBe('RolledBack');
  });
});
