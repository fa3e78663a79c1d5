/**
 * The simulated account with AWS's own defaults, as for a target nobody tuned: target groups check
 * health every 30 s and need 5 passes (150 s), and a deregistered target drains for 300 s.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import { liveWeights } from '../../local/scenarios.ts';
import { startWorld, type TestWorld } from '../support/runtime.ts';

let w: TestWorld | undefined;
afterEach(async () => {
  await w?.rt.dispose();
  w = undefined;
});

const outcomeOf = async (t: TestWorld, repository: string, tag: string) => {
  const digest = EcrModel.digestOf(repository, tag);
  const execution = t.rt.executions().find((e) => JSON.parse(e.input).image.digest === digest);
  return execution && (await t.rt.release(execution.name));
};

describe('a target with AWS-default target groups', () => {
  it('reports the defaults: 30 s × 5 to turn healthy, 300 s draining', async () => {
    w = await startWorld({ targetGroup: {}, automation: false });
    const group = w.checkout.traffic.targetGroups.blue;
    const [described] = w.rt.account.elbv2.DescribeTargetGroups({ TargetGroupArns: [group] }).TargetGroups;
    expect(described).toMatchObject({
      HealthCheckIntervalSeconds: 30,
      HealthyThresholdCount: 5,
      UnhealthyThresholdCount: 2,
    });
    expect(w.rt.account.elbv2.DescribeTargetGroupAttributes({ TargetGroupArn: group }).Attributes).toEqual([
      { Key: 'deregistration_delay.timeout_seconds', Value: '300' },
    ]);
    const [target] = w.rt.account.elbv2.DescribeTargetHealth({
      TargetGroupArn: group,
    }).TargetHealthDescriptions;
    const id = target?.Target?.Id as string;
    w.rt.account.elbv2.deregister(group, id);
    await w.rt.wait(299);
    expect(w.rt.account.elbv2.targetState(group, id)).toBe('draining');
    await w.rt.wait(2);
    expect(w.rt.account.elbv2.targetState(group, id)).toBeUndefined();
  });

  it('rolls back on the slow path right after a scale-down: draining targets and first health checks do not fail CheckHealth', async () => {
    // search-api has no database, so nothing (a 9-minute snapshot) outlasts the 300 s of draining.
    w = await startWorld({ targetGroup: {} });
    const t = w;
    t.rt.push('search-api', 'release-2');
    await t.rt.settle();
    expect((await outcomeOf(t, 'search-api', 'release-2'))?.outcome).toBe('Promoted');
    // blue was scaled to 0 as release-2 ended: its old targets drain for 300 s. The rollback scales
    // blue up again on its task definition (no new ECS deployment, so its rollout already reads
    // COMPLETED) while those targets drain and the new ones are in their first 150 s of checks.
    const blue = t.search.traffic.targetGroups.blue;
    const states = () =>
      t.rt.account.elbv2
        .DescribeTargetHealth({ TargetGroupArn: blue })
        .TargetHealthDescriptions.map((d) => d.TargetHealth?.State);
    expect(states()).toContain('draining');
    const rollbackId = t.rt.startRollback({ target: 'search-api', reason: 'release-2 breaks search' });
    await t.rt.settle();
    const rollback = await t.rt.release(rollbackId);
    expect(rollback?.error).toBeUndefined();
    expect(rollback).toMatchObject({ outcome: 'RolledBack', rollbackPath: 'slow' });
    expect(liveWeights(t.rt, t.search)).toEqual({ blue: 100, green: 0 });
    // It waited for ELB's verdict (a retried TargetsInitializing) instead of failing on targets
    // still in their first checks, then judged them healthy.
    const checks = rollback?.phases.filter((p) => p.name === 'CheckHealth') ?? [];
    expect(checks.at(-1)?.status).toBe('succeeded');
    expect(checks.some((p) => p.detail?.includes('still in their first health checks'))).toBe(true);
  });
});

describe('the ECS deployment circuit breaker', () => {
  it('is off unless a service enables it: failing tasks keep being replaced and the rollout never FAILS', async () => {
    w = await startWorld({ automation: false });
    const { ecs, ecr } = w.rt.account;
    const green = w.checkout.ecs.services.green;
    const live = ecs.DescribeServices({ cluster: 'prod', services: [w.checkout.ecs.services.blue] })
      .services[0];
    const td = ecs.taskDefinitions.get(live?.taskDefinition ?? '');
    w.rt.faults.unhealthyTags.add('bad');
    const { digest } = ecr.push('checkout-api', 'bad', { silent: true });
    const image = `${ecr.repositories.get('checkout-api')?.uri}@${digest}`;
    if (!td) throw new Error('no live task definition');
    const bad = ecs.registerTaskDefinition({
      ...td,
      family: 'checkout-api',
      containerDefinitions: [{ ...td.containerDefinitions?.[0], image }],
    });
    const rollout = () =>
      ecs.DescribeServices({ cluster: 'prod', services: [green] }).services[0]?.deployments?.[0];
    ecs.UpdateService({
      cluster: 'prod',
      service: green,
      taskDefinition: bad.taskDefinitionArn,
      desiredCount: 4,
    });
    await w.rt.wait(20 * 60);
    expect(rollout()).toMatchObject({ rolloutState: 'IN_PROGRESS' });
    expect(rollout()?.failedTasks).toBeGreaterThanOrEqual(3);
    // The scheduler stopped each (ServiceSchedulerInitiated), naming the target group, as ECS does:
    // not a task that failed to start, nor one whose container exited.
    const stopped =
      ecs.ListTasks({ cluster: 'prod', serviceName: green, desiredStatus: 'STOPPED' }).taskArns ?? [];
    const described = ecs.DescribeTasks({ cluster: 'prod', tasks: stopped }).tasks ?? [];
    expect(described.length).toBeGreaterThanOrEqual(3);
    for (const task of described)
      expect(task).toMatchObject({
        stopCode: 'ServiceSchedulerInitiated',
        stoppedReason: `Task failed ELB health checks in (target-group ${w.checkout.traffic.targetGroups.green})`,
      });
    // Switchyard's own UpdateService turns it on (rollback off: it cleans up the idle colour itself).
    ecs.UpdateService({
      cluster: 'prod',
      service: green,
      forceNewDeployment: true,
      deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: false } },
    });
    await w.rt.wait(10 * 60);
    expect(rollout()).toMatchObject({ rolloutState: 'FAILED' });
  });
});
