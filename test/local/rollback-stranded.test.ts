/**
 * An ops rollback after a release ended RollbackFailed with its new version still taking traffic
 * (stranded): the rollback undoes that release, and only it (found by review of ac5f06e).
 * test/local/recovery-claims.test.ts has the plain case (v1 back after v2 stranded).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { releaseIdFor } from '../../functions/shared/requests.ts';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import { liveWeights } from '../../local/scenarios.ts';
import { changeInFlight } from '../support/fault-matrix.ts';
import { serviceOf, setWeightsByHand, startWorld, type TestWorld } from '../support/runtime.ts';

let w: TestWorld | undefined;
afterEach(async () => {
  await w?.rt.dispose();
  w = undefined;
});

const healthy = (t: TestWorld, colour: 'blue' | 'green') =>
  t.rt.account.elbv2.healthyTargets(t.checkout.traffic.targetGroups[colour]).length;

/** ScaleDownOldColour's UpdateService lands, and its answer is lost (the SDK tries again 10 s later). */
const lostScaleDown = changeInFlight('ScaleDownOldColour', 'ECS', 'UpdateService');

const ended = async (t: TestWorld, id: string, seconds: number) =>
  t.rt.runUntil(async () => (await t.rt.release(id))?.outcome !== undefined, seconds);

/**
 * v2 promoted on green (r1); then v3 released to blue and stopped as green's scale-down lands, while
 * v2's tasks fail their health checks: green cannot take traffic back, so v3 (r2) is stranded on
 * blue, RollbackFailed.
 */
const promotedThenStranded = async () => {
  w = await startWorld();
  const t = w;
  t.rt.push('checkout-api', 'v2');
  await t.rt.settle();
  await t.rt.drain();
  const r1 = releaseIdFor('checkout-api', EcrModel.digestOf('checkout-api', 'v2'));
  expect((await t.rt.release(r1))?.outcome).toBe('Promoted');
  const v2 = serviceOf(t, 'green')?.taskDefinition;
  t.rt.faults.arm(lostScaleDown);
  const r2 = releaseIdFor('checkout-api', EcrModel.digestOf('checkout-api', 'v3'));
  t.rt.push('checkout-api', 'v3');
  expect(await t.rt.runUntil(() => serviceOf(t, 'green')?.desiredCount === 0)).toBe(true);
  t.rt.account.faults.unhealthyTags.add('v2');
  t.rt.stopExecution(r2);
  expect(await ended(t, r2, 1200)).toBe(true);
  expect((await t.rt.release(r2))?.outcome).toBe('RollbackFailed');
  expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 100, green: 0 });
  const failed = () => t.rt.account.sns.published.filter((m) => m.subject?.endsWith(': RollbackFailed'));
  expect(await t.rt.runUntil(() => failed().length > 0, 60)).toBe(true);
  return { t, r1, r2, v2, notice: failed().at(-1)?.message };
};

describe('an ops rollback of a stranded release', () => {
  it('traffic put back by hand first: the rollback finds nothing of the stranded release to undo, and does not undo the release before it', async () => {
    const { t, r2, v2, notice } = await promotedThenStranded();
    expect(notice).toContain(
      `What to do: once green can serve again, \`switchyard rollback --target checkout-api\` puts the traffic still on blue back on green and scales blue down (it undoes ${r2}; once no traffic is on blue, there is nothing of it to undo).`,
    );
    t.rt.account.faults.unhealthyTags.delete('v2');
    expect(await t.rt.runUntil(() => healthy(t, 'green') === 4, 1200)).toBe(true);
    // The operator puts v2 back by hand, then asks for a rollback anyway.
    setWeightsByHand(t, { blue: 0, green: 100 });
    const rollback = t.rt.startRollback({ target: 'checkout-api', reason: 'as the notice says' });
    expect(await ended(t, rollback, 3600)).toBe(true);
    await t.rt.settle();
    // Before: it undid r1 (v2), and v1 served: two versions back, nobody asked for it.
    expect(await t.rt.release(rollback)).toMatchObject({
      outcome: 'Aborted',
      error: {
        Error: 'NothingToRollBack',
        Cause: `traffic is on green, not on blue: ${r2} ended RollbackFailed and its traffic has been moved back since; nothing of it to roll back`,
      },
    });
    expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 0, green: 100 });
    expect(serviceOf(t, 'green')?.taskDefinition).toBe(v2);
    expect(serviceOf(t, 'green')?.desiredCount).toBe(4);
  });

  it('the old colour only partly healthy when the rollback plans: not the fast path, and all traffic moves only onto a whole colour', async () => {
    const { t, r2 } = await promotedThenStranded();
    t.rt.account.faults.unhealthyTags.delete('v2');
    expect(await t.rt.runUntil(() => healthy(t, 'green') >= 1 && healthy(t, 'green') < 4, 1200)).toBe(true);
    const rollback = t.rt.startRollback({ target: 'checkout-api', reason: 'now' });
    let secondsUnderstaffed = 0;
    for (let second = 0; second < 900; second++) {
      if (liveWeights(t.rt, t.checkout).green === 100 && healthy(t, 'green') < 4) secondsUnderstaffed++;
      if ((await t.rt.release(rollback))?.outcome) break;
      await t.rt.wait(1);
    }
    // Before: the fast path (one healthy target was enough), all traffic on green with 1-3 of 4 healthy for 32 s.
    expect(await t.rt.release(rollback)).toMatchObject({
      outcome: 'RolledBack',
      rollbackOf: r2,
      rollbackPath: 'slow',
    });
    expect(secondsUnderstaffed).toBe(0);
    expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 0, green: 100 });
    expect(healthy(t, 'green')).toBe(4);
  });

  it('a later release that went back (RolledBack) does not hide it: the rollback still undoes the stranded release', async () => {
    const { t, r2, v2 } = await promotedThenStranded();
    t.rt.account.faults.unhealthyTags.delete('v2');
    // v3 serves on blue, unpromoted. A fix, v4, goes to green and is stopped once it has traffic.
    const r3 = releaseIdFor('checkout-api', EcrModel.digestOf('checkout-api', 'v4'));
    t.rt.push('checkout-api', 'v4');
    expect(await t.rt.runUntil(() => liveWeights(t.rt, t.checkout).green > 0, 3600)).toBe(true);
    t.rt.stopExecution(r3);
    expect(await ended(t, r3, 1200)).toBe(true);
    expect((await t.rt.release(r3))?.outcome).toBe('RolledBack');
    await t.rt.settle();
    expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 100, green: 0 });
    const rollback = t.rt.startRollback({ target: 'checkout-api', reason: 'v3 must go' });
    expect(await ended(t, rollback, 3600)).toBe(true);
    await t.rt.settle();
    // Before: NothingToRollBack ("traffic is on blue, not on green where r1 put it"), v3 serving on.
    expect(await t.rt.release(rollback)).toMatchObject({ outcome: 'RolledBack', rollbackOf: r2 });
    expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 0, green: 100 });
    expect(serviceOf(t, 'green')?.taskDefinition).toBe(v2);
  });
});
