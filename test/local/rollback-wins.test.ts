/**
 * A rollback always wins: whatever the running release is doing, a rollback request stops it
 * within seconds; a decision arriving after the request is refused; and the rollback's outcome is
 * true (RolledBack means the version promoted before the bad one serves 100%). A rollback during an
 * approval wait is in approval.test.ts (it needs the approval targets).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { releaseIdFor } from '../../functions/shared/requests.ts';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import { liveWeights, runningTasks } from '../../local/scenarios.ts';
import { startWorld, type TestWorld } from '../support/runtime.ts';

let w: TestWorld | undefined;
afterEach(async () => {
  await w?.rt.dispose();
  w = undefined;
});

const idOf = (tag: string) => releaseIdFor('checkout-api', EcrModel.digestOf('checkout-api', tag));
const taskDefinitionOn = (t: TestWorld, colour: 'blue' | 'green') =>
  t.rt.account.ecs.DescribeServices({ cluster: 'prod', services: [t.checkout.ecs.services[colour]] })
    .services[0]?.taskDefinition;
const inState = (t: TestWorld, tag: string, state: string) => {
  const e = t.rt.executions().find((x) => x.name === idOf(tag));
  return e?.status === 'RUNNING' && e.history.at(-1)?.state === state;
};

describe('a rollback stops the running release, whatever it is doing', () => {
  it('v2 promoted, v3 deploying, then rollback: v3 is stopped and v2 is rolled back, so v1 serves 100%', async () => {
    w = await startWorld();
    const t = w;
    const v1 = taskDefinitionOn(t, 'blue');
    t.rt.push('checkout-api', 'v2');
    await t.rt.settle();
    await t.rt.drain();
    expect((await t.rt.release(idOf('v2')))?.outcome).toBe('Promoted');
    const v2 = taskDefinitionOn(t, 'green');

    t.rt.push('checkout-api', 'v3');
    expect(await t.rt.runUntil(() => inState(t, 'v3', 'WaitForServiceStable'))).toBe(true);
    const rollbackId = t.rt.startRollback({ target: 'checkout-api', reason: 'v2 corrupts carts' });
    await t.rt.settle();
    await t.rt.drain();

    expect((await t.rt.release(idOf('v3')))?.outcome).toBe('Aborted');
    // Before: the rollback said RolledBack (path none) while v2, the version ops wanted gone, served 100%.
    expect(await t.rt.release(rollbackId)).toMatchObject({
      outcome: 'RolledBack',
      rollbackOf: idOf('v2'),
      rollbackPath: 'slow',
    });
    expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 100, green: 0 });
    expect(taskDefinitionOn(t, 'blue')).toBe(v1);
    expect(taskDefinitionOn(t, 'blue')).not.toBe(v2);
    expect(runningTasks(t.rt, t.checkout).green).toBe(0);
    expect(await t.rt.store.getLock('checkout-api')).toBeUndefined();
  });

  it('a rollback while ScaleDownOldColour runs keeps the old colour warm: one weight change back, not a redeploy', async () => {
    // ScaleDownOldColour's first read hangs 8 s: the request lands while it runs, the warm bake's
    // task already closed by its timeout.
    w = await startWorld({
      faults: {
        api: [
          {
            service: 'ELBv2',
            operation: 'DescribeRules',
            state: 'ScaleDownOldColour',
            error: 'TimeoutError',
            mode: 'timeout',
            times: 1,
          },
        ],
      },
    });
    const t = w;
    t.rt.push('checkout-api', 'v2');
    expect(await t.rt.runUntil(() => inState(t, 'v2', 'ScaleDownOldColour'))).toBe(true);
    const rollbackId = t.rt.startRollback({ target: 'checkout-api', reason: 'errors after the warm bake' });
    await t.rt.settle();
    await t.rt.drain();
    // Before: the bake's closed wait counted as "woken", nothing stopped the release, blue was
    // scaled down, v2 ended Promoted and the rollback had to redeploy v1 (the slow path).
    expect((await t.rt.release(idOf('v2')))?.outcome).toBe('RolledBack');
    expect((await t.rt.release(rollbackId))?.rollbackPath).not.toBe('slow');
    expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 100, green: 0 });
    expect(await t.rt.store.getLock('checkout-api')).toBeUndefined();
  });

  it('a release in its health-check grace (not parked on anything) is stopped within seconds and ends Aborted', async () => {
    w = await startWorld();
    const t = w;
    t.rt.push('checkout-api', 'v2');
    await t.rt.settle();
    await t.rt.drain();
    t.rt.push('checkout-api', 'v3');
    expect(await t.rt.runUntil(() => inState(t, 'v3', 'HealthGrace'))).toBe(true);
    const requestedAt = Date.now();
    const rollbackId = t.rt.startRollback({ target: 'checkout-api', reason: 'stop everything' });
    expect(
      await t.rt.runUntil(
        () => t.rt.executions().find((e) => e.name === idOf('v3'))?.status !== 'RUNNING',
        60,
      ),
    ).toBe(true);
    expect(Date.now() - requestedAt).toBeLessThanOrEqual(10_000);
    await t.rt.settle();
    await t.rt.drain();
    const v3 = await t.rt.release(idOf('v3'));
    expect(v3).toMatchObject({ outcome: 'Aborted', abortRequestedBy: rollbackId });
    expect(v3?.error?.Cause).toContain('ABORTED');
    expect((await t.rt.release(rollbackId))?.outcome).toBe('RolledBack');
    expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 100, green: 0 });
    expect(await t.rt.store.getLock('checkout-api')).toBeUndefined();
  });
});
