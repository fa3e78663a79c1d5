import { DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { findTarget } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { describeService } from '../shared/ecs.ts';
import { NothingToRollBack, ResourceNotFound, RollbackNeedsRestore } from '../shared/errors.ts';
import { activeFreeze } from '../shared/freeze.ts';
import { groupFields } from '../shared/group.ts';
import { releaseToUndo, rolledBackBy } from '../shared/history.ts';
import { momentPhase, type ReleaseRecord } from '../shared/store.ts';
import { liveColour, readWeights } from '../shared/traffic.ts';
import { type Colour, Outcome, RollbackPath, Strategy } from '../shared/vocabulary.ts';
import { planGroupRollback } from './group.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'targets' | 'store' | 'ecs' | 'elbv2' | 'now'>;

/**
 * Decides what the rollback does, from AWS (the live colour, the previous colour's tasks) and the
 * release records (which release put the live colour there, and what ran before it):
 * - none: the release this rollback aborted has already put traffic back;
 * - fast: the previous colour still runs the last good task definition, healthy: one weight change;
 * - slow: the previous colour was scaled down or changed: redeploy the last good task definition.
 * No Promoted release behind the live colour, or one already rolled back, is NothingToRollBack.
 */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const target = findTarget(deps.targets, input.target);
  const me = await deps.store.getRelease(input.releaseId);
  if (!me) throw new ResourceNotFound(`rollback record ${input.releaseId} not found`);
  const where = target.traffic.listenerRuleArn ?? target.traffic.listenerArn ?? '';
  const [{ weights }, records] = await Promise.all([
    readWeights(deps.elbv2, target.traffic),
    deps.store.releasesForTarget(target.name, 50),
  ]);
  const history = records.filter((r) => r.releaseId !== input.releaseId);
  // The release to undo (history.ts): the newest Promoted or RollbackFailed one (a RollbackFailed one
  // used to be passed over: NothingToRollBack with v2 serving, found by review).
  const toUndo = releaseToUndo(history);
  // Traffic a canary's RollbackFailed left split belongs to its new colour: the rollback puts it all back.
  const live =
    toUndo?.toColour && weights[toUndo.toColour] > 0 ? toUndo.toColour : liveColour(weights, where);

  const breakGlass = {
    reason: `rollback ${input.releaseId}${me.reason ? `: ${me.reason}` : ''}`,
    by: me.trigger.by ?? me.trigger.source,
  };
  // A rollback goes ahead inside a freeze window (it is the way out of an incident); the audit
  // trail says so, whichever path it takes (the weight change may be the stopped release's own).
  const freeze = activeFreeze(target.freezeWindows, deps.now());
  if (freeze) {
    await deps.store.appendPhase(
      input.releaseId,
      momentPhase(
        'BreakGlass',
        deps.now(),
        'succeeded',
        `rollback inside freeze window "${freeze.window.name}" (until ${freeze.endsAt.toISOString()}): ${breakGlass.reason} (by ${breakGlass.by})`,
      ),
    );
  }
  const base = {
    cluster: target.ecs.cluster,
    container: target.ecs.container,
    hasDatabase: false,
    graceSeconds: target.health.graceSeconds,
    // A rollback is the way out of an incident: it never waits for an approver.
    approvalSeconds: 0,
    strategy: Strategy.AllAtOnce,
    steps: [{ percent: 100, bakeSeconds: 0 }],
    // A rollback runs no hooks: it puts back what ran before, schema questions are the operator's.
    hooks: { preDeploy: [], preTraffic: [], postTraffic: [] },
    changes: [],
    migration: 'none' as const,
    holdOnFailure: false,
    // A group's members are planned below (group.ts), once the promoted release is known.
    members: [],
    cutovers: [],
    // A rollback goes back to what ran before: it is not judged against it, nor by the alarms the
    // version it removes set off (firing is why an operator rolls back).
    analysisChecks: [],
    alarmsJudgeNewColour: false,
    testTrafficChecks: [],
    // A rollback moves traffic inside freeze windows; the audit trail records it as break-glass.
    breakGlass,
  };
  const colours = (from: Colour, to: Colour) => ({
    fromColour: from,
    toColour: to,
    fromService: target.ecs.services[from],
    toService: target.ecs.services[to],
  });

  // The release this rollback stopped. If it had moved traffic, it is the bad version and putting
  // its traffic back (which it did, RolledBack) is the whole rollback. If it never had traffic
  // (stopped while deploying, checking or waiting for approval: Aborted), the version ops want gone
  // is the one live, so the rollback goes on to the last Promoted release below.
  const aborted = history.find((r) => r.abortRequestedBy === input.releaseId);
  if (aborted?.outcome === Outcome.RolledBack && aborted.fromColour === live) {
    const plan = await liveSized(deps, target.ecs.cluster, target.ecs.services[live]);
    await deps.store.updateRelease(input.releaseId, {
      rollbackOf: aborted.releaseId,
      rollbackPath: RollbackPath.None,
    });
    return {
      ...base,
      ...colours(aborted.toColour ?? live, live),
      ...plan,
      path: RollbackPath.None,
      rollbackOf: aborted.releaseId,
      snapshotId: aborted.snapshotId ?? null,
      summary: `${aborted.releaseId} stopped at this rollback's request and ended ${aborted.outcome}; traffic is on ${live}`,
    };
  }

  if (!toUndo?.fromColour || !toUndo.toColour || !toUndo.previousTaskDefinitionArn) {
    throw new NothingToRollBack(`${target.name} has no Promoted release to roll back`);
  }
  const undone = rolledBackBy(history, toUndo.releaseId);
  if (undone) {
    throw new NothingToRollBack(`${toUndo.releaseId} was already rolled back by ${undone.releaseId}`);
  }
  if (toUndo.toColour !== live) {
    // Its primary back, a group member's rule may not be (RollBackTraffic moves them together, and
    // one refused write fails it): a rollback, which moves a group with its primary, cannot help,
    // so say which rule to move by hand rather than that nothing is left (review of 732821c).
    if (toUndo.outcome === Outcome.RollbackFailed) await refuseMemberLeftOnNewColour(toUndo, deps);
    throw new NothingToRollBack(
      toUndo.outcome === Outcome.RollbackFailed
        ? `traffic is on ${live}, not on ${toUndo.toColour}: ${toUndo.releaseId} ended ${toUndo.outcome} ${(toUndo.trafficPercent ?? 0) > 0 ? 'and its traffic has been moved back since' : 'before any traffic moved to it'}; nothing of it to roll back`
        : `traffic is on ${live}, not on ${toUndo.toColour} where ${toUndo.releaseId} put it; nothing of it to roll back`,
    );
  }

  // After a breaking migration the old version cannot run on the new schema: putting traffic back
  // without the snapshot restored would take the service down. The operator restores, then forces.
  if (toUndo.migrated === 'breaking' && !me.force) {
    throw new RollbackNeedsRestore(
      `${toUndo.releaseId} ran a breaking migration: the previous version cannot run on the new schema. Restore the database from snapshot ${toUndo.snapshotId ?? '(none recorded: the target has no database)'} first, then run \`switchyard rollback --target ${target.name} --force\``,
    );
  }
  // A group goes back as one: every member's last good revision redeployed (group.ts).
  const { members, alreadyBack } =
    target.group.length > 0
      ? await planGroupRollback(target, toUndo, deps)
      : { members: [], alreadyBack: [] };
  const previous = toUndo.fromColour;
  const [current, before] = await Promise.all([
    describeService(deps.ecs, target.ecs.cluster, target.ecs.services[live]),
    describeService(deps.ecs, target.ecs.cluster, target.ecs.services[previous]),
  ]);
  const desiredCount = Math.max(1, current.desiredCount ?? 0);
  const lastGood = toUndo.previousTaskDefinitionArn;
  let path: RollbackPath = RollbackPath.Slow;
  // A promoted group's old colours were scaled to 0 with the primary's: only the slow path puts
  // every member back, so a group with members to put back never takes the fast one (members all
  // back already leave the primary alone, group.ts). The fast path moves all traffic at once
  // with no health check after it: only onto a colour as large as the live one and healthy throughout
  // (it took one healthy target: after a RollbackFailed, a colour coming back with 1 of 4 took all
  // traffic for half a minute, and a colour broken in part stayed so; found by review). Else the slow
  // path redeploys it, waits for it to be stable and checks its health before traffic moves.
  if (
    members.length === 0 &&
    (before.runningCount ?? 0) >= desiredCount &&
    before.taskDefinition === lastGood
  ) {
    const health = await deps.elbv2.send(
      new DescribeTargetHealthCommand({ TargetGroupArn: target.traffic.targetGroups[previous] }),
    );
    const healthy = (health.TargetHealthDescriptions ?? []).filter(
      (t) => t.TargetHealth?.State === 'healthy',
    );
    if (healthy.length >= desiredCount) path = RollbackPath.Fast;
  }
  await deps.store.updateRelease(input.releaseId, {
    rollbackOf: toUndo.releaseId,
    rollbackPath: path,
    fromColour: live,
    toColour: previous,
    previousTaskDefinitionArn: current.taskDefinition,
    ...(toUndo.snapshotId ? { snapshotId: toUndo.snapshotId } : {}),
    // The recovery of a stopped rollback puts its group back from this, as for a release.
    ...(members.length > 0 ? { members } : {}),
    // Said in the outcome's notice too (notify): a release colour of theirs may still be running.
    ...(alreadyBack.length > 0 ? { alreadyBack } : {}),
  });
  return {
    ...base,
    ...groupFields(members),
    ...colours(live, previous),
    desiredCount,
    fromTaskDefinitionArn: current.taskDefinition ?? '',
    deployTaskDefinitionArn: lastGood,
    path,
    rollbackOf: toUndo.releaseId,
    snapshotId: toUndo.snapshotId ?? null,
    summary:
      (aborted?.outcome
        ? `${aborted.releaseId} stopped at this rollback's request (${aborted.outcome}); `
        : '') +
      (path === RollbackPath.Fast
        ? `${previous} still runs ${lastGood} (healthy): one weight change back`
        : `${previous} has ${before.runningCount ?? 0} running task(s) of ${before.taskDefinition ?? 'nothing'}: redeploying ${lastGood}`) +
      members
        .map(
          (m) =>
            `; ${m.name} (${m.role}): ${m.toService} back on ${m.fromTaskDefinitionArn.split('/').at(-1)}`,
        )
        .join('') +
      (alreadyBack.length ? `; already back, left as they are: ${alreadyBack.join(', ')}` : ''),
  };
};

/** A group member's rule of `release` still sending traffic to its new colour: a refusal naming it. */
const refuseMemberLeftOnNewColour = async (release: ReleaseRecord, deps: Deps) => {
  for (const m of release.members ?? []) {
    if (!m.traffic) continue;
    const { weights } = await readWeights(deps.elbv2, m.traffic);
    if (weights[m.toColour] > 0)
      throw new NothingToRollBack(
        `${release.releaseId} ended ${release.outcome} with its primary's traffic back on ${release.fromColour}, but group member ${m.name}'s rule ${m.traffic.listenerRuleArn ?? m.traffic.listenerArn} still sends traffic to ${m.toColour} (${m.toService}): move it to ${m.fromColour} by hand (a rollback moves a group only with its primary)`,
      );
  }
};

const liveSized = async (deps: Deps, cluster: string, service: string) => {
  const svc = await describeService(deps.ecs, cluster, service);
  return {
    desiredCount: Math.max(1, svc.desiredCount ?? 0),
    fromTaskDefinitionArn: svc.taskDefinition ?? '',
  };
};
