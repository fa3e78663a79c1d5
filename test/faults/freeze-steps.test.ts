/**
 * Fault matrix, freeze holds: payments-api's canary is held at 10% by a freeze window that begins
 * during its bake (test/support/freeze-world.ts). Every step fault on FrozenWatch must still end
 * Promoted once the window ends; an alarm inside the window, or an ops rollback during it, must
 * end RolledBack; I1-I7 hold throughout.
 */
import { describe, expect, it } from 'vitest';
import { runIn, stepFaults } from '../support/fault-matrix.ts';
import { frozenAtTenPercent, frozenReleaseId, startFreezeWorld } from '../support/freeze-world.ts';
import { RECOVERY_BOUND_SECONDS, recoveryBroken } from '../support/invariants.ts';

describe('fault matrix: a freeze window that begins mid-canary', () => {
  it.each(Object.keys(stepFaults) as (keyof typeof stepFaults)[])('FrozenWatch × %s', async (fault) => {
    const world = await startFreezeWorld(stepFaults[fault]('FrozenWatch'));
    const result = await runIn(`freeze FrozenWatch × ${fault}`, world, 'Promoted', async () => {
      world.rt.push('payments-api', 'v2');
      await world.rt.settle();
      return { ids: [frozenReleaseId], outcome: (await world.rt.release(frozenReleaseId))?.outcome };
    });
    expect(result.fired.length, 'the fault fired').toBeGreaterThan(0);
    expect(result.broken, JSON.stringify(result)).toEqual([]);
    expect(result.outcome).toBe('Promoted');
  });

  it('an alarm inside the window: RolledBack', async () => {
    const world = await startFreezeWorld();
    const result = await runIn('freeze alarm inside the window', world, 'RolledBack', async () => {
      await frozenAtTenPercent(world.rt, world.target);
      await world.rt.wait(20 * 60);
      world.rt.account.startErrors('v2', 0.5);
      world.rt.faults.fired.push('errors started inside the freeze window');
      await world.rt.settle();
      return { ids: [frozenReleaseId], outcome: (await world.rt.release(frozenReleaseId))?.outcome };
    });
    expect(result.broken, JSON.stringify(result)).toEqual([]);
    expect(result.outcome).toBe('RolledBack');
  });

  it('an ops rollback inside the window: the release and the rollback end RolledBack', async () => {
    const world = await startFreezeWorld();
    const result = await runIn('freeze ops rollback inside the window', world, 'RolledBack', async () => {
      await frozenAtTenPercent(world.rt, world.target);
      const rollbackId = world.rt.startRollback({ target: 'payments-api', reason: 'fault matrix: freeze' });
      world.rt.faults.fired.push('rollback requested inside the freeze window');
      await world.rt.settle();
      expect((await world.rt.release(frozenReleaseId))?.outcome).toBe('RolledBack');
      return { ids: [frozenReleaseId, rollbackId], outcome: (await world.rt.release(rollbackId))?.outcome };
    });
    expect(result.broken, JSON.stringify(result)).toEqual([]);
    expect(result.outcome).toBe('RolledBack');
  });
});

describe('fault matrix: an execution that times out', () => {
  it('a canary release past its execution timeout: recovered within two periods, RolledBack', async () => {
    // The stack's timeout is 14 days; this world's is 8 minutes, inside the canary's 10-minute bake.
    const world = await startFreezeWorld(undefined, { executionTimeoutSeconds: 8 * 60 });
    const result = await runIn('release execution timed out', world, 'RolledBack', async () => {
      world.rt.push('payments-api', 'v2');
      const timedOut = () =>
        world.rt.executions().find((e) => e.name === frozenReleaseId)?.status === 'TIMED_OUT';
      expect(await world.rt.runUntil(timedOut, 3600)).toBe(true);
      world.rt.faults.fired.push('execution timed out');
      await world.rt.wait(RECOVERY_BOUND_SECONDS);
      expect(await recoveryBroken(world.rt, world.target, [frozenReleaseId]), 'I8').toEqual([]);
      await world.rt.settle();
      const record = await world.rt.release(frozenReleaseId);
      expect(record?.error?.Error).toBe('ExecutionTimedOut');
      return { ids: [frozenReleaseId], outcome: record?.outcome };
    });
    expect(result.broken, JSON.stringify(result)).toEqual([]);
    expect(result.outcome).toBe('RolledBack');
  });
});
