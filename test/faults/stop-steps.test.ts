/**
 * Fault matrix, executions that end without finishing: a release or a rollback stopped
 * (StopExecution) as it enters each of its Task states (a release that hits its execution timeout
 * is in freeze-steps.test.ts, whose canary world it uses). None of its own clean-up runs. Within two reconciler periods (I8) the target must be
 * free, traffic 100% on one colour and the record terminal; after the world drains, I1-I7 hold.
 */
import { describe, expect, it } from 'vitest';
import { releaseIdFor } from '../../functions/shared/requests.ts';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import type { LocalRuntime } from '../../local/runtime.ts';
import { rollbackDefinitionText, taskStatesOf } from '../../state-machines/definitions.ts';
import {
  fixtureReleaseStates,
  groupStates,
  runIn,
  type ScenarioName,
  scenarios,
} from '../support/fault-matrix.ts';
import { RECOVERY_BOUND_SECONDS, recoveryBroken } from '../support/invariants.ts';
import { startWorld } from '../support/runtime.ts';

const releaseId = releaseIdFor('checkout-api', EcrModel.digestOf('checkout-api', 'v2'));
const releaseStates = fixtureReleaseStates();
const scenarioOf: Record<string, ScenarioName> = {
  CleanUpInactiveColour: 'bad image',
  RollBackTraffic: 'alarm',
};
// A group's states are stopped at in test/faults/group-steps.test.ts.
const rollbackStates = taskStatesOf(rollbackDefinitionText(), ['CleanUpInactiveColour', ...groupStates]);

const entered = (rt: LocalRuntime, name: string, state: string) =>
  rt.executions().some((e) => e.name === name && e.history.some((h) => h.state === state));

/** Stops `name` once it enters `state`, then lets two reconciler periods pass and checks I8. */
const stopAt = async (rt: LocalRuntime, name: string, state: string) => {
  expect(await rt.runUntil(() => entered(rt, name, state)), `${name} reaches ${state}`).toBe(true);
  rt.stopExecution(name);
  rt.faults.fired.push(`stopped at ${state}`);
  await rt.wait(RECOVERY_BOUND_SECONDS);
};

describe('fault matrix: a release stopped at each of its Task states', () => {
  it.each(releaseStates)('release stopped at %s', async (state) => {
    const scenario = scenarioOf[state] ?? 'happy';
    const w = await startWorld({ faults: scenarios[scenario].plan });
    const result = await runIn(
      `release stopped at ${state}`,
      { rt: w.rt, target: w.checkout },
      'any',
      async () => {
        w.rt.push('checkout-api', 'v2');
        await stopAt(w.rt, releaseId, state);
        const late = await recoveryBroken(w.rt, w.checkout, [releaseId]);
        expect(late, 'I8').toEqual([]);
        await w.rt.settle();
        return { ids: [releaseId], outcome: (await w.rt.release(releaseId))?.outcome };
      },
    );
    expect(result.broken, JSON.stringify(result)).toEqual([]);
  });
});

describe('fault matrix: a rollback stopped at each of its Task states', () => {
  it.each(rollbackStates)('rollback stopped at %s', async (state) => {
    const w = await startWorld();
    const result = await runIn(
      `rollback stopped at ${state}`,
      { rt: w.rt, target: w.checkout },
      'any',
      async () => {
        w.rt.push('checkout-api', 'v2');
        await w.rt.settle();
        await w.rt.drain();
        const rollbackId = w.rt.startRollback({
          target: 'checkout-api',
          reason: `fault matrix: stop at ${state}`,
        });
        await stopAt(w.rt, rollbackId, state);
        const late = await recoveryBroken(w.rt, w.checkout, [rollbackId]);
        expect(late, 'I8').toEqual([]);
        await w.rt.settle();
        // The release was promoted before; the rollback's record is the one that says what serves now.
        return { ids: [rollbackId], outcome: (await w.rt.release(rollbackId))?.outcome };
      },
    );
    expect(result.broken, JSON.stringify(result)).toEqual([]);
  });
});
