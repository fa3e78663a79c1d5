/**
 * Bounded recovery: a release whose execution is stopped by hand (or times out, or fails outside
 * its Catches) runs none of its own clean-up. Within two reconciler periods the target is free
 * again, traffic is 100% on a healthy colour, and the record says what happened.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { findTarget, type Target } from '../../functions/shared/config.ts';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import type { FaultPlan } from '../../local/faults.ts';
import { LocalRuntime } from '../../local/runtime.ts';
import { liveWeights, runningTasks } from '../../local/scenarios.ts';
import { buildWorld, FAST_TARGET_GROUPS, serveTestListener } from '../../local/world.ts';

const targetsFile = fileURLToPath(new URL('../../local/targets.json', import.meta.url));
/** Two reconciler periods (the default period is 60 s). */
const BOUND_SECONDS = 120;

let rt: LocalRuntime | undefined;
afterEach(async () => {
  await rt?.dispose();
  rt = undefined;
});

/** payments-api: canary 10% for 10 minutes, then 100% and a 15-minute warm bake. */
const world = async (faults?: FaultPlan) => {
  let payments: Target | undefined;
  rt = await LocalRuntime.start({ targetsFile, faults }, async (r) => {
    payments = findTarget(r.targets, 'payments-api');
    buildWorld(r.account, payments, { liveTag: 'v1', targetGroup: FAST_TARGET_GROUPS });
    await serveTestListener(r.account, payments);
  });
  return { rt, payments: payments as Target };
};

const releaseIdOf = (tag: string) => `payments-api-${EcrModel.digestOf('payments-api', tag).slice(7, 19)}`;

describe('recovery of a release whose execution ended without finishing', () => {
  it('stopped during the canary bake (90/10): traffic back on blue, green to 0, lock free, RolledBack recorded and sent', async () => {
    const { rt, payments } = await world();
    rt.push('payments-api', 'v2');
    const releaseId = releaseIdOf('v2');
    expect(await rt.runUntil(async () => (await rt.release(releaseId))?.trafficPercent === 10)).toBe(true);
    expect(liveWeights(rt, payments)).toEqual({ blue: 90, green: 10 });
    rt.stopExecution(releaseId);
    await rt.wait(BOUND_SECONDS);

    expect(liveWeights(rt, payments)).toEqual({ blue: 100, green: 0 });
    expect(runningTasks(rt, payments).green).toBe(0);
    expect(await rt.store.getLock('payments-api')).toBeUndefined();
    const record = await rt.release(releaseId);
    expect(record).toMatchObject({ outcome: 'RolledBack', error: { Error: 'ExecutionAborted' } });
    expect(record?.error?.Cause).toMatch(/traffic put back on blue \(verified; 4 healthy targets\)/);
    expect(
      rt.account.sns.published.some(
        (m) => m.attributes.releaseId === releaseId && m.attributes.event === 'RolledBack',
      ),
    ).toBe(true);
  });

  it("recovers within two reconciler periods when the execution's status event is lost", async () => {
    const { rt, payments } = await world({
      events: [{ detailType: 'Step Functions Execution Status Change', action: 'drop', times: 1 }],
    });
    rt.push('payments-api', 'v2');
    const releaseId = releaseIdOf('v2');
    await rt.runUntil(async () => (await rt.release(releaseId))?.trafficPercent === 10);
    rt.stopExecution(releaseId);
    await rt.wait(BOUND_SECONDS);
    expect(liveWeights(rt, payments)).toEqual({ blue: 100, green: 0 });
    expect(await rt.store.getLock('payments-api')).toBeUndefined();
    expect((await rt.release(releaseId))?.outcome).toBe('RolledBack');
  });

  it('the status event delivered twice recovers once: one outcome, one notification', async () => {
    const { rt, payments } = await world({
      events: [{ detailType: 'Step Functions Execution Status Change', action: 'duplicate', times: 1 }],
    });
    rt.push('payments-api', 'v2');
    const releaseId = releaseIdOf('v2');
    await rt.runUntil(async () => (await rt.release(releaseId))?.trafficPercent === 10);
    rt.stopExecution(releaseId);
    await rt.wait(BOUND_SECONDS);
    expect(rt.faults.fired).toContain('Step Functions Execution Status Change: duplicate');
    expect(liveWeights(rt, payments)).toEqual({ blue: 100, green: 0 });
    expect((await rt.release(releaseId))?.outcome).toBe('RolledBack');
    const announced = rt.account.sns.published.filter(
      (m) => m.attributes.releaseId === releaseId && m.attributes.event === 'RolledBack',
    );
    expect(announced).toHaveLength(1);
  });

  it('a ShiftTraffic still running when its execution is stopped cannot leave traffic on a colour the recovery scaled down', async () => {
    // ShiftTraffic's first read hangs 8 s, so its weight change lands after the recovery acted
    // (AWS does not stop a running Lambda with its execution).
    const { rt, payments } = await world({
      api: [
        {
          service: 'ELBv2',
          operation: 'DescribeRules',
          state: 'ShiftTraffic',
          error: 'TimeoutError',
          mode: 'timeout',
          times: 1,
        },
      ],
    });
    rt.push('payments-api', 'v2');
    const releaseId = releaseIdOf('v2');
    expect(
      await rt.runUntil(() =>
        rt.executions().some((e) => e.name === releaseId && e.history.at(-1)?.state === 'ShiftTraffic'),
      ),
    ).toBe(true);
    rt.stopExecution(releaseId);
    await rt.wait(BOUND_SECONDS);
    expect(rt.faults.fired.some((f) => f.includes('DescribeRules'))).toBe(true);
    // Before: {blue: 0, green: 100} with green scaled to 0, and the record said Aborted.
    expect(liveWeights(rt, payments)).toEqual({ blue: 100, green: 0 });
    expect(runningTasks(rt, payments).green).toBe(0);
    expect((await rt.release(releaseId))?.outcome).toMatch(/^(Aborted|RolledBack)$/);
    expect(await rt.store.getLock('payments-api')).toBeUndefined();
  });

  it('hands the lock to the release queued behind the stopped one, which then runs to Promoted', async () => {
    const { rt, payments } = await world();
    rt.push('payments-api', 'v2');
    const releaseId = releaseIdOf('v2');
    await rt.runUntil(async () => (await rt.release(releaseId))?.trafficPercent === 10);
    rt.push('payments-api', 'v3');
    await rt.runUntil(
      async () => (await rt.store.getLock('payments-api'))?.queued?.releaseId === releaseIdOf('v3'),
    );
    rt.stopExecution(releaseId);
    await rt.wait(BOUND_SECONDS);
    expect((await rt.release(releaseId))?.outcome).toBe('RolledBack');
    expect((await rt.store.getLock('payments-api'))?.owner).toBe(releaseIdOf('v3'));
    await rt.settle();
    expect((await rt.release(releaseIdOf('v3')))?.outcome).toBe('Promoted');
    expect(liveWeights(rt, payments)).toEqual({ blue: 0, green: 100 });
  });

  it('stopped after it promoted (blue scaled down) but before recording it: left on green and called Promoted', async () => {
    // RecordOutcome hangs to its timeout once: the stop lands while it runs, after the promotion.
    const { rt, payments } = await world({ lambda: [{ state: 'RecordOutcome', kind: 'timeout', times: 1 }] });
    rt.push('payments-api', 'v2');
    const releaseId = releaseIdOf('v2');
    await rt.runUntil(() =>
      rt.executions().some((e) => e.name === releaseId && e.history.some((h) => h.state === 'RecordOutcome')),
    );
    rt.stopExecution(releaseId);
    await rt.wait(BOUND_SECONDS);
    const record = await rt.release(releaseId);
    expect(record?.outcome).toBe('Promoted');
    expect(record?.error?.Cause).toContain('it had promoted');
    expect(liveWeights(rt, payments)).toEqual({ blue: 0, green: 100 });
    expect(runningTasks(rt, payments).green).toBeGreaterThan(0);
    expect(await rt.store.getLock('payments-api')).toBeUndefined();
  });

  it('stopped while deploying: Aborted, green back to 0, and the next push releases as usual', async () => {
    const { rt, payments } = await world();
    rt.push('payments-api', 'v2');
    const releaseId = releaseIdOf('v2');
    await rt.runUntil(() =>
      rt.executions().some((e) => e.history.some((h) => h.state === 'WaitForServiceStable')),
    );
    rt.stopExecution(releaseId);
    await rt.wait(BOUND_SECONDS);
    expect((await rt.release(releaseId))?.outcome).toBe('Aborted');
    expect(liveWeights(rt, payments)).toEqual({ blue: 100, green: 0 });
    expect(await rt.store.getLock('payments-api')).toBeUndefined();

    rt.push('payments-api', 'v3');
    await rt.settle();
    expect((await rt.release(releaseIdOf('v3')))?.outcome).toBe('Promoted');
  });
});
