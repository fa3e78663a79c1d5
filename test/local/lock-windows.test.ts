/**
 * The lock's crash windows: a step that changed the lock and then could not tell the release
 * concerned (its SendTask* call failed, or its answer was lost). The answer is written into the
 * lock with the change, so a retry or the reconciler delivers it: no release hangs for a day.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { releaseIdFor } from '../../functions/shared/requests.ts';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import type { ApiFault } from '../../local/faults.ts';
import { liveWeights } from '../../local/scenarios.ts';
import { startWorld, type TestWorld } from '../support/runtime.ts';

/** Two reconciler periods (the default period is 60 s). */
const BOUND_SECONDS = 120;

let w: TestWorld | undefined;
afterEach(async () => {
  await w?.rt.dispose();
  w = undefined;
});

const idOf = (tag: string) => releaseIdFor('checkout-api', EcrModel.digestOf('checkout-api', tag));
const execution = (t: TestWorld, tag: string) => t.rt.executions().find((e) => e.name === idOf(tag));
const entered = (t: TestWorld, tag: string, state: string) =>
  execution(t, tag)?.history.find((h) => h.state === state)?.at;
/** Every call of `operation` made by the function serving `state` fails (5xx, after the SDK's retries). */
const alwaysFails = (operation: string, state: string): ApiFault => ({
  service: 'SFN',
  operation,
  state,
  error: 'InternalFailure',
  status: 500,
  times: 1000,
});

/** v2 releases; v3 is pushed meanwhile and queues behind it. */
const v2ThenV3 = async (t: TestWorld) => {
  t.rt.push('checkout-api', 'v2');
  await t.rt.wait(5);
  t.rt.push('checkout-api', 'v3');
  expect(
    await t.rt.runUntil(
      async () => (await t.rt.store.getLock('checkout-api'))?.queued?.releaseId === idOf('v3'),
    ),
  ).toBe(true);
};

describe('lock hand-over (ReleaseLock)', () => {
  it('the resume of the queued release never gets through from ReleaseLock: the reconciler resumes it within two periods', async () => {
    w = await startWorld({ faults: { api: [alwaysFails('SendTaskSuccess', 'ReleaseLock')] } });
    await v2ThenV3(w);
    const t = w;
    expect(await t.rt.runUntil(() => entered(t, 'v2', 'ReleaseLock') !== undefined)).toBe(true);
    const handedAt = entered(t, 'v2', 'ReleaseLock') ?? 0;
    expect(await t.rt.runUntil(() => entered(t, 'v3', 'Validate') !== undefined, BOUND_SECONDS)).toBe(true);
    expect((entered(t, 'v3', 'Validate') ?? Infinity) - handedAt).toBeLessThanOrEqual(BOUND_SECONDS * 1000);
    expect(t.rt.faults.fired.some((f) => f.includes('SendTaskSuccess'))).toBe(true);

    await t.rt.settle();
    expect((await t.rt.release(idOf('v2')))?.outcome).toBe('Promoted');
    expect((await t.rt.release(idOf('v3')))?.outcome).toBe('Promoted');
    expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 100, green: 0 });
    expect(await t.rt.store.getLock('checkout-api')).toBeUndefined();
  });

  it("the resume's answer is lost (it took effect): the retry finds the new owner running and does not free its lock", async () => {
    w = await startWorld({
      faults: {
        api: [
          {
            service: 'SFN',
            operation: 'SendTaskSuccess',
            state: 'ReleaseLock',
            error: 'TimeoutError',
            mode: 'timeout',
            times: 1,
          },
        ],
      },
    });
    await v2ThenV3(w);
    const t = w;
    // v3 holds the lock while it moves traffic: nobody freed it "on its behalf" after the lost answer.
    expect(await t.rt.runUntil(() => entered(t, 'v3', 'ShiftTraffic') !== undefined)).toBe(true);
    expect(t.rt.faults.fired.some((f) => f.includes('SendTaskSuccess'))).toBe(true);
    expect((await t.rt.store.getLock('checkout-api'))?.owner).toBe(idOf('v3'));
    await t.rt.settle();
    expect((await t.rt.release(idOf('v2')))?.outcome).toBe('Promoted');
    expect((await t.rt.release(idOf('v3')))?.outcome).toBe('Promoted');
    expect(await t.rt.store.getLock('checkout-api')).toBeUndefined();
  });
});

describe('queue slot (AcquireLock)', () => {
  it('the Superseded of the displaced release never gets through from AcquireLock: it still ends Superseded within two periods', async () => {
    w = await startWorld({ faults: { api: [alwaysFails('SendTaskFailure', 'AcquireLock')] } });
    await v2ThenV3(w);
    const t = w;
    t.rt.push('checkout-api', 'v4');
    const pushedAt = Date.now();
    expect(
      await t.rt.runUntil(
        async () => (await t.rt.release(idOf('v3')))?.outcome === 'Superseded',
        BOUND_SECONDS,
      ),
    ).toBe(true);
    expect(Date.now() - pushedAt).toBeLessThanOrEqual(BOUND_SECONDS * 1000);
    expect(t.rt.faults.fired.some((f) => f.includes('SendTaskFailure'))).toBe(true);
    // v4's own AcquireLock did not fail for it: v4 is queued and runs after v2.
    expect((await t.rt.store.getLock('checkout-api'))?.queued?.releaseId).toBe(idOf('v4'));

    await t.rt.settle();
    expect((await t.rt.release(idOf('v3')))?.error?.Cause).toContain(idOf('v4'));
    expect((await t.rt.release(idOf('v4')))?.outcome).toBe('Promoted');
    expect(await t.rt.store.getLock('checkout-api')).toBeUndefined();
  });
});
