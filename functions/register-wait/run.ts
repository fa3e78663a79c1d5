import { findTarget, type TargetsFile } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { haltReason } from '../shared/halt.ts';
import { freezeNotice, notify, stepNotice } from '../shared/notifications.ts';
import type { WaitRecord } from '../shared/store.ts';
import { otherColour, WaitKind, WaitStatus } from '../shared/vocabulary.ts';
import {
  bakeResourceKey,
  checkWaits,
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

export const waitFor = (input: Input, createdAt: Date, targets: TargetsFile): WaitRecord => {
  const base = {
    waitId: `${input.releaseId}#${input.kind}`,
    releaseId: input.releaseId,
    taskToken: input.taskToken,
    status: WaitStatus.Pending,
    createdAt: createdAt.toISOString(),
    expiresAt: Math.floor(createdAt.getTime() / 1000) + RETENTION_SECONDS,
  };
  if (input.kind === WaitKind.ServiceStable) {
    const { cluster, service, taskDefinitionArn } = input.deployment;
    return {
      ...base,
      kind: input.kind,
      resourceKey: serviceResourceKey(cluster, service),
      condition: { cluster, service, taskDefinitionArn, graceSeconds: input.graceSeconds },
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
  const wait = waitFor(input, deps.now(), deps.targets);
  await deps.store.putWait(wait);
  // A rollback asked this release to stop while it was between waits: stop at this one.
  const halted = haltReason(await deps.store.getRelease(input.releaseId));
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
