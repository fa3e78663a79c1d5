import { checksAt, When } from '../shared/analysis/config.ts';
import { findTarget, type TargetsFile } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { haltReason } from '../shared/halt.ts';
import { freezeNotice, notify, stepNotice } from '../shared/notifications.ts';
import type { WaitRecord } from '../shared/store.ts';
import { otherColour, WaitKind, WaitStatus } from '../shared/vocabulary.ts';
import {
  bakeResourceKey,
  checkWaits,
  drainResourceKey,
  hookResourceKey,
  resumeWait,
  serviceResourceKey,
  snapshotResourceKey,
} from '../shared/waits.ts';
import type { Input, Output } from './schema.ts';

type Deps = Pick<
  ReleaseDeps,
  | 'targets'
  | 'store'
  | 'ecs'
  | 'rds'
  | 'elbv2'
  | 'cloudwatch'
  | 'sfn'
  | 'sns'
  | 'secrets'
  | 'now'
  | 'events'
  | 'eventBus'
>;

/** Waits are kept a week after they were registered, then DynamoDB's TTL removes them. */
const RETENTION_SECONDS = 7 * 24 * 3600;

export const waitFor = (
  input: Input,
  createdAt: Date,
  targets: TargetsFile,
  /** At 100%: the previous step's judged window (AnalyseBake's, its extension included), the old colour's baseline. */
  baselineWindow?: { start: string; end: string },
  /** A bake of a group: every task of its members' new colours was created after this (run's comment). */
  deployedAfter?: string,
): WaitRecord => {
  const base = {
    waitId: `${input.releaseId}#${input.kind}`,
    releaseId: input.releaseId,
    taskToken: input.taskToken,
    status: WaitStatus.Pending,
    createdAt: createdAt.toISOString(),
    expiresAt: Math.floor(createdAt.getTime() / 1000) + RETENTION_SECONDS,
  };
  // A group member's wait is named by the member and the step that waits (functions/shared/group.ts).
  const memberSuffix = 'member' in input && input.member ? `#${input.member}#${input.label ?? 'deploy'}` : '';
  if (input.kind === WaitKind.ServiceStable) {
    const { cluster, service, taskDefinitionArn, desiredCount, deploymentId } = input.deployment;
    return {
      ...base,
      waitId: `${base.waitId}${memberSuffix}`,
      kind: input.kind,
      resourceKey: serviceResourceKey(cluster, service),
      condition: {
        cluster,
        service,
        taskDefinitionArn,
        desiredCount,
        deploymentId,
        graceSeconds: input.graceSeconds,
        ...(input.member ? { member: input.member, label: input.label ?? 'deploy' } : {}),
      },
    };
  }
  if (input.kind === WaitKind.ServiceDrained) {
    const { cluster, service } = input.service;
    return {
      ...base,
      waitId: `${base.waitId}${memberSuffix}${input.stoppingOnly ? '#stopping' : ''}`,
      kind: input.kind,
      resourceKey: drainResourceKey(cluster, service),
      condition: {
        cluster,
        service,
        ...(input.stoppingOnly ? { stoppingOnly: true } : {}),
        startedAt: createdAt.toISOString(),
        ...(input.member ? { member: input.member, label: input.label ?? 'deploy' } : {}),
      },
    };
  }
  if (input.kind === WaitKind.Bake || input.kind === WaitKind.Freeze) {
    const target = findTarget(targets, input.target);
    const { step, percent, bakeSeconds, actions } = input.traffic;
    const { listenerRuleArn, listenerArn, targetGroups } = target.traffic;
    const startedAt = input.enteredAt ?? createdAt.toISOString();
    return {
      ...base,
      waitId: `${input.releaseId}#${input.kind}#${step}`,
      kind: input.kind,
      resourceKey: bakeResourceKey(target.name),
      condition: {
        step,
        percent,
        ...(input.kind === WaitKind.Freeze ? { window: input.window } : {}),
        alarms: target.alarms,
        colour: input.toColour,
        targetGroupArn: targetGroups[input.toColour],
        // The group's web members: their new colours' targets are watched as the primary's are.
        memberTargetGroupArns: (input.members ?? []).flatMap((m) =>
          m.traffic ? [m.traffic.targetGroups[m.toColour]] : [],
        ),
        // Every member's new colour: a task of it that stops on its own fails the bake.
        memberServices: (input.members ?? []).map((m) => ({
          member: m.name,
          cluster: m.cluster,
          service: m.toService,
        })),
        // One stopped task's event is judged by that task alone (checkStoppedMemberTask).
        ...(input.members?.length && deployedAfter ? { deployedAfter } : {}),
        // The target's analysis judges the new colour on real traffic on each reconciler tick.
        ...(checksAt(target.analysis, When.Bakes).length ? { analysis: { target: target.name, step } } : {}),
        // At 100% the old colour serves nothing: the previous step's bake is its baseline.
        ...(target.analysis && percent === 100 && baselineWindow ? { baselineWindow } : {}),
        // The Task's own timeout ends the bake: it counts from when the Task began.
        startedAt,
        endsAt: new Date(Date.parse(startedAt) + bakeSeconds * 1000).toISOString(),
        // What a failed bake needs to put all traffic back at once (see `resumeWait`).
        ...(actions &&
          !input.hold && {
            restore: {
              colour: otherColour(input.toColour),
              traffic: { listenerRuleArn, listenerArn, targetGroups },
              actions,
              // Each web member's rule goes back too, read first (its actions were not kept).
              members: (input.members ?? []).flatMap((m) =>
                m.traffic ? [{ colour: m.fromColour, traffic: m.traffic }] : [],
              ),
            },
          }),
      },
    };
  }
  if (input.kind === WaitKind.HookTask) {
    const target = findTarget(targets, input.target);
    return {
      ...base,
      waitId: `${input.releaseId}#${input.kind}#${input.hook.point}#${input.hook.name}`,
      kind: input.kind,
      resourceKey: hookResourceKey(target.name),
      condition: {
        ...input.task,
        hook: input.hook.name,
        point: input.hook.point,
        container: input.hook.container,
        // The recovery of a stopped release stops its hook tasks, but leaves a migration to finish.
        migration: input.hook.migration !== undefined,
        startedAt: input.enteredAt ?? createdAt.toISOString(),
        // After 100% a hook runs with traffic on the new colour: its alarms end it at once.
        alarms: input.hook.point === 'postTraffic' ? target.alarms : [],
      },
    };
  }
  const { snapshotId, databaseKind } = input.snapshot;
  return {
    ...base,
    kind: input.kind,
    resourceKey: snapshotResourceKey(snapshotId),
    condition: { snapshotId, databaseKind },
  };
};

/**
 * Parks the execution: stores what it waits for with its task token, then checks the condition
 * once, because the event that would resume it may have come before the wait existed.
 */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const watch = input.kind === WaitKind.Bake || input.kind === WaitKind.Freeze;
  const record =
    watch &&
    (input.members?.length ||
      (input.traffic.percent === 100 && findTarget(deps.targets, input.target).analysis))
      ? await deps.store.getRelease(input.releaseId)
      : undefined;
  // At 100% the old colour's baseline is the previous step's window as AnalyseBake judged it.
  const judged =
    watch && input.traffic.percent === 100
      ? record?.analysis?.filter((a) => a.percent > 0 && a.percent < 100).at(-1)
      : undefined;
  // A group's new tasks were all created after this release began validating, with the lock held:
  // a task created before (a release queued behind the previous one starts its execution early)
  // is the previous release's, whatever its colour.
  const deployedAfter = record?.phases.find((p) => p.name === 'Validate')?.startedAt;
  const wait = waitFor(
    input,
    deps.now(),
    deps.targets,
    judged ? { start: judged.from, end: judged.to } : undefined,
    deployedAfter,
  );
  await deps.store.putWait(wait);
  // A rollback asked this release to stop while it was between waits: stop at this one. Not a wait
  // of the way back (RollBackGroup): stopping is what it is doing.
  const onTheWayBack = 'label' in input && input.label === 'rollback';
  const halted = onTheWayBack ? undefined : haltReason(await deps.store.getRelease(input.releaseId));
  if (halted) {
    const cause = `${halted}: this release stops here`;
    await resumeWait(wait, { state: 'failed', error: 'RollbackRequested', cause }, deps);
    return { waitId: wait.waitId, state: 'failed' };
  }
  const check = (await checkWaits([wait], deps)).get(wait.waitId);
  if (check && check.state !== 'pending') await resumeWait(wait, check, deps);
  else if (input.kind === WaitKind.Bake) {
    // The step's notice, sent inside the bake's time (the bake began when this Task did).
    const target = findTarget(deps.targets, input.target);
    await notify(deps, target, stepNotice(target, input.releaseId, input.toColour, input.traffic));
  } else if (input.kind === WaitKind.Freeze) {
    const target = findTarget(deps.targets, input.target);
    await notify(deps, target, freezeNotice(target, input.releaseId, input.toColour, input));
  }
  return { waitId: wait.waitId, state: check?.state ?? 'pending' };
};
