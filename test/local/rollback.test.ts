/** Ops rollbacks through the rollback state machine, in the simulated account. */
import { afterEach, describe, expect, it } from 'vitest';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import { invocation } from '../../local/faults.ts';
import { liveWeights, runningTasks } from '../../local/scenarios.ts';
import { brokenInvariants } from '../support/invariants.ts';
import { answerLate } from '../support/late-answer.ts';
import { startWorld, type TestWorld } from '../support/runtime.ts';

let w: TestWorld | undefined;
afterEach(async () => {
  await w?.rt.dispose();
  w = undefined;
});

const releaseOf = async (t: TestWorld, tag: string) => {
  const digest = EcrModel.digestOf('checkout-api', tag);
  const execution = t.rt.executions().find((e) => JSON.parse(e.input).image?.digest === digest);
  return execution ? t.rt.release(execution.name) : undefined;
};

const liveTaskDefinition = (t: TestWorld, colour: 'blue' | 'green') =>
  t.rt.account.ecs.DescribeServices({ cluster: 'prod', services: [t.checkout.ecs.services[colour]] })
    .services[0]?.taskDefinition;

/** A world where v2 was released and promoted, blue scaled down: what a rollback undoes; and v1's task definition. */
const promotedV2 = async () => {
  w = await startWorld();
  const t = w;
  const v1 = liveTaskDefinition(t, 'blue');
  t.rt.push('checkout-api', 'v2');
  await t.rt.settle();
  await t.rt.drain();
  return { t, v1 };
};

describe('ops rollback', () => {
  it('puts the previous image back on blue, names the snapshot, and a second rollback finds nothing to do', async () => {
    const { t, v1 } = await promotedV2();
    const first = t.rt.startRollback({ target: 'checkout-api', reason: 'bad v2' });
    await t.rt.settle();
    const record = await t.rt.release(first);
    expect(record).toMatchObject({
      kind: 'rollback',
      outcome: 'RolledBack',
      rollbackPath: 'slow',
      reason: 'bad v2',
      trigger: { source: 'manual', by: 'ops@example.com' },
      snapshotId: expect.stringMatching(/^switchyard-checkout-api-/),
    });
    expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 100, green: 0 });
    expect(liveTaskDefinition(t, 'blue')).toBe(v1);
    expect(t.rt.account.sns.published.at(-1)?.message).toContain('restore is never automatic');

    await t.rt.wait(5);
    const second = t.rt.startRollback({ target: 'checkout-api', reason: 'double click' });
    await t.rt.settle();
    expect(await t.rt.release(second)).toMatchObject({
      outcome: 'Aborted',
      error: {
        Error: 'NothingToRollBack',
        Cause: expect.stringContaining(`already rolled back by ${first}`),
      },
    });
    expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 100, green: 0 });
  });

  it('puts v1 back while the alarm v2 set off is firing: the way out of an incident is not held up by the incident (before: RollbackFailed, "alarm … is in ALARM", v2 serving on)', async () => {
    const { t, v1 } = await promotedV2();
    // v2 starts failing half its requests: the target's 5xx alarm fires, and an operator rolls back.
    t.rt.account.startErrors('v2', 0.5);
    expect(
      await t.rt.runUntil(
        () =>
          t.rt.account.cloudwatch.DescribeAlarms({}).MetricAlarms?.some((a) => a.StateValue === 'ALARM') ===
          true,
        600,
      ),
    ).toBe(true);
    const id = t.rt.startRollback({ target: 'checkout-api', reason: '5xx spike' });
    await t.rt.settle();
    expect(await t.rt.release(id)).toMatchObject({ outcome: 'RolledBack', rollbackPath: 'slow' });
    expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 100, green: 0 });
    expect(liveTaskDefinition(t, 'blue')).toBe(v1);
    // v2 scaled down too, though its alarm may still read ALARM as the rollback ends.
    await t.rt.drain();
    expect(runningTasks(t.rt, t.checkout)).toEqual({ blue: 4, green: 0 });
  });

  it('refuses a rollback for a target with no previous release, changing nothing', async () => {
    w = await startWorld();
    const t = w;
    const id = t.rt.startRollback({ target: 'checkout-api', reason: 'just in case' });
    await t.rt.settle();
    expect(await t.rt.release(id)).toMatchObject({
      outcome: 'Aborted',
      error: { Error: 'NothingToRollBack', Cause: 'checkout-api has no Promoted release to roll back' },
    });
    expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 100, green: 0 });
    expect(runningTasks(t.rt, t.checkout)).toEqual({ blue: 4, green: 0 });
    expect(await t.deps.store.getLock('checkout-api')).toBeUndefined();
  });

  it('refuses a rollback while another rollback holds the lock, naming it', async () => {
    w = await startWorld();
    const t = w;
    t.rt.push('checkout-api', 'v2');
    await t.rt.settle();
    await t.rt.drain();
    const first = t.rt.startRollback({ target: 'checkout-api', reason: 'bad v2' });
    await t.rt.wait(10); // the first is redeploying blue (slow path) and holds the lock
    const second = t.rt.startRollback({ target: 'checkout-api', reason: 'me too' });
    await t.rt.settle();
    expect(await t.rt.release(second)).toMatchObject({
      outcome: 'Aborted',
      error: { Error: 'LockHeld', Cause: expect.stringContaining(`held by rollback ${first}`) },
    });
    expect(await t.rt.release(first)).toMatchObject({ outcome: 'RolledBack' });
    expect(await t.deps.store.getLock('checkout-api')).toBeUndefined();
  });

  it('a push during a rollback queues behind it and runs after it', async () => {
    w = await startWorld();
    const t = w;
    t.rt.push('checkout-api', 'v2');
    await t.rt.settle();
    await t.rt.drain();
    const rollbackId = t.rt.startRollback({ target: 'checkout-api', reason: 'bad v2', ifRunning: 'wait' });
    await t.rt.wait(2);
    t.rt.push('checkout-api', 'v3');
    await t.rt.settle();
    const v3 = await releaseOf(t, 'v3');
    const rollback = await t.rt.release(rollbackId);
    expect(rollback?.outcome).toBe('RolledBack');
    expect(v3?.outcome).toBe('Promoted');
    // v3 queued for the lock and started validating only once the rollback had ended.
    const validated = v3?.phases.find((p) => p.name === 'Validate')?.startedAt ?? '';
    expect(validated >= (rollback?.endedAt ?? 'z')).toBe(true);
  });

  it('a push while a rollback waits for the lock is refused, naming the rollback', async () => {
    w = await startWorld();
    const t = w;
    t.rt.push('checkout-api', 'v2');
    await t.rt.wait(15 * 60); // v2 is in its 20-minute warm bake
    const rollbackId = t.rt.startRollback({ target: 'checkout-api', reason: 'bad v2', ifRunning: 'wait' });
    await t.rt.wait(5);
    t.rt.push('checkout-api', 'v3');
    await t.rt.settle();
    expect(await releaseOf(t, 'v3')).toMatchObject({
      outcome: 'Aborted',
      error: { Error: 'LockHeld', Cause: expect.stringContaining(`rollback ${rollbackId} is queued`) },
    });
    // With ifRunning=wait, v2 finished its bake (Promoted); then the rollback undid it.
    expect((await releaseOf(t, 'v2'))?.outcome).toBe('Promoted');
    expect(await t.rt.release(rollbackId)).toMatchObject({
      outcome: 'RolledBack',
      rollbackOf: (await releaseOf(t, 'v2'))?.releaseId,
    });
    expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 100, green: 0 });
  });
});

describe('a rollback stopped while its weight change lands', () => {
  // Review finding: the step's fence put traffic back on the colour rolled back from, which the
  // recovery (seeing traffic already back) had scaled to 0: RolledBack, and nothing serving.
  it.each([0, 1, 2])(
    'answered %i s late: traffic stays on the colour restored, which runs → RolledBack',
    async (delay) => {
      w = await startWorld();
      const r = w.rt;
      r.push('checkout-api', 'v2');
      await r.settle();
      await r.drain();
      let id = '';
      const late = answerLate(
        r.account.elbv2,
        'ModifyRule',
        () => invocation.getStore()?.state === 'ShiftTraffic' && id !== '',
        delay,
        () => r.stopExecution(id),
      );
      id = r.startRollback({ target: 'checkout-api', reason: 'a late answer' });
      await r.settle();
      await r.drain(900);
      expect(late.fired()).toBe(true);
      expect((await r.release(id))?.outcome).toBe('RolledBack');
      expect(liveWeights(r, w.checkout)).toEqual({ blue: 100, green: 0 });
      expect(runningTasks(r, w.checkout).blue).toBeGreaterThan(0);
      expect(await brokenInvariants(r, w.checkout, [id])).toEqual([]);
    },
  );
});
