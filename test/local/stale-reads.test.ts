/**
 * ECS reads right after a write (the ECS API is eventually consistent: local/account/ecs.ts,
 * `staleReads`). A release's first stability check runs a moment after its UpdateService; a read
 * that does not show the update yet must wait, not fail the release (functions/shared/ecs.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { releaseIdFor } from '../../functions/shared/requests.ts';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import { liveWeights } from '../../local/scenarios.ts';
import { RECOVERY_BOUND_SECONDS } from '../support/invariants.ts';
import { startWorld, type TestWorld } from '../support/runtime.ts';

let w: TestWorld | undefined;
afterEach(async () => {
  await w?.rt.dispose();
  w = undefined;
});

const idOf = (tag: string) => releaseIdFor('search-api', EcrModel.digestOf('search-api', tag));

describe('ECS showing a service as it was before its update, for a few seconds', () => {
  it('a release waits for its deployment to show instead of failing, and a slow-path rollback puts the old version back', async () => {
    w = await startWorld();
    const t = w;
    // Every DescribeServices for 0.5-3 s after an UpdateService shows the service before it (the
    // first stability check comes about 0.5 s after the deploy).
    t.rt.account.ecs.staleReads = { minMs: 500, maxMs: 3000 };
    t.rt.push('search-api', 'release-2');
    await t.rt.settle();
    await t.rt.drain();
    const release = await t.rt.release(idOf('release-2'));
    // Before: Aborted, "DeploymentFailed: PRIMARY deployment runs search-api:1, not search-api:2".
    expect(release?.outcome, JSON.stringify(release?.error)).toBe('Promoted');
    const stable = release?.phases.find((p) => p.name === 'WaitForServiceStable');
    expect(stable?.status).toBe('succeeded');
    expect(liveWeights(t.rt, t.search)).toEqual({ blue: 0, green: 100 });

    // blue is at 0 now: the rollback redeploys release-1 there (the slow path), then waits for it.
    const rollbackId = t.rt.startRollback({ target: 'search-api', reason: 'release-2 corrupts the index' });
    await t.rt.settle();
    await t.rt.drain();
    const rollback = await t.rt.release(rollbackId);
    expect(rollback?.outcome, JSON.stringify(rollback?.error)).toBe('RolledBack');
    expect(liveWeights(t.rt, t.search)).toEqual({ blue: 100, green: 0 });
  });
});

describe('the recovery of a release stopped a moment after its deploy', () => {
  it('scales the idle colour it was deploying to 0, though ECS does not show that deployment yet', async () => {
    w = await startWorld();
    const t = w;
    t.rt.account.ecs.staleReads = { minMs: 500, maxMs: 3000 };
    const id = releaseIdFor('checkout-api', EcrModel.digestOf('checkout-api', 'v2'));
    t.rt.push('checkout-api', 'v2');
    // Stopped as it starts waiting for green, just deployed: the recovery reads green at once.
    expect(
      await t.rt.runUntil(() =>
        t.rt
          .executions()
          .some((e) => e.name === id && e.history.some((h) => h.state === 'WaitForServiceStable')),
      ),
    ).toBe(true);
    t.rt.stopExecution(id);
    await t.rt.wait(RECOVERY_BOUND_SECONDS);
    await t.rt.settle();
    expect((await t.rt.release(id))?.outcome).toBe('Aborted');
    expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 100, green: 0 });
    // Before: green kept its 4 new tasks (the recovery read green at 0 and left it), paid for, unwatched.
    const green = t.rt.account.ecs.DescribeServices({
      cluster: t.checkout.ecs.cluster,
      services: [t.checkout.ecs.services.green],
    }).services[0];
    expect(green?.desiredCount).toBe(0);
    expect(await t.rt.store.getLock('checkout-api')).toBeUndefined();
  });
});

describe('a scale-down that never landed', () => {
  it('leaves no promoted mark: a release going back after an alarm, then stopped, is RolledBack', async () => {
    // ScaleDownOldColour's UpdateService is throttled past the SDK's attempts; before its retry an
    // alarm fires, so the release goes back, and it is stopped during RollBackTraffic.
    w = await startWorld({
      faults: {
        api: [
          {
            service: 'ECS',
            operation: 'UpdateService',
            state: 'ScaleDownOldColour',
            error: 'ThrottlingException',
            times: 3,
          },
        ],
        lambda: [{ state: 'RollBackTraffic', kind: 'timeout', times: 3 }],
      },
    });
    const t = w;
    const id = releaseIdFor('checkout-api', EcrModel.digestOf('checkout-api', 'v2'));
    t.rt.push('checkout-api', 'v2');
    expect(
      await t.rt.runUntil(() => t.rt.faults.fired.filter((f) => f.includes('ECS.UpdateService')).length >= 3),
    ).toBe(true);
    t.rt.account.cloudwatch.setState(t.checkout.alarms[0] as string, 'ALARM', 'Threshold Crossed: 5xx 7%');
    expect(
      await t.rt.runUntil(() =>
        t.rt
          .executions()
          .some(
            (e) => e.name === id && e.status === 'RUNNING' && e.history.at(-1)?.state === 'RollBackTraffic',
          ),
      ),
    ).toBe(true);
    t.rt.stopExecution(id);
    await t.rt.wait(RECOVERY_BOUND_SECONDS);
    await t.rt.settle();
    const release = await t.rt.release(id);
    // Before: the mark was written before the scale-down, which never landed, and the recovery
    // called the release Promoted, all traffic left on the alarming version.
    expect(release?.oldColourScaledDownAt).toBeUndefined();
    expect(release?.outcome, JSON.stringify(release?.error)).toBe('RolledBack');
    expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 100, green: 0 });
  });
});
