/**
 * What must hold after any release or rollback, whatever went wrong on the way (the fault matrix
 * and the property run check these):
 * I1 traffic is 100% on one colour, and that colour's tasks are running and healthy;
 * I2 the target's lock is free;
 * I3 each release record has a terminal outcome that matches where traffic ended;
 * I4 nothing runs that should not: the idle colour is scaled to 0;
 * I5 a notification went out for each outcome;
 * I6 no snapshot was deleted, and no task definition in use was deregistered;
 * I7 outcomes are true: a Promoted release's task definition serves 100%; a RolledBack (or Aborted)
 *    release left the version live before it serving; a RolledBack rollback left the version
 *    promoted before the one it rolled back serving;
 * I9 a group's singleton never runs two colours at once (`watchSingletons` sees every instant; the
 *    end state is checked here too); and the group moved as one: every member's live colour is the
 *    primary's, running at its size, its idle colour at 0 (I1 and I4 for every service of a group).
 * I8 recovery is bounded (`recoveryBroken`, checked two reconciler periods after a fault): no target
 *    is blocked by an ended execution, no traffic is split, no record of an ended execution is open.
 */
import type { Target } from '../../functions/shared/config.ts';
import { SAFE_COLOUR_WAIT_MS } from '../../functions/shared/recovery.ts';
import type { ReleaseRecord } from '../../functions/shared/store.ts';
import type { LocalRuntime } from '../../local/runtime.ts';
import { liveWeights, openWork, watchSingletons } from '../../local/scenarios.ts';

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
  // I3, I5. Where traffic ended is checked against the record that ended last (below): an earlier
  // one may have been rolled back since.
  const liveImage = live ? service(live)?.taskDefinition : undefined;
  const records = await Promise.all(releaseIds.map((id) => rt.until(rt.store.getRelease(id))));
  const lastEnded = records
    .filter((r): r is ReleaseRecord => Boolean(r?.outcome))
    .sort((a, b) => (a.endedAt ?? a.updatedAt).localeCompare(b.endedAt ?? b.updatedAt))
    .at(-1)?.releaseId;
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
    const isRelease = (record.kind ?? 'release') === 'release' && releaseId === lastEnded;
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
  // I7, for the record that ended last (it decided what serves now; an earlier one may have been
  // rolled back since).
  const liveTaskDefinition = live ? service(live)?.taskDefinition : undefined;
  const last = records.find((r) => r?.releaseId === lastEnded);
  for (const record of last && liveTaskDefinition ? [last] : []) {
    const releaseId = record.releaseId;
    const isRelease = (record.kind ?? 'release') === 'release';
    let expected: string | undefined;
    if (isRelease && record.outcome === 'Promoted') expected = record.taskDefinitionArn;
    if (isRelease && (record.outcome === 'RolledBack' || record.outcome === 'Aborted')) {
      expected = record.previousTaskDefinitionArn;
    }
    if (!isRelease && record.outcome === 'RolledBack' && record.rollbackOf) {
      expected = (await rt.until(rt.store.getRelease(record.rollbackOf)))?.previousTaskDefinitionArn;
    }
    if (expected && expected !== liveTaskDefinition) {
      broken.push(`I7: ${releaseId} ${record.outcome}, but ${liveTaskDefinition} serves, not ${expected}`);
    }
  }
  // I4
  const idleService = service(idle);
  if ((idleService?.desiredCount ?? 0) !== 0 || (idleService?.runningCount ?? 0) !== 0) {
    broken.push(`I4: idle ${idle} runs ${idleService?.runningCount}/${idleService?.desiredCount} tasks`);
  }
  broken.push(...groupBroken(rt, target, live));
  // A definition error (a path that points nowhere, an intrinsic refused) fails an execution outside
  // every Catch; the recovery may still tidy up after it, but it is a defect, never a fault's effect.
  for (const e of rt.executions().filter((x) => x.error === 'States.Runtime'))
    broken.push(`I3: ${e.name} failed on its own definition: ${e.cause}`);
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

/** I1, I4 and I9 for each member of the target's group (functions/shared/group.ts). */
const groupBroken = (rt: LocalRuntime, target: Target, primaryLive: string | undefined): string[] => {
  const broken: string[] = [];
  for (const m of target.group) {
    const described = rt.account.ecs.DescribeServices({
      cluster: target.ecs.cluster,
      services: [m.services.blue, m.services.green],
    }).services;
    const of = (colour: 'blue' | 'green') => described.find((s) => s.serviceName === m.services[colour]);
    let live: 'blue' | 'green' | undefined;
    if (m.traffic) {
      const w = rt.account.elbv2.weightsOf(m.traffic.listenerRuleArn ?? m.traffic.listenerArn ?? '');
      const [b, g] = [w[m.traffic.targetGroups.blue] ?? 0, w[m.traffic.targetGroups.green] ?? 0];
      live = b > 0 && g === 0 ? 'blue' : g > 0 && b === 0 ? 'green' : undefined;
      if (!live) broken.push(`I1: group member ${m.name} splits traffic blue=${b} green=${g}`);
    } else {
      const up = (['blue', 'green'] as const).filter((c) => (of(c)?.desiredCount ?? 0) > 0);
      live = up.length === 1 ? up[0] : undefined;
      if (!live)
        broken.push(`I4: group member ${m.name} runs ${up.length === 0 ? 'neither colour' : 'both colours'}`);
    }
    if (
      m.role === 'singleton' &&
      rt.account.ecs.aliveTasks(target.ecs.cluster, m.services.blue) > 0 &&
      rt.account.ecs.aliveTasks(target.ecs.cluster, m.services.green) > 0
    )
      broken.push(`I9: singleton ${m.name} runs both colours`);
    if (!live) continue;
    if (primaryLive && live !== primaryLive)
      broken.push(
        `I1: group member ${m.name} is live on ${live}, the primary on ${primaryLive}: the group did not move as one`,
      );
    const running = of(live);
    if (!running || (running.runningCount ?? 0) === 0 || running.runningCount !== running.desiredCount)
      broken.push(
        `I1: group member ${m.name}'s live ${live} runs ${running?.runningCount}/${running?.desiredCount} tasks`,
      );
    const idle = of(live === 'blue' ? 'green' : 'blue');
    if ((idle?.desiredCount ?? 0) !== 0 || (idle?.runningCount ?? 0) !== 0)
      broken.push(
        `I4: group member ${m.name}'s idle colour runs ${idle?.runningCount}/${idle?.desiredCount} tasks`,
      );
  }
  return broken;
};

/** I9 while it happens (local/scenarios.ts): attach before the release starts. */
export { watchSingletons };

/** Two reconciler periods (the default period is 60 s): the bound of I8. */
export const RECOVERY_BOUND_SECONDS = 120;

/**
 * I8, checked `RECOVERY_BOUND_SECONDS` after a fault: no lock is held by an execution that has
 * ended, traffic is not split, and no record of an ended execution is still open.
 */
export const recoveryBroken = async (
  rt: LocalRuntime,
  target: Target,
  releaseIds: string[],
): Promise<string[]> => (await rt.until(openWork(rt, target, releaseIds))).map((w) => `I8: ${w}`);

/**
 * I8's bound when the recovery waits for the colour traffic goes back to (an execution that ended
 * with a step's change in flight, recovery.ts): that wait, and the reconciler tick that ends it.
 */
export const RECOVERY_WAIT_BOUND_SECONDS = SAFE_COLOUR_WAIT_MS / 1000 + 60;

/** I8 checked as soon as it holds, for up to `seconds`: what is still open then (empty once recovered). */
export const recoveredWithin = async (
  rt: LocalRuntime,
  target: Target,
  releaseIds: string[],
  seconds: number,
): Promise<string[]> => {
  await rt.runUntil(async () => (await recoveryBroken(rt, target, releaseIds)).length === 0, seconds);
  return recoveryBroken(rt, target, releaseIds);
};
