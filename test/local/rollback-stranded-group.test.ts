/**
 * An ops rollback after a group release ended RollbackFailed (review of fb51c45): one whose own
 * rollback put the traffic back is passed over, as a RolledBack one is; one whose member rules are
 * already back while the primary's is not is planned back whole. (Single services:
 * test/local/rollback-stranded.test.ts.)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { findTarget } from '../../functions/shared/config.ts';
import { releaseIdFor } from '../../functions/shared/requests.ts';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import type { ApiFault } from '../../local/faults.ts';
import { LocalRuntime } from '../../local/runtime.ts';
import { liveWeights } from '../../local/scenarios.ts';
import { buildWorld, FAST_TARGET_GROUPS } from '../../local/world.ts';

const worlds: LocalRuntime[] = [];
afterEach(async () => {
  for (const rt of worlds.splice(0)) await rt.dispose();
});
/**
 * The group fixture released all at once (as test/faults/group-steps.test.ts does): a release whose
 * rollback failed leaves the primary all on its new colour rather than split, so a rollback stopped
 * before it moves traffic is recovered as Aborted, and its group put back as it was.
 */
const groupFixture = JSON.parse(
  readFileSync(fileURLToPath(new URL('../fixtures/targets-group.json', import.meta.url)), 'utf8'),
);
groupFixture.targets[0].traffic.strategy = { type: 'all-at-once' };
const groupTargets = join(tmpdir(), `switchyard-rollback-stranded-group-${process.pid}.json`);
writeFileSync(groupTargets, JSON.stringify(groupFixture));
/** The bake's fast rollback refused (every rule it writes), and RollBackTraffic's write of `rule`. */
const weightsStuck = (rule: string): ApiFault[] => [
  ...['wait-resume', 'reconciler'].map((folder) => ({
    service: 'ELBv2',
    operation: 'ModifyRule',
    folder,
    error: 'AccessDenied',
    status: 403,
    times: 10,
  })),
  {
    service: 'ELBv2',
    operation: 'ModifyRule',
    state: 'RollBackTraffic',
    resource: rule,
    error: 'AccessDenied',
    status: 403,
    times: 10,
  },
];

/** The image a service's task definition runs (its first container). */
const imageOf = (rt: LocalRuntime, service: string) => {
  const arn = rt.account.ecs.DescribeServices({ cluster: 'prod', services: [service] }).services[0]
    ?.taskDefinition;
  return rt.account.ecs.definitionOf(arn ?? '')?.containerDefinitions?.[0]?.image ?? '';
};

/** A group world (bugs: web, a second web member, a worker, a singleton beat), as test/faults/group-steps.test.ts builds it. */
const groupWorld = async () => {
  const rt = await LocalRuntime.start({ targetsFile: groupTargets }, (r) => {
    for (const target of r.targets.targets)
      buildWorld(r.account, target, { liveTag: 'v1', targetGroup: FAST_TARGET_GROUPS });
  });
  worlds.push(rt);
  const target = findTarget(rt.targets, 'bugs');
  const push = (tag: string) => {
    rt.account.ecr.push('bugs-worker', tag, { silent: true });
    rt.push('bugs', tag);
  };
  const id = (tag: string) => releaseIdFor('bugs', EcrModel.digestOf('bugs', tag));
  const weightsOf = (rule: string) =>
    rt.account.elbv2
      .DescribeRules({ RuleArns: [rule] })
      .Rules?.[0]?.Actions?.[0]?.ForwardConfig?.TargetGroups?.map((g) => g.Weight);
  push('v2');
  await rt.settle();
  await rt.drain();
  expect((await rt.release(id('v2')))?.outcome).toBe('Promoted');
  /** v3 released with `faults` armed: once it has traffic it fails half its requests, and it ends RollbackFailed. */
  const v3FailsWith = async (faults: ApiFault[]) => {
    rt.faults.arm({ api: faults });
    push('v3');
    expect(await rt.runUntil(() => liveWeights(rt, target).blue > 0, 3600)).toBe(true);
    rt.account.startErrors('v3', 0.5);
    expect(await rt.runUntil(async () => (await rt.release(id('v3')))?.outcome !== undefined, 3600)).toBe(
      true,
    );
    await rt.settle();
    await rt.drain();
    expect((await rt.release(id('v3')))?.outcome).toBe('RollbackFailed');
  };
  return { rt, target, push, id, weightsOf, v3FailsWith };
};

describe('an ops rollback after a group release ended RollbackFailed (review of fb51c45)', () => {
  it('its own rollback put the traffic back, then a worker could not be started again: the rollback undoes the promoted release before it, as before ac5f06e (not NothingToRollBack "moved since")', async () => {
    const { rt, target, push, id } = await groupWorld();
    rt.faults.arm({
      api: [
        {
          service: 'ECS',
          operation: 'UpdateService',
          state: 'StartOldMember',
          error: 'AccessDeniedException',
          times: 100,
        },
      ],
    });
    push('v3');
    expect(await rt.runUntil(() => rt.account.ecs.aliveTasks('prod', 'bugs-beat-blue') === 1, 3600)).toBe(
      true,
    );
    rt.account.startErrors('v3', 0.5);
    await rt.settle();
    await rt.drain();
    const v3 = await rt.release(id('v3'));
    expect(v3?.outcome).toBe('RollbackFailed');
    expect(v3?.trafficRestoredAt).toBeDefined();
    expect(liveWeights(rt, target)).toEqual({ blue: 0, green: 100 });
    // v3's worker still runs on blue: the operator asks for the rollback.
    expect(rt.account.ecs.aliveTasks('prod', 'bugs-worker-blue')).toBe(4);
    const rollback = rt.startRollback({ target: 'bugs', reason: 'v3 worker still consuming' });
    await rt.settle();
    await rt.drain();
    expect(await rt.release(rollback)).toMatchObject({ outcome: 'RolledBack', rollbackOf: id('v2') });
    expect(liveWeights(rt, target)).toEqual({ blue: 100, green: 0 });
    // v1 everywhere on blue (the v3 worker replaced), v2's colours at 0.
    for (const member of ['web', 'api', 'worker', 'beat']) {
      const repository = member === 'worker' ? 'bugs-worker' : 'bugs';
      expect(imageOf(rt, `bugs-${member}-blue`), member).toContain(EcrModel.digestOf(repository, 'v1'));
      expect(rt.account.ecs.aliveTasks('prod', `bugs-${member}-blue`), member).toBeGreaterThan(0);
      expect(rt.account.ecs.aliveTasks('prod', `bugs-${member}-green`), member).toBe(0);
    }
  });

  it('a member rule already back while the primary still carries the release: the rest of the group goes back and the member is left as it is, named (before: NothingToRollBack for the member)', async () => {
    const { rt, target, id, weightsOf, v3FailsWith } = await groupWorld();
    const primaryRule = target.traffic.listenerRuleArn as string;
    const apiRule = target.group[0]?.traffic?.listenerRuleArn as string;
    // Every way the primary's weights go back is refused; the api member's rule goes back.
    await v3FailsWith(weightsStuck(primaryRule));
    expect(weightsOf(primaryRule)?.[0]).toBeGreaterThan(0);
    expect(weightsOf(apiRule)).toEqual([0, 100]);
    expect(
      rt.account.cloudwatch
        .DescribeAlarms({ AlarmNames: target.alarms })
        .MetricAlarms?.some((a) => a.StateValue === 'ALARM'),
    ).toBe(true);
    const rollbackAt = Date.now();
    const rollback = rt.startRollback({ target: 'bugs', reason: 'v3 still serving' });
    await rt.settle();
    await rt.drain();
    // v3's 5xx alarm, still firing, does not hold it up.
    expect(await rt.release(rollback)).toMatchObject({ outcome: 'RolledBack', rollbackOf: id('v3') });
    expect(weightsOf(primaryRule)).toEqual([0, 100]);
    expect(weightsOf(apiRule)).toEqual([0, 100]);
    expect(rt.account.ecs.aliveTasks('prod', 'bugs-worker-blue')).toBe(0);
    // The api's rule was back already: left out of the plan, never touched, and named with what is
    // left to do by hand (planned, the rollback's steps acted on the colour that serves: reviews of
    // 732821c and 2569fa8).
    expect(rt.account.ecs.aliveTasks('prod', 'bugs-api-green')).toBe(4);
    // Never deployed to or scaled by the rollback: a deploy of the colour that serves could be fenced
    // to 0 by a stop (review of 2569fa8).
    expect(
      rt.account.callLog.filter(
        (c) => c.at >= rollbackAt && c.call === 'ECS.UpdateService' && c.ecsService?.startsWith('bugs-api-'),
      ),
    ).toEqual([]);
    const leftover =
      'api (its rule back on green; bugs-api-blue still runs 4 task(s) with no traffic: scale it to 0 by hand)';
    expect((await rt.release(rollback))?.phases.find((p) => p.name === 'PlanRollback')?.detail).toContain(
      `already back, left as they are: ${leftover}`,
    );
    // And in the outcome's notice, where a person reads it (review of 10c6397).
    const notice = rt.account.sns.published.find((m) => m.subject?.endsWith('rollback: RolledBack'));
    expect(notice?.message).toContain(`Group members already back, left as they are: ${leftover}`);
  });

  it('a singleton caught mid cut-over (its old colour stopped, its new one refused to start) is started again by the rollback: one beat, not none (review of aaf591d)', async () => {
    const { rt, target, push, id } = await groupWorld();
    const primaryRule = target.traffic.listenerRuleArn as string;
    rt.faults.arm({
      api: [
        {
          service: 'ECS',
          operation: 'UpdateService',
          state: 'StartNewMember',
          resource: 'bugs-beat-blue',
          error: 'AccessDeniedException',
          times: 1,
        },
        ...weightsStuck(primaryRule),
      ],
    });
    push('v3');
    expect(await rt.runUntil(async () => (await rt.release(id('v3')))?.outcome !== undefined, 7200)).toBe(
      true,
    );
    await rt.settle();
    expect((await rt.release(id('v3')))?.outcome).toBe('RollbackFailed');
    const beats = () =>
      rt.account.ecs.aliveTasks('prod', 'bugs-beat-blue') +
      rt.account.ecs.aliveTasks('prod', 'bugs-beat-green');
    expect(beats()).toBe(0);
    const rollback = rt.startRollback({ target: 'bugs', reason: 'no scheduler running' });
    await rt.settle();
    await rt.drain();
    // Before: RolledBack with the beat left out of the plan, and no beat running on either colour.
    expect(await rt.release(rollback)).toMatchObject({ outcome: 'RolledBack', rollbackOf: id('v3') });
    expect(beats()).toBe(1);
    expect(imageOf(rt, 'bugs-beat-green')).toContain(EcrModel.digestOf('bugs', 'v2'));
    expect(liveWeights(rt, target)).toEqual({ blue: 0, green: 100 });
  });

  it('that rollback stopped before it moved traffic: the member already back stays on its old colour, whole (before: its rule was put on v3; review of 732821c)', async () => {
    const { rt, target, weightsOf, v3FailsWith } = await groupWorld();
    const primaryRule = target.traffic.listenerRuleArn as string;
    const apiRule = target.group[0]?.traffic?.listenerRuleArn as string;
    await v3FailsWith(weightsStuck(primaryRule));
    expect(weightsOf(apiRule)).toEqual([0, 100]);
    const rollback = rt.startRollback({ target: 'bugs', reason: 'v3 still serving' });
    const entered = (state: string) =>
      rt.executions().some((e) => e.name === rollback && e.history.some((h) => h.state === state));
    expect(await rt.runUntil(() => entered('WaitForMemberStable'))).toBe(true);
    rt.stopExecution(rollback);
    await rt.settle();
    await rt.drain(300);
    expect((await rt.release(rollback))?.outcome).toBe('Aborted');
    // The api stays on v2 (green), whole; v3's colour gets no traffic.
    expect(weightsOf(apiRule)).toEqual([0, 100]);
    expect(imageOf(rt, 'bugs-api-green')).toContain(EcrModel.digestOf('bugs', 'v2'));
    expect(
      rt.account.elbv2.healthyTargets(target.group[0]?.traffic?.targetGroups.green as string),
    ).toHaveLength(rt.account.ecs.aliveTasks('prod', 'bugs-api-green'));
    expect(rt.account.ecs.aliveTasks('prod', 'bugs-api-green')).toBeGreaterThan(0);
  });

  it('its primary back but a member rule refused: the rollback names the rule to move by hand (before: "its traffic has been moved back since; nothing of it to roll back", false; review of 732821c)', async () => {
    const { rt, target, id, weightsOf, v3FailsWith } = await groupWorld();
    const apiRule = target.group[0]?.traffic?.listenerRuleArn as string;
    await v3FailsWith(weightsStuck(apiRule));
    expect(liveWeights(rt, target)).toEqual({ blue: 0, green: 100 });
    expect(weightsOf(apiRule)).toEqual([100, 0]);
    const rollback = rt.startRollback({ target: 'bugs', reason: 'api still on v3' });
    await rt.settle();
    expect(await rt.release(rollback)).toMatchObject({
      outcome: 'Aborted',
      error: {
        Error: 'NothingToRollBack',
        Cause: `${id('v3')} ended RollbackFailed with its primary's traffic back on green, but group member api's rule ${apiRule} still sends traffic to blue (bugs-api-blue): move it to green by hand (a rollback moves a group only with its primary)`,
      },
    });
  });
});
