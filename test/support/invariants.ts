/**
 * What must hold after any release or rollback, whatever went wrong on the way (the fault matrix
 * and the property run check these):
 * I1 traffic is 100% on one colour, and that colour's tasks are running and healthy;
 * I2 the target's lock is free;
 * I3 each release record has a terminal outcome that matches where traffic ended;
 * I4 nothing runs that should not: the idle colour is scaled to 0;
 * I5 a notification went out for each outcome;
 * I6 no snapshot was deleted, and no task definition in use was deregistered.
 */
import type { Target } from '../../functions/shared/config.ts';
import type { ReleaseRecord } from '../../functions/shared/store.ts';
import type { LocalRuntime } from '../../local/runtime.ts';
import { liveWeights } from '../../local/scenarios.ts';

const terminal = new Set(['Promoted', 'Aborted', 'RolledBack', 'Superseded']);

/** Every broken invariant, as `I<n>: what is wrong` (empty when all hold). */
export const brokenInvariants = async (
  rt: LocalRuntime,
  target: Target,
  releaseIds: string[],
  snapshotsBefore = 0,
): Promise<string[]> => {
  const broken: string[] = [];
  const weights = liveWeights(rt, target);
  const live = weights.blue === 100 ? 'blue' : weights.green === 100 ? 'green' : undefined;
  const idle = live === 'blue' ? 'green' : 'blue';
  const services = rt.account.ecs.DescribeServices({
    cluster: target.ecs.cluster,
    services: [target.ecs.services.blue, target.ecs.services.green],
  }).services;
  const service = (colour: 'blue' | 'green') =>
    services.find((s) => s.serviceName === target.ecs.services[colour]);

  // I1
  if (!live) broken.push(`I1: traffic split ${JSON.stringify(weights)}`);
  else {
    const s = service(live);
    const health = rt.account.elbv2.DescribeTargetHealth({
      TargetGroupArn: target.traffic.targetGroups[live],
    });
    const healthy = health.TargetHealthDescriptions.filter((d) => d.TargetHealth?.State === 'healthy').length;
    if (!s || (s.runningCount ?? 0) === 0 || s.runningCount !== s.desiredCount) {
      broken.push(`I1: live ${live} runs ${s?.runningCount}/${s?.desiredCount} tasks`);
    }
    if (healthy === 0 || healthy !== health.TargetHealthDescriptions.length) {
      broken.push(
        `I1: live ${live} has ${healthy}/${health.TargetHealthDescriptions.length} healthy targets`,
      );
    }
  }
  // I2
  const lock = await rt.until(rt.store.getLock(target.name));
  if (lock) broken.push(`I2: lock held by ${lock.owner}`);
  // I3, I5
  const liveImage = live ? service(live)?.taskDefinition : undefined;
  for (const releaseId of releaseIds) {
    const record: ReleaseRecord | undefined = await rt.until(rt.store.getRelease(releaseId));
    if (!record) {
      broken.push(`I3: no record of ${releaseId}`);
      continue;
    }
    if (!record.outcome || !terminal.has(record.outcome)) {
      broken.push(`I3: ${releaseId} ended with outcome ${record.outcome} (status ${record.status})`);
      continue;
    }
    const isRelease = (record.kind ?? 'release') === 'release';
    if (isRelease && record.outcome === 'Promoted') {
      if (live !== record.toColour)
        broken.push(`I3: ${releaseId} Promoted but ${live} is live, not ${record.toColour}`);
      if (record.taskDefinitionArn && liveImage !== record.taskDefinitionArn) {
        broken.push(`I3: ${releaseId} Promoted but live runs ${liveImage}`);
      }
    }
    if (isRelease && (record.outcome === 'Aborted' || record.outcome === 'RolledBack') && record.fromColour) {
      if (live !== record.fromColour) broken.push(`I3: ${releaseId} ${record.outcome} but ${live} is live`);
    }
    const notified = rt.account.sns.published.some(
      (m) => m.attributes.releaseId === releaseId && m.attributes.event === record.outcome,
    );
    if (!notified) broken.push(`I5: no ${record.outcome} notification for ${releaseId}`);
  }
  // I4
  const idleService = service(idle);
  if ((idleService?.desiredCount ?? 0) !== 0 || (idleService?.runningCount ?? 0) !== 0) {
    broken.push(`I4: idle ${idle} runs ${idleService?.runningCount}/${idleService?.desiredCount} tasks`);
  }
  // I6
  const destructive = [...rt.account.calls.keys()].filter((k) =>
    /^(RDS\.Delete|ECS\.DeregisterTaskDefinition|ECS\.DeleteTaskDefinitions)/.test(k),
  );
  if (destructive.length > 0) broken.push(`I6: called ${destructive.join(', ')}`);
  const snapshots = rt.account.rds.snapshots.size;
  if (snapshots < snapshotsBefore) broken.push(`I6: ${snapshotsBefore - snapshots} snapshot(s) gone`);
  for (const colour of ['blue', 'green'] as const) {
    const arn = service(colour)?.taskDefinition;
    const definition = arn ? rt.account.ecs.taskDefinitions.get(arn) : undefined;
    if (arn && definition?.status !== 'ACTIVE') broken.push(`I6: ${colour} runs ${arn}, which is not ACTIVE`);
  }
  return broken;
};
