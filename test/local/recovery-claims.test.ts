/**
 * The recovery decides only once the ended execution's steps are done with the target's services.
 * AWS does not stop a Lambda with its execution: ScaleDownOldColour whose UpdateService landed but
 * whose answer was lost retries it 10 s later, sees the halt, and scales the old colour back up
 * (halt.ts). The recovery used to decide at once, on a read of the old colour that ECS had not
 * updated yet (found by review): RollbackFailed, and the old colour left running with no traffic.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { releaseIdFor } from '../../functions/shared/requests.ts';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import type { FaultPlan } from '../../local/faults.ts';
import { liveWeights } from '../../local/scenarios.ts';
import { startWorld, type TestWorld } from '../support/runtime.ts';

let w: TestWorld | undefined;
afterEach(async () => {
  await w?.rt.dispose();
  w = undefined;
});

const desired = (t: TestWorld, colour: 'blue' | 'green') =>
  t.rt.account.ecs.DescribeServices({
    cluster: t.checkout.ecs.cluster,
    services: [t.checkout.ecs.services[colour]],
  }).services[0]?.desiredCount;

/** ScaleDownOldColour's UpdateService lands, and its answer is lost (the SDK tries again 10 s later). */
const lostScaleDown: FaultPlan = {
  api: [
    {
      service: 'ECS',
      operation: 'UpdateService',
      state: 'ScaleDownOldColour',
      error: 'RequestTimeout',
      mode: 'timeout',
      times: 1,
    },
  ],
};

/** Stopped as `colour`'s scale-down lands; then the recovery's outcome, how long it took, and what is left. */
const stopAsItScalesDown = async (t: TestWorld, id: string, colour: 'blue' | 'green') => {
  // Inside the model's 0.5-3 s range of stale reads: the recovery's first look comes 1.4 s after.
  t.rt.account.ecs.staleReads = { minMs: 1500, maxMs: 3000 };
  expect(await t.rt.runUntil(() => desired(t, colour) === 0)).toBe(true);
  const weightsAtStop = liveWeights(t.rt, t.checkout);
  t.rt.stopExecution(id);
  const stoppedAt = Date.now();
  expect(await t.rt.runUntil(async () => (await t.rt.release(id))?.outcome !== undefined, 1200)).toBe(true);
  const tookSeconds = (Date.now() - stoppedAt) / 1000;
  await t.rt.settle();
  await t.rt.drain();
  return { weightsAtStop, tookSeconds, record: await t.rt.release(id) };
};

describe('the recovery waits for the steps of the ended execution', () => {
  it('a release stopped as its scale-down lands: RolledBack onto blue once it is whole again, green to 0, nothing left running without traffic', async () => {
    w = await startWorld({ faults: lostScaleDown });
    const id = releaseIdFor('checkout-api', EcrModel.digestOf('checkout-api', 'v2'));
    w.rt.push('checkout-api', 'v2');
    const { weightsAtStop, tookSeconds, record } = await stopAsItScalesDown(w, id, 'blue');
    expect(weightsAtStop).toEqual({ blue: 0, green: 100 });

    // The step saw the halt and scaled blue back up: the release did not promote, so it goes back.
    expect(record?.outcome, record?.error?.Cause).toBe('RolledBack');
    expect(liveWeights(w.rt, w.checkout)).toEqual({ blue: 100, green: 0 });
    expect(desired(w, 'blue')).toBe(4);
    expect(desired(w, 'green')).toBe(0);
    expect(w.rt.account.elbv2.healthyTargets(w.checkout.traffic.targetGroups.blue)).toHaveLength(4);
    // Decided after the step was done (its retry 10 s on) and blue whole (tasks started, health
    // checks passed): a few reconciler ticks, not the 15-minute bound.
    expect(tookSeconds).toBeGreaterThan(10);
    expect(tookSeconds).toBeLessThan(300);
    expect(await w.rt.store.getLock('checkout-api')).toBeUndefined();
  });

  it('blue never whole again: the lock stays with the ended release while the recovery waits, then RollbackFailed at the bound, traffic left on green', async () => {
    w = await startWorld({ faults: lostScaleDown });
    const t = w;
    const id = releaseIdFor('checkout-api', EcrModel.digestOf('checkout-api', 'v2'));
    t.rt.push('checkout-api', 'v2');
    expect(await t.rt.runUntil(() => desired(t, 'blue') === 0)).toBe(true);
    // v1's tasks started from now on fail their health checks: blue cannot take traffic back.
    t.rt.account.faults.unhealthyTags.add('v1');
    t.rt.stopExecution(id);
    const stoppedAt = Date.now();
    await t.rt.wait(10 * 60);
    expect((await t.rt.release(id))?.outcome).toBeUndefined();
    expect((await t.rt.store.getLock('checkout-api'))?.owner).toBe(id);
    expect(await t.rt.runUntil(async () => (await t.rt.release(id))?.outcome !== undefined, 1200)).toBe(true);
    const record = await t.rt.release(id);
    expect(record?.outcome).toBe('RollbackFailed');
    expect(record?.error?.Cause).toMatch(/blue is not healthy .* 15 minutes after the execution ended/);
    expect((Date.now() - stoppedAt) / 1000).toBeGreaterThanOrEqual(15 * 60);
    expect((Date.now() - stoppedAt) / 1000).toBeLessThan(17 * 60);
    expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 0, green: 100 });
    // Freed by the same recovery, a moment after it recorded the outcome.
    expect(
      await t.rt.runUntil(async () => (await t.rt.store.getLock('checkout-api')) === undefined, 30),
    ).toBe(true);
  });

  it('a rollback stopped as its scale-down of the bad colour lands: the bad colour ends at 0 (found by review)', async () => {
    w = await startWorld();
    const t = w;
    t.rt.push('checkout-api', 'v2');
    await t.rt.settle();
    await t.rt.drain();
    expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 0, green: 100 });
    // The rollback's own scale-down of green loses its answer (the release's went through).
    t.rt.faults.arm(lostScaleDown);
    const rollbackId = t.rt.startRollback({ target: 'checkout-api', reason: 'v2 is slow' });
    const { record } = await stopAsItScalesDown(t, rollbackId, 'green');

    expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 100, green: 0 });
    expect(record?.outcome, record?.error?.Cause).toBe('RolledBack');
    // v2 (green) carries nothing and runs nothing: not scaled back up behind the recovery's back.
    expect(desired(t, 'green')).toBe(0);
    expect(desired(t, 'blue')).toBe(4);
  });
});
