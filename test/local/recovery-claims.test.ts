/**
 * The recovery decides only once the ended execution's steps are done with the target's services.
 * AWS does not stop a Lambda with its execution: ScaleDownOldColour whose UpdateService landed but
 * whose answer was lost retries it 10 s later, sees the halt, and scales the old colour back up
 * (halt.ts). The recovery used to decide at once, on a read of the old colour that ECS had not
 * updated yet (found by review): RollbackFailed, and the old colour left running with no traffic.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { run as scaleDown } from '../../functions/scale-down-old-colour/run.ts';
import { recoverExecution } from '../../functions/shared/recovery.ts';
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

const desired = (t: TestWorld, colour: 'blue' | 'green') => serviceOf(t, colour)?.desiredCount;

/** ScaleDownOldColour's UpdateService lands, and its answer is lost (the SDK tries again 10 s later). */
const lostScaleDown = changeInFlight('ScaleDownOldColour', 'ECS', 'UpdateService');

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

/**
 * v2 released, stopped as blue's scale-down lands with its answer lost; v1's tasks started from then
 * on fail their health checks, so blue (scaled back up by the step) cannot take traffic back.
 */
const stoppedWithBlueBroken = async () => {
  w = await startWorld({ faults: lostScaleDown });
  const t = w;
  const id = releaseIdFor('checkout-api', EcrModel.digestOf('checkout-api', 'v2'));
  t.rt.push('checkout-api', 'v2');
  expect(await t.rt.runUntil(() => desired(t, 'blue') === 0)).toBe(true);
  t.rt.account.faults.unhealthyTags.add('v1');
  t.rt.stopExecution(id);
  return { t, id };
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
    const { t, id } = await stoppedWithBlueBroken();
    const stoppedAt = Date.now();
    await t.rt.wait(10 * 60);
    const waiting = await t.rt.release(id);
    expect(waiting?.outcome).toBeUndefined();
    expect((await t.rt.store.getLock('checkout-api'))?.owner).toBe(id);
    // Said, once: the record reads Recovering, and the channels heard why (found by review: it sent
    // nothing for 15 minutes and the record read Running).
    expect(waiting?.status).toBe('Recovering');
    const recovering = t.rt.account.sns.published.filter((m) => m.subject?.endsWith(': recovering'));
    expect(recovering).toHaveLength(1);
    // Worded for the whole wait, not only for what it waited for first (found by review).
    expect(recovering[0]?.message).toMatch(
      /The recovery waits before it puts the target back: while a step of it may still be changing one of the target's services, and up to 15 minutes for the colour it puts traffic back on to be whole again/,
    );
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
    // The notice says what undoes it (a rollback of this release: see the test after next).
    const failed = () => t.rt.account.sns.published.filter((m) => m.subject?.endsWith(': RollbackFailed'));
    expect(await t.rt.runUntil(() => failed().length > 0, 30)).toBe(true);
    expect(failed()).toHaveLength(1);
    expect(failed()[0]?.message).toContain(
      `What to do: once blue can serve again, \`switchyard rollback --target checkout-api\` puts the traffic still on green back on blue and scales green down (it undoes ${id}; once no traffic is on green, there is nothing of it to undo).`,
    );
  });

  it('a rollback asked for while the recovery waits for blue waits too: traffic goes back on blue once whole, and v2 serves nothing (found by review)', async () => {
    w = await startWorld({ faults: lostScaleDown });
    const t = w;
    const id = releaseIdFor('checkout-api', EcrModel.digestOf('checkout-api', 'v2'));
    t.rt.push('checkout-api', 'v2');
    expect(await t.rt.runUntil(() => desired(t, 'blue') === 0)).toBe(true);
    t.rt.stopExecution(id);
    await t.rt.wait(20);
    // Blue is coming back (the step scaled it up again), not whole yet: an operator asks to roll back.
    const rollbackId = t.rt.startRollback({ target: 'checkout-api', reason: 'v2 must go' });
    expect(await t.rt.runUntil(async () => (await t.rt.release(id))?.outcome !== undefined, 900)).toBe(true);
    // Before: the queued rollback ended the wait, the release was RollbackFailed with v2 serving, and
    // the rollback found nothing promoted to undo.
    expect((await t.rt.release(id))?.outcome).toBe('RolledBack');
    await t.rt.settle();
    await t.rt.drain();
    expect((await t.rt.release(rollbackId))?.outcome).toBeDefined();
    expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 100, green: 0 });
    expect(desired(t, 'green')).toBe(0);
    expect(await t.rt.store.getLock('checkout-api')).toBeUndefined();
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

  it('a ScaleDownOldColour that claims blue after the recovery looked for claims sees the halt and changes nothing: blue keeps the traffic it was given, whole (found by review)', async () => {
    w = await startWorld({
      faults: {
        // The step's own invocation hangs (does nothing); the test plays it, with the interleaving forced.
        lambda: [{ state: 'ScaleDownOldColour', kind: 'timeout', times: 1 }],
        events: [{ detailType: 'Step Functions Execution Status Change', action: 'drop', times: 5 }],
      },
    });
    const t = w;
    const id = releaseIdFor('checkout-api', EcrModel.digestOf('checkout-api', 'v2'));
    let input: unknown;
    const lambda = t.rt.lambda as unknown as {
      invoke: (f: string, e: unknown, s?: string) => Promise<unknown>;
    };
    const invoke = lambda.invoke.bind(lambda);
    lambda.invoke = (f, e, s) => {
      if (s === 'ScaleDownOldColour') input = e;
      return invoke(f, e, s);
    };
    t.rt.push('checkout-api', 'v2');
    expect(await t.rt.runUntil(() => input !== undefined)).toBe(true);
    t.rt.stopExecution(id);
    expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 0, green: 100 });
    // The whole recovery runs just before the step's claim (a claim write the SDK retried, say).
    let recovery: Awaited<ReturnType<typeof recoverExecution>> | undefined;
    const store = Object.create(t.deps.store) as typeof t.deps.store;
    store.claimService = async (...args) => {
      if (!recovery) recovery = await recoverExecution(id, 'ABORTED', t.deps);
      return t.deps.store.claimService(...args);
    };
    await expect(t.rt.until(scaleDown(input as never, { ...t.deps, store }))).rejects.toMatchObject({
      name: 'RollbackRequested',
    });
    expect(recovery?.outcome).toBe('RolledBack');
    // For two minutes: all traffic on blue, and blue whole (before: 0 healthy targets for about 65 s).
    const blue = t.checkout.traffic.targetGroups.blue;
    let fewestHealthy = Number.POSITIVE_INFINITY;
    for (let second = 0; second < 120; second++) {
      expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 100, green: 0 });
      fewestHealthy = Math.min(fewestHealthy, t.rt.account.elbv2.healthyTargets(blue).length);
      await t.rt.wait(1);
    }
    expect(fewestHealthy).toBe(4);
    expect(desired(t, 'blue')).toBe(4);
  });

  it.each([
    ['as the release left it', undefined],
    ['split by hand (an operator moved 10% back)', { blue: 10, green: 90 }],
  ])(
    'after a RollbackFailed with v2 left serving, an ops rollback puts v1 back: the release that left its version live is the one undone (found by review): traffic %s',
    async (_, split) => {
      const { t, id } = await stoppedWithBlueBroken();
      const v1 = serviceOf(t, 'blue')?.taskDefinition;
      expect(await t.rt.runUntil(async () => (await t.rt.release(id))?.outcome !== undefined, 1200)).toBe(
        true,
      );
      expect((await t.rt.release(id))?.outcome).toBe('RollbackFailed');
      expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 0, green: 100 });
      if (split) setWeightsByHand(t, split);
      // The operator fixes what broke v1's tasks, and asks for the rollback the release could not do.
      t.rt.account.faults.unhealthyTags.delete('v1');
      const rollbackId = t.rt.startRollback({ target: 'checkout-api', reason: 'v2 must go' });
      expect(
        await t.rt.runUntil(async () => (await t.rt.release(rollbackId))?.outcome !== undefined, 1200),
      ).toBe(true);
      const rollback = await t.rt.release(rollbackId);
      // Before: NothingToRollBack ("… has no Promoted release to roll back"), or TrafficSplit for the
      // split, with v2 serving on.
      expect(rollback?.outcome, rollback?.error?.Cause).toBe('RolledBack');
      expect(rollback?.rollbackOf).toBe(id);
      await t.rt.settle();
      await t.rt.drain();
      expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 100, green: 0 });
      expect(serviceOf(t, 'blue')?.taskDefinition).toBe(v1);
      expect(t.rt.account.elbv2.healthyTargets(t.checkout.traffic.targetGroups.blue)).toHaveLength(4);
      expect(desired(t, 'green')).toBe(0);
      expect(await t.rt.store.getLock('checkout-api')).toBeUndefined();
      // A second rollback (a double click) finds it done; it does not go on to undo the release before.
      const second = t.rt.startRollback({ target: 'checkout-api', reason: 'double click' });
      expect(await t.rt.runUntil(async () => (await t.rt.release(second))?.outcome !== undefined, 600)).toBe(
        true,
      );
      expect(await t.rt.release(second)).toMatchObject({
        outcome: 'Aborted',
        error: {
          Error: 'NothingToRollBack',
          Cause: expect.stringContaining(`already rolled back by ${rollbackId}`),
        },
      });
      expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 100, green: 0 });
    },
  );

  it('a waiting recovery keeps the target though the lock’s 24-hour lease has run out (a release that ran a day): a rollback asked for waits, and the release gets its outcome (found by review)', async () => {
    const { t, id } = await stoppedWithBlueBroken();
    // As if the release had run over a day (a weekend freeze, a long approval, a timed-out execution).
    await t.rt.doc.send(
      new UpdateCommand({
        TableName: t.rt.tables.locks,
        Key: { target: 'checkout-api' },
        UpdateExpression: 'SET leaseExpiresAt = :l',
        ExpressionAttributeValues: { ':l': '2000-01-01T00:00:00.000Z' },
      }),
    );
    await t.rt.wait(120);
    expect((await t.rt.release(id))?.status).toBe('Recovering');
    const rollbackId = t.rt.startRollback({ target: 'checkout-api', reason: 'v2 must go' });
    await t.rt.wait(60);
    // Before: the rollback took the lock over as its owner's (gone), and the release was never finished.
    expect((await t.rt.store.getLock('checkout-api'))?.owner).toBe(id);
    expect(await t.rt.runUntil(async () => (await t.rt.release(id))?.outcome !== undefined, 1200)).toBe(true);
    expect((await t.rt.release(id))?.outcome).toBe('RollbackFailed');
    // The rollback then tries to undo the stranded release (v1 redeployed on blue: its tasks still
    // fail their health checks here), and ends RollbackFailed with nothing moved.
    expect(
      await t.rt.runUntil(async () => (await t.rt.release(rollbackId))?.outcome !== undefined, 4 * 3600),
    ).toBe(true);
    expect(await t.rt.release(rollbackId)).toMatchObject({ outcome: 'RollbackFailed', rollbackOf: id });
    expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 0, green: 100 });
  });
});
