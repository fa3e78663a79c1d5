/**
 * Fault matrix, executions that end while a step's change is in flight: a release or a rollback
 * stopped just after one of its steps changed a service or the traffic (UpdateService, ModifyRule),
 * whose answer was lost (the SDK sends it again when its 10 s timeout fires). AWS does not stop a
 * Lambda with its execution, so the step runs on after the stop: it must see the halt and undo its
 * change, or the recovery must wait for it (its service claim) before it decides. stop-steps.test.ts
 * stops executions only as they enter a state, and never saw a step outlive its execution.
 *
 * The recovery may wait for the colour traffic goes back to (up to 15 minutes, recovery.ts): I8 is
 * checked at that bound and a reconciler tick, not at two periods; then I1-I7 once the world drains.
 */
import { describe, expect, it } from 'vitest';
import { releaseIdFor } from '../../functions/shared/requests.ts';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import {
  changeInFlight,
  runIn,
  type ScenarioName,
  scenarios,
  stopWithChangeInFlight,
} from '../support/fault-matrix.ts';
import { RECOVERY_WAIT_BOUND_SECONDS, recoveredWithin } from '../support/invariants.ts';
import { startWorld } from '../support/runtime.ts';

const releaseId = releaseIdFor('checkout-api', EcrModel.digestOf('checkout-api', 'v2'));

interface Case {
  /** The Task state whose change is in flight. */
  state: string;
  service: 'ECS' | 'ELBv2';
  operation: 'UpdateService' | 'ModifyRule';
  /** The release's scenario; `rollback`: v2 is promoted first, and the rollback's step is the one. */
  scenario: ScenarioName;
}

const cases: Case[] = [
  // The release's steps that change a service or the weights.
  { state: 'DeployInactiveColour', service: 'ECS', operation: 'UpdateService', scenario: 'happy' },
  { state: 'ShiftTraffic', service: 'ELBv2', operation: 'ModifyRule', scenario: 'happy' },
  { state: 'ScaleDownOldColour', service: 'ECS', operation: 'UpdateService', scenario: 'happy' },
  // The alarm's fast rollback put the weights back; RollBackTraffic scales green down.
  { state: 'RollBackTraffic', service: 'ECS', operation: 'UpdateService', scenario: 'alarm' },
  { state: 'CleanUpInactiveColour', service: 'ECS', operation: 'UpdateService', scenario: 'bad image' },
  // A rollback's (slow path: blue was scaled down at promotion).
  { state: 'DeployPrevious', service: 'ECS', operation: 'UpdateService', scenario: 'rollback' },
  { state: 'ShiftTraffic', service: 'ELBv2', operation: 'ModifyRule', scenario: 'rollback' },
  { state: 'ScaleDownOldColour', service: 'ECS', operation: 'UpdateService', scenario: 'rollback' },
];

describe('fault matrix: an execution stopped while a step’s change is in flight', () => {
  it.each(cases)('$scenario: stopped as $state’s $operation lands', async (c) => {
    const rollback = c.scenario === 'rollback';
    const w = await startWorld({
      faults: rollback
        ? {}
        : { ...scenarios[c.scenario].plan, ...changeInFlight(c.state, c.service, c.operation) },
    });
    const result = await runIn(
      `${c.scenario}: stopped as ${c.state}'s ${c.operation} lands`,
      { rt: w.rt, target: w.checkout },
      'any',
      async () => {
        w.rt.push('checkout-api', 'v2');
        let id = releaseId;
        if (rollback) {
          await w.rt.settle();
          await w.rt.drain();
          w.rt.faults.arm(changeInFlight(c.state, c.service, c.operation));
          id = w.rt.startRollback({ target: 'checkout-api', reason: `fault matrix: ${c.state} in flight` });
        }
        expect(
          await stopWithChangeInFlight(w.rt, id, c.state, `${c.service}.${c.operation}`),
          `${c.state}'s ${c.operation} goes out`,
        ).toBe(true);
        expect(await recoveredWithin(w.rt, w.checkout, [id], RECOVERY_WAIT_BOUND_SECONDS), 'I8').toEqual([]);
        await w.rt.settle();
        return { ids: [id], outcome: (await w.rt.release(id))?.outcome };
      },
    );
    expect(result.broken, JSON.stringify(result)).toEqual([]);
  });
});
