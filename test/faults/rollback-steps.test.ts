/**
 * Fault matrix, rollback state machine: after a clean release, an ops rollback (slow path: blue
 * was scaled down) with each step fault on each of its steps. It must still put v1 back on blue,
 * with I1-I7 holding.
 */
import { describe, expect, it } from 'vitest';
import { rollbackDefinitionText, taskStatesOf } from '../../state-machines/definitions.ts';
import { groupStates, runCase, scenarios, stepFaults } from '../support/fault-matrix.ts';

/**
 * Runs only when the rollback itself fails (the release matrix covers the same function), or only
 * for a group (test/faults/group-steps.test.ts rolls a promoted group back).
 */
const notOnTheSlowPath = new Set(['CleanUpInactiveColour', ...groupStates]);
const states = taskStatesOf(rollbackDefinitionText(), [...notOnTheSlowPath]);

describe('fault matrix: rollback steps', () => {
  it('covers the Task states of rollback.asl.json on the slow path', () => {
    expect(states).toEqual(expect.arrayContaining(['PlanRollback', 'DeployPrevious', 'ShiftTraffic']));
  });

  describe.each(states)('%s', (state) => {
    it.each(Object.keys(stepFaults) as (keyof typeof stepFaults)[])('rollback + %s', async (fault) => {
      const result = await runCase(`rollback ${state} × ${fault}`, 'rollback', stepFaults[fault](state));
      expect(result.fired.length, 'the fault fired').toBeGreaterThan(0);
      expect(result.broken, JSON.stringify(result)).toEqual([]);
      expect(result.outcome).toBe(scenarios.rollback.outcome);
    });
  });
});
