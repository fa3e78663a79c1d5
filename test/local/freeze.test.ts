/**
 * A freeze window holds weights still but never stops watching: payments-api's canary is held at
 * 10% by a window that begins during its bake (test/support/freeze-world.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime.ts';
import { liveWeights, runningTasks } from '../../local/scenarios.ts';
import {
  frozenAtTenPercent,
  frozenReleaseId as releaseId,
  startFreezeWorld,
  WINDOW_ENDS,
} from '../support/freeze-world.ts';

let rt: LocalRuntime | undefined;
afterEach(async () => {
  await rt?.dispose();
  rt = undefined;
});

const world = async () => {
  const w = await startFreezeWorld();
  rt = w.rt;
  return { rt: w.rt, payments: w.target };
};

describe('a freeze window that begins mid-canary', () => {
  it('keeps watching the held canary: an alarm inside the window rolls it back within minutes, not after the window', async () => {
    const { rt, payments } = await world();
    await frozenAtTenPercent(rt, payments);
    // v2 starts failing half its requests well inside the window.
    await rt.wait(30 * 60);
    const failingFrom = Date.now();
    rt.account.startErrors('v2', 0.5);
    const ok = await rt.runUntil(() => liveWeights(rt, payments).green === 0, 3 * 3600);
    expect(ok).toBe(true);
    const restoredAfter = (Date.now() - failingFrom) / 1000;
    // Before: FreezeWait was a plain Wait, and the failing canary stayed at 10% until 12:00 (2.5 h).
    expect(restoredAfter).toBeLessThanOrEqual(5 * 60);
    expect(Date.now()).toBeLessThan(WINDOW_ENDS);

    await rt.settle();
    const record = await rt.release(releaseId);
    expect(record).toMatchObject({ outcome: 'RolledBack', error: { Error: 'AlarmTriggered' } });
    expect(record?.phases.find((p) => p.name === 'FrozenWatch')).toMatchObject({
      status: 'failed',
      detail: expect.stringContaining('payments-api-5xx'),
    });
    expect(liveWeights(rt, payments)).toEqual({ blue: 100, green: 0 });
    expect(runningTasks(rt, payments).green).toBe(0);
    expect(await rt.store.getLock('payments-api')).toBeUndefined();
  });

  it('with nothing firing, holds the weights until the window ends, then takes the held step and promotes', async () => {
    const { rt, payments } = await world();
    await frozenAtTenPercent(rt, payments);
    await rt.runUntil(() => Date.now() >= WINDOW_ENDS - 60_000);
    expect(liveWeights(rt, payments)).toEqual({ blue: 90, green: 10 });
    await rt.settle();
    const record = await rt.release(releaseId);
    expect(record?.outcome).toBe('Promoted');
    const second = record?.phases.filter((p) => p.name === 'ShiftTraffic').at(-1);
    expect(Date.parse(second?.startedAt ?? '')).toBeGreaterThanOrEqual(WINDOW_ENDS);
    expect(rt.account.sns.published.some((m) => m.subject?.includes('frozen at 10% on green'))).toBe(true);
  });

  it('lets an ops rollback go ahead inside the window, recorded as break-glass', async () => {
    const { rt, payments } = await world();
    await frozenAtTenPercent(rt, payments);
    const requestedAt = Date.now();
    const rollbackId = rt.startRollback({
      target: 'payments-api',
      reason: 'checkout errors',
      by: 'ops@example.com',
    });
    expect(await rt.runUntil(() => liveWeights(rt, payments).green === 0, 3 * 3600)).toBe(true);
    // Before: the rollback queued behind the frozen release and ended Aborted a day later.
    expect(Date.now() - requestedAt).toBeLessThanOrEqual(10_000);
    await rt.settle();
    expect((await rt.release(releaseId))?.outcome).toBe('RolledBack');
    const rollback = await rt.release(rollbackId);
    expect(rollback).toMatchObject({ outcome: 'RolledBack', rollbackPath: 'none' });
    expect(rollback?.phases.find((p) => p.name === 'BreakGlass')?.detail).toContain(
      'rollback inside freeze window "Monday audit"',
    );
    expect(liveWeights(rt, payments)).toEqual({ blue: 100, green: 0 });
  });
});
