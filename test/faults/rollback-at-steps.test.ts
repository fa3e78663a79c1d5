/**
 * Fault matrix, a rollback requested at each Task state of a release (WaitForApproval is in
 * approval-steps, FrozenWatch in freeze-steps): whatever the release is doing, it stops within
 * seconds, and after the world drains I1-I7 hold for the release and the rollback. Also: a
 * rollback while a second release is deploying.
 */
import { describe, expect, it } from 'vitest';
import { releaseIdFor } from '../../functions/shared/requests.ts';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import { fixtureReleaseStates, runIn, type ScenarioName, scenarios } from '../support/fault-matrix.ts';
import { startWorld } from '../support/runtime.ts';

const idOf = (tag: string) => releaseIdFor('checkout-api', EcrModel.digestOf('checkout-api', tag));
const states = fixtureReleaseStates();
const scenarioOf: Record<string, ScenarioName> = {
  CleanUpInactiveColour: 'bad image',
  RollBackTraffic: 'alarm',
};
/** "Within seconds": the release's execution has ended this long after the request, at most. */
const STOPS_WITHIN_SECONDS = 30;

describe('fault matrix: a rollback requested at each state of a release', () => {
  it.each(states)('rollback requested at %s', async (state) => {
    const scenario = scenarioOf[state] ?? 'happy';
    const w = await startWorld({ faults: scenarios[scenario].plan });
    const releaseId = idOf('v2');
    const execution = () => w.rt.executions().find((e) => e.name === releaseId);
    const result = await runIn(
      `rollback requested at ${state}`,
      { rt: w.rt, target: w.checkout },
      'any',
      async () => {
        w.rt.push('checkout-api', 'v2');
        expect(await w.rt.runUntil(() => Boolean(execution()?.history.some((h) => h.state === state)))).toBe(
          true,
        );
        // Entering AcquireLock, the release may not hold the lock yet: then the rollback takes it
        // first, and the release waits behind it as any later push would.
        const holds = (await w.rt.until(w.rt.store.getLock('checkout-api')))?.owner === releaseId;
        const rollbackId = w.rt.startRollback({
          target: 'checkout-api',
          reason: `fault matrix: at ${state}`,
        });
        w.rt.faults.fired.push(`rollback requested at ${state}`);
        if (holds) {
          expect(
            await w.rt.runUntil(() => execution()?.status !== 'RUNNING', STOPS_WITHIN_SECONDS),
            `the release stops within ${STOPS_WITHIN_SECONDS} s`,
          ).toBe(true);
        }
        await w.rt.settle();
        return { ids: [releaseId, rollbackId], outcome: (await w.rt.release(releaseId))?.outcome };
      },
    );
    expect(result.broken, JSON.stringify(result)).toEqual([]);
  });

  it('a rollback while a second release is deploying: the second stops, the first is rolled back', async () => {
    const w = await startWorld();
    const result = await runIn(
      'rollback while a second release deploys',
      { rt: w.rt, target: w.checkout },
      'RolledBack',
      async () => {
        w.rt.push('checkout-api', 'v2');
        await w.rt.settle();
        await w.rt.drain();
        w.rt.push('checkout-api', 'v3');
        const deploying = () =>
          w.rt
            .executions()
            .some((e) => e.name === idOf('v3') && e.history.at(-1)?.state === 'WaitForServiceStable');
        expect(await w.rt.runUntil(deploying)).toBe(true);
        const rollbackId = w.rt.startRollback({ target: 'checkout-api', reason: 'fault matrix: v2 is bad' });
        w.rt.faults.fired.push('rollback while v3 deploys');
        await w.rt.settle();
        expect((await w.rt.release(idOf('v3')))?.outcome).toBe('Aborted');
        return {
          ids: [idOf('v2'), idOf('v3'), rollbackId],
          outcome: (await w.rt.release(rollbackId))?.outcome,
        };
      },
    );
    expect(result.broken, JSON.stringify(result)).toEqual([]);
    expect(result.outcome).toBe('RolledBack');
  });
});
