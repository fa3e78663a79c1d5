/**
 * Retry of an image: after an attempt ends without the image live, a new push of that digest (or a
 * manual release) starts a new attempt with a new release id, linked to the old record, which is
 * kept. A redelivered event still starts nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { attemptName } from '../../functions/shared/attempts.ts';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import { liveWeights } from '../../local/scenarios.ts';
import { startWorld, type TestWorld } from '../support/runtime.ts';

let w: TestWorld | undefined;
afterEach(async () => {
  await w?.rt.dispose();
  w = undefined;
});

const digest = EcrModel.digestOf('checkout-api', 'v2');
const first = attemptName('checkout-api', digest, 1);
const second = attemptName('checkout-api', digest, 2);

describe('retrying an image', () => {
  it('a new tag on an image whose release ended Aborted starts attempt 2, linked; a redelivered event starts nothing', async () => {
    w = await startWorld({
      faults: {
        unhealthyTags: ['v2'],
        // Every push event is delivered twice, as EventBridge may.
        events: [{ detailType: 'ECR Image Action', action: 'duplicate', times: 10 }],
      },
    });
    const t = w;
    t.rt.push('checkout-api', 'v2');
    await t.rt.settle();
    expect((await t.rt.release(first))?.outcome).toBe('Aborted');
    expect(t.rt.executions()).toHaveLength(1);

    // What broke v2 was fixed elsewhere; the same image is pushed again under a new tag.
    t.rt.faults.unhealthyTags.delete('v2');
    t.rt.account.ecr.push('checkout-api', 'v102', { digest });
    await t.rt.settle();
    await t.rt.drain();

    // Before: the execution name was target + digest, so nothing started and v2 could never be released.
    expect(t.rt.executions().map((e) => e.name)).toEqual([first, second]);
    expect(await t.rt.release(second)).toMatchObject({
      outcome: 'Promoted',
      attempt: 2,
      retryOf: first,
      image: { digest, tag: 'v102' },
    });
    expect((await t.rt.release(first))?.outcome).toBe('Aborted');
    expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 0, green: 100 });
    expect(t.rt.faults.fired.filter((f) => f.includes('ECR Image Action: duplicate'))).toHaveLength(2);

    // The image is live now: another tag on it starts nothing.
    t.rt.account.ecr.push('checkout-api', 'v103', { digest });
    await t.rt.settle();
    expect(t.rt.executions()).toHaveLength(2);
  });

  it('an image promoted and then rolled back can be released again', async () => {
    w = await startWorld();
    const t = w;
    t.rt.push('checkout-api', 'v2');
    await t.rt.settle();
    await t.rt.drain();
    const rollbackId = t.rt.startRollback({ target: 'checkout-api', reason: 'bad config' });
    await t.rt.settle();
    await t.rt.drain();
    expect((await t.rt.release(rollbackId))?.outcome).toBe('RolledBack');

    t.rt.account.ecr.push('checkout-api', 'v102', { digest });
    await t.rt.settle();
    expect(await t.rt.release(second)).toMatchObject({ outcome: 'Promoted', retryOf: first });
  });
});
