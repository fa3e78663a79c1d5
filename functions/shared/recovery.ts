/**
 * Bounded recovery: when a release or rollback execution ends without finishing its own work
 * (stopped by hand, timed out, failed outside every Catch), this puts traffic on a healthy colour,
 * scales the colour it was deploying back to 0, records a true outcome, frees (or hands over) the
 * target's lock and says so. Driven by Step Functions' `Execution Status Change` event, and by the
 * reconciler, which checks each lock's owner (events are not guaranteed), so recovery takes at most
 * one reconciler period after the event should have come; longer only while a step of the ended
 * execution still holds one of the target's services, or the colour traffic must go back to is not
 * yet whole again (up to SAFE_COLOUR_WAIT_MS): it is then 'recovering', and the lock stays with it.
 */
import { StopTaskCommand } from '@aws-sdk/client-ecs';
import { DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { run as releaseLock } from '../release-lock/run.ts';
import { closeApproval } from './approvals.ts';
import { findTarget, type Target } from './config.ts';
import type { ReleaseDeps } from './deps.ts';
import { describeService, scaleService } from './ecs.ts';
import { ReleaseState } from './events.ts';
import { type MemberPlan, MemberRole } from './group.ts';
import { rollbackAdvice } from './history.ts';
import { logger } from './logger.ts';
import { notify } from './notifications.ts';
import { soakFor } from './promotion.ts';
import type { ReleaseRecord, WaitRecord } from './store.ts';
import { allTo, readWeights, setWeights } from './traffic.ts';
import { type Colour, Outcome, ReleaseKind, ReleaseStatus, WaitKind } from './vocabulary.ts';
import { drainedCheck } from './waits.ts';

export type RecoveryDeps = Pick<
  ReleaseDeps,
  | 'targets'
  | 'store'
  | 'ecs'
  | 'elbv2'
  | 'sfn'
  | 'sns'
  | 'secrets'
  | 'now'
  | 'approvals'
  | 'events'
  | 'eventBus'
>;

/** What ended the execution, as Step Functions reports it. */
export type EndedStatus = 'ABORTED' | 'TIMED_OUT' | 'FAILED';

export interface Recovery {
  releaseId: string;
  /** What was done: nothing (already ended), or the outcome recorded now. */
  outcome?: Outcome;
  weights?: { blue: number; green: number };
  detail: string;
  /** Not done yet: the recovery waits, and the next reconciler tick looks again (`waiting`). */
  waiting?: true;
}

const errorName: Record<EndedStatus, string> = {
  ABORTED: 'ExecutionAborted',
  TIMED_OUT: 'ExecutionTimedOut',
  FAILED: 'ExecutionFailed',
};

export const recoverExecution = async (
  releaseId: string,
  status: EndedStatus | 'SUCCEEDED',
  deps: RecoveryDeps,
): Promise<Recovery> => {
  const record = await deps.store.getRelease(releaseId);
  if (!record) return { releaseId, detail: 'no release record: nothing began' };
  const lock = await deps.store.getLock(record.target);
  const holdsLock = lock?.owner === releaseId;
  if (record.outcome || status === 'SUCCEEDED') {
    // It finished its own work; the lock may be left (ended between RecordOutcome and ReleaseLock),
    // and the outcome not yet announced (ended before Notify).
    if (holdsLock) await releaseLock({ releaseId, target: record.target }, deps);
    const announced = record.announcedAt !== undefined;
    // Claimed with a conditional write: a duplicated status event or a reconciler tick at the same
    // moment announces nothing twice.
    const claimed =
      record.outcome &&
      status !== 'SUCCEEDED' &&
      !announced &&
      (await deps.store.updateRelease(
        releaseId,
        { announcedAt: deps.now().toISOString() },
        { unlessSet: 'announcedAt' },
      ));
    if (record.outcome && claimed) {
      const target = findTarget(deps.targets, record.target);
      await notify(deps, target, outcomeNotice(record, target, record.outcome, 'recorded before it ended'));
    }
    return { releaseId, detail: `already ended ${record.outcome ?? 'SUCCEEDED'}` };
  }
  // First the halt marker: a step's Lambda still running (AWS does not stop it with the execution)
  // sees it after its change and undoes that change itself, or its change landed before the reads
  // below and is undone here (halt.ts).
  await deps.store.updateRelease(releaseId, {
    haltedBy: status,
    ...(record.haltedAt ? {} : { haltedAt: deps.now().toISOString() }),
  });
  // Read again after the halt: a scale-down that began before it has marked the record (promoted).
  const scaledDownAt =
    (await deps.store.getRelease(releaseId))?.oldColourScaledDownAt ?? record.oldColourScaledDownAt;
  // Its waits die with it: close them, so no event or reconciler tick acts on them later (a bake's
  // fast rollback would otherwise move traffic under whichever release holds the target next).
  for (const wait of (await deps.store.allPendingWaits()).filter((w) => w.releaseId === releaseId)) {
    await deps.store.claimWait(wait);
    if (wait.kind === WaitKind.HookTask) await stopHookTask(wait, status, deps);
  }
  // So does a pending approval (stopped while it waited): its page says nothing will be decided.
  if (record.approvalId) await closeApproval(record.approvalId, status, deps, { onlyPending: true });
  const target = findTarget(deps.targets, record.target);
  const rollback = record.kind === ReleaseKind.Rollback;
  const notes: string[] = [];
  let outcome: Outcome = Outcome.Aborted;
  let weights: { blue: number; green: number } | undefined;
  const changing = holdsLock ? await changesInFlight(record, target, deps) : undefined;
  if (!holdsLock) {
    // Another release holds the target now (or nobody does): moving traffic or scaling could fight it.
    notes.push('it no longer held the lock, so traffic and services were left as they are');
  } else if (changing) {
    // A step of the ended execution still holds a service: its change (a scale-down, say) may land,
    // and the step, seeing the halt, may undo it. Reads now could show either, stale or not: wait.
    return waiting(record, target, changing, deps);
  } else {
    const found = await restoreTraffic(
      { ...record, oldColourScaledDownAt: scaledDownAt },
      target,
      rollback,
      deps,
      notes,
    );
    if (found.outcome === 'pending') return waiting(record, target, notes.join('; '), deps);
    outcome = found.outcome;
    weights = found.weights;
    if (record.members?.length && outcome !== Outcome.RollbackFailed) {
      // A rollback whose traffic went back finishes moving its group there; one that had not moved
      // traffic yet leaves the group as the promoted release left it, as a release's recovery does.
      const group =
        rollback && outcome === Outcome.RolledBack
          ? await finishGroup(record.members, deps, notes)
          : await restoreGroup(record.members, outcome === Outcome.Promoted, deps, notes);
      // A singleton's new colour is still stopping: its old one may start only once it has, so the
      // lock stays with the ended execution and the next reconciler tick finishes the recovery.
      if (group === 'pending') {
        // What this pass did must survive to the next: traffic put back now makes it RolledBack.
        if (outcome === Outcome.RolledBack && !record.trafficRestoredAt)
          await deps.store.updateRelease(releaseId, { trafficRestoredAt: deps.now().toISOString() });
        return waiting(record, target, notes.join('; '), deps);
      }
    }
  }
  const cause = `the execution ended ${status} before it finished; ${notes.join('; ')}`;
  // The status event and a reconciler tick may recover the same execution at once: the moves above
  // are idempotent, but only the one that records the outcome frees the lock and announces it.
  const first = await deps.store.updateRelease(
    releaseId,
    {
      status: outcome,
      outcome,
      endedAt: deps.now().toISOString(),
      error: { Error: errorName[status], Cause: cause },
      // A release it found promoted soaks like any other (soak.ts): targets promoted from this one wait on it.
      soak: outcome === Outcome.Promoted ? soakFor(deps, target.name, deps.now()) : undefined,
    },
    { unlessSet: 'outcome' },
  );
  if (!first) return { releaseId, detail: 'recovered meanwhile by another run' };
  logger.info('release outcome', { outcome, target: target.name, recovered: true });
  if (holdsLock) await releaseLock({ releaseId, target: target.name }, deps);
  // Announced once: marked first, so a duplicated status event (or a reconciler tick) that finds the
  // outcome recorded does not announce it again as "recorded before it ended".
  const announce = await deps.store.updateRelease(
    releaseId,
    { announcedAt: deps.now().toISOString() },
    { unlessSet: 'announcedAt' },
  );
  // A channel that fails never fails the recovery (notify logs and counts it).
  if (announce)
    await notify(
      deps,
      target,
      outcomeNotice(record, target, outcome, `${errorName[status]}: ${cause}`, weights),
    );
  return { releaseId, outcome, weights, detail: cause };
};

/**
 * The recovery must wait (a step still changing a service, the safe colour not whole yet, a
 * singleton still stopping): the lock stays with the ended execution and the next reconciler tick
 * looks again. The record says Recovering, and the target's channels hear it once, with why.
 */
const waiting = async (record: ReleaseRecord, target: Target, why: string, deps: RecoveryDeps) => {
  // The lease outlives the bounded waits: a lock whose lease ran out and whose execution ended is
  // taken over as its owner's (acquire-lock), and a release that ran a day would lose the target
  // mid-recovery, never to be finished (found by review). An hour on from each tick, while this still
  // holds it, but never past an hour after the safe colour's wait: a singleton task that never stops
  // (an agent gone) would otherwise hold the target for good; the lease is then its way out, as before.
  const nowMs = deps.now().getTime();
  const haltedMs = Date.parse(record.haltedAt ?? '') || nowMs;
  const until = Math.min(nowMs + WAITING_LEASE_MS, haltedMs + SAFE_COLOUR_WAIT_MS + WAITING_LEASE_MS);
  await deps.store.extendLease(record.target, record.releaseId, until);
  const first = await deps.store.updateRelease(
    record.releaseId,
    { status: ReleaseStatus.Recovering, recoveringSince: deps.now().toISOString() },
    // Not over an outcome a twin recovery (the status event and a tick at once) has just recorded.
    { unlessSet: ['recoveringSince', 'outcome'] },
  );
  if (first) {
    await notify(deps, target, {
      releaseId: record.releaseId,
      event: ReleaseState.Recovering,
      state: {
        name: ReleaseState.Recovering,
        detail: {
          kind: record.kind ?? 'release',
          ...(record.image ? { image: record.image } : {}),
          reason: why,
        },
      },
      subject: `[switchyard] ${target.name} (${target.environment}) ${record.image?.tag ?? record.kind ?? 'release'}: recovering`,
      lines: [
        `${record.kind === ReleaseKind.Rollback ? 'Rollback' : 'Release'} ${record.releaseId} of ${target.name} (${target.environment}) ended before it finished. The recovery waits before it puts the target back: while a step of it may still be changing one of the target's services, and up to ${SAFE_COLOUR_WAIT_MS / 60_000} minutes for the colour it puts traffic back on to be whole again. It looks again every minute and holds the target meanwhile; a rollback or a release asked for now waits for it. The outcome follows in its own notice.`,
        `Waiting first for: ${why}.`,
      ],
    });
  }
  return { releaseId: record.releaseId, detail: `recovering: ${why}`, waiting: true } satisfies Recovery;
};

const outcomeNotice = (
  record: ReleaseRecord,
  target: Target,
  outcome: Outcome,
  reason: string,
  weights?: { blue: number; green: number },
) => ({
  releaseId: record.releaseId,
  event: outcome,
  state: {
    name: outcome,
    detail: {
      kind: record.kind ?? 'release',
      ...(record.image ? { image: record.image } : {}),
      recovered: true,
      reason: reason.slice(0, 1000),
    },
  },
  subject: `[switchyard] ${target.name} (${target.environment}) ${record.image?.tag ?? record.kind ?? 'release'}: ${outcome}`,
  lines: [
    `${record.kind === ReleaseKind.Rollback ? 'Rollback' : 'Release'} ${record.releaseId} of ${target.name} (${target.environment}) ended ${outcome}.`,
    `Reason: ${reason}`,
    ...(outcome === Outcome.RollbackFailed ? [rollbackAdvice(record, target.name, weights)] : []).filter(
      (line) => line !== undefined,
    ),
  ],
});

/**
 * How long the recovery waits for the colour it must put traffic on to be whole again, counted from
 * when it first found the execution ended: a step that saw the halt may have just scaled it back up
 * (halt.ts). Its tasks start (Fargate: a minute or two) and pass the target group's health checks
 * (ELB's defaults: 5 checks 30 s apart, docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html);
 * 15 minutes is ample. After it, the colour is taken as broken: RollbackFailed, traffic left as it is.
 */
export const SAFE_COLOUR_WAIT_MS = 15 * 60_000;

/** A waiting recovery's lock lease, from each tick: longer than the ticks between, and the wait. */
const WAITING_LEASE_MS = 60 * 60_000;

/**
 * A change a step of this release may still make: its claim on one of the target's services (the
 * primary's colours and each member's), held and not run out (service-claims.ts). The step gives it
 * up as it returns or fails, or it runs out at the step's deadline.
 */
const changesInFlight = async (record: ReleaseRecord, target: Target, deps: RecoveryDeps) => {
  const { cluster } = target.ecs;
  const services = [
    `${cluster}/${target.ecs.services.blue}`,
    `${cluster}/${target.ecs.services.green}`,
    ...(record.members ?? []).flatMap((m) => [
      `${m.cluster}/${m.fromService}`,
      `${m.cluster}/${m.toService}`,
    ]),
  ];
  const claims = await Promise.all(services.map((s) => deps.store.serviceClaim(s)));
  const nowMs = deps.now().getTime();
  const held = services.flatMap((service, i) => {
    const claim = claims[i];
    return claim && claim.holder === record.releaseId && claim.untilMs > nowMs ? [{ service, claim }] : [];
  });
  if (held.length === 0) return undefined;
  return `a step of it may still be changing ${held.map((h) => `${h.service} (its claim runs until ${new Date(h.claim.untilMs).toISOString()})`).join(', ')}; decided once it is done`;
};

/**
 * Puts the target's traffic on a healthy colour and says what that makes the outcome. A release
 * that had already promoted (the old colour scaled down, all traffic on the new one) is left
 * alone and called Promoted; traffic only ever moves to a colour whose desired tasks all run and
 * are healthy in its target group.
 */
const restoreTraffic = async (
  record: ReleaseRecord,
  target: Target,
  rollback: boolean,
  deps: RecoveryDeps,
  notes: string[],
): Promise<{ outcome: Outcome | 'pending'; weights?: { blue: number; green: number } }> => {
  // The colour that must carry traffic: for a release, the one live before it (it never finished);
  // for a rollback, the one it was putting back, but only to finish a split it left.
  const safe: Colour | undefined = rollback ? record.toColour : record.fromColour;
  const other: Colour | undefined = safe === 'blue' ? 'green' : safe === 'green' ? 'blue' : undefined;
  if (!safe || !other) {
    notes.push('it had not planned its colours yet: nothing was deployed');
    return { outcome: Outcome.Aborted };
  }
  const state = await readWeights(deps.elbv2, target.traffic);
  let weights = state.weights;
  const safeService = await describeService(deps.ecs, target.ecs.cluster, target.ecs.services[safe]);
  // Promoted: all traffic on the new colour and the old one scaled down (the step's mark: ECS's
  // reads may not show its change yet, shared/ecs.ts). Between its scale-down and its mark, a
  // moment, the read decides.
  const scaledDown = record.oldColourScaledDownAt !== undefined || (safeService.desiredCount ?? 0) === 0;
  if (!rollback && weights[other] > 0 && weights[safe] === 0 && scaledDown) {
    notes.push(`it had promoted: all traffic on ${other}, ${safe} scaled down`);
    return { outcome: Outcome.Promoted, weights };
  }
  // Not promoted, after a breaking migration: the old version cannot run on the schema it left, and
  // putting traffic back would fail every request. It stays where it is for a person (restore, then
  // rollback --force). Decided after the promoted check (found by review: a release stopped as it
  // promoted was told to restore the database, losing what was written since).
  if (!rollback && record.migrated === 'breaking') {
    // With no traffic on the new colour there is nothing to roll back (review of fb51c45); a release
    // to go forward would be refused while the alarms the old version sets off fire (review of aaf591d).
    notes.push(
      weights[other] > 0
        ? `a breaking migration ran, so traffic was left as it is (blue ${weights.blue} / green ${weights.green}): restore the database from ${record.snapshotId ?? 'the snapshot'}, then switchyard rollback --target ${target.name} --force`
        : `a breaking migration ran and no traffic is on ${other}: ${safe} (the old version) takes all of it, on the new schema; restore the database from ${record.snapshotId ?? 'the snapshot'} (there is no rollback to run)`,
    );
    return { outcome: Outcome.RollbackFailed, weights };
  }
  // A rollback that had already put all traffic back on the colour it was restoring did its job.
  const restoredByRollback = rollback && weights[safe] > 0 && weights[other] === 0;
  // Traffic had moved if a step recorded a percent: put back by now (a twin recovery of a duplicated
  // status event may have put it back a moment ago, before it could record so), it is RolledBack.
  const moved = !rollback && (record.trafficPercent ?? 0) > 0;
  let outcome: Outcome =
    record.trafficRestoredAt || restoredByRollback || moved ? Outcome.RolledBack : Outcome.Aborted;
  const split = weights.blue > 0 && weights.green > 0;
  if (rollback ? split : weights[other] > 0 || weights[safe] === 0) {
    const healthy = await healthyTargets(deps, target.traffic.targetGroups[safe]);
    const desired = safeService.desiredCount ?? 0;
    if (desired > 0 && (safeService.runningCount ?? 0) >= desired && healthy >= desired) {
      weights = (await setWeights(deps.elbv2, target.traffic, allTo(safe), state)).weights;
      notes.push(`traffic put back on ${safe} (verified; ${healthy} healthy targets)`);
      outcome = Outcome.RolledBack;
    } else {
      const state = `${safeService.runningCount ?? 0}/${desired} tasks running, ${healthy} healthy targets`;
      // It may be coming back (a step that saw the halt scaled it up again), or a read may not show
      // it yet (ECS's reads, shared/ecs.ts): the next reconciler tick looks again, for a while.
      const since = Date.parse(record.haltedAt ?? '') || deps.now().getTime();
      // A rollback or release queued meanwhile waits too: ended now, RollbackFailed would leave the
      // new colour serving, and a queued rollback would find nothing promoted to undo (found by review).
      if (deps.now().getTime() - since < SAFE_COLOUR_WAIT_MS) {
        notes.push(
          `${safe} is not whole yet (${state}): traffic stays at blue ${weights.blue} / green ${weights.green} until it is, for up to ${SAFE_COLOUR_WAIT_MS / 60_000} minutes`,
        );
        return { outcome: 'pending', weights };
      }
      notes.push(
        `${safe} is not healthy (${state}) ${SAFE_COLOUR_WAIT_MS / 60_000} minutes after the execution ended: traffic left at blue ${weights.blue} / green ${weights.green}`,
      );
      return { outcome: Outcome.RollbackFailed, weights };
    }
  }
  // Whichever of its colours carries nothing now goes to 0: the one a release was deploying, the one
  // a rollback was restoring (if it never got traffic) or replacing (if it did).
  // Scaled whatever ECS shows: the step that stopped may have deployed it a moment ago, and ECS
  // reads may not show that yet (eventual consistency, shared/ecs.ts); scaling to 0 again is harmless.
  const idle: Colour = weights[safe] === 0 ? safe : other;
  if (weights[idle] === 0) {
    await scaleService(deps.ecs, target.ecs.cluster, target.ecs.services[idle], 0);
    notes.push(`${idle} scaled to 0`);
  }
  return { outcome, weights };
};

/**
 * The group of a release that ended unfinished goes where its primary went. Not promoted: each web
 * rule back on its old colour, every new colour to 0, a cut-over worker's old colour back to its
 * size, and a singleton's old colour started again only once every task of its new one has stopped
 * ('pending' until then). Promoted: each old colour still running (the scale-down was cut short) to 0.
 */
const restoreGroup = async (
  members: MemberPlan[],
  promoted: boolean,
  deps: RecoveryDeps,
  notes: string[],
): Promise<'done' | 'pending'> => {
  let pending = false;
  for (const m of members) {
    // Each service is set to what it must be whatever ECS shows: a step that stopped a moment ago
    // may have changed it, and ECS reads may not show that yet (eventual consistency, shared/ecs.ts).
    // Setting a count a service already has changes nothing.
    if (promoted) {
      const weight = m.traffic ? (await readWeights(deps.elbv2, m.traffic)).weights[m.fromColour] : 0;
      if (weight === 0) {
        await scaleService(deps.ecs, m.cluster, m.fromService, 0);
        notes.push(`${m.name}: ${m.fromService} at 0`);
      }
      continue;
    }
    if (m.traffic) {
      const { weights } = await readWeights(deps.elbv2, m.traffic);
      if (weights[m.toColour] > 0) {
        await setWeights(deps.elbv2, m.traffic, allTo(m.fromColour));
        notes.push(`${m.name}: traffic put back on ${m.fromColour}`);
      }
    }
    await scaleService(deps.ecs, m.cluster, m.toService, 0);
    notes.push(`${m.name}: ${m.toService} at 0`);
    if (m.role === MemberRole.Singleton) {
      // Neither colour may still be stopping a task: the new one (changed over) has none left, and
      // the old one none it is stopping (a cut-over cut short after its scale-down); the old one's
      // running tasks, if it never stopped, may stay. Tasks, not the service's count: ECS's reads
      // may not show a scale-down made a moment ago (shared/ecs.ts).
      const [drained, own] = await Promise.all([
        drainedCheck(deps, m.cluster, m.toService),
        drainedCheck(deps, m.cluster, m.fromService, true),
      ]);
      if (drained.state !== 'done' || own.state !== 'done') {
        notes.push(`${m.name}: ${m.toService} is still stopping; ${m.fromService} starts once it has`);
        pending = true;
        continue;
      }
    }
    await scaleService(deps.ecs, m.cluster, m.fromService, m.desiredCount);
    notes.push(`${m.name}: ${m.fromService} at ${m.desiredCount}`);
  }
  return pending ? 'pending' : 'done';
};

/**
 * The group of a rollback that ended after it put the primary's traffic back goes the same way:
 * restoreGroup with each member's colours swapped (each web rule on the colour rolled back to, the
 * colour rolled back from at 0, a singleton changed over only once that colour's every task has
 * stopped: 'pending' until then).
 */
const finishGroup = (members: MemberPlan[], deps: RecoveryDeps, notes: string[]) =>
  restoreGroup(
    members.map((m) => ({
      ...m,
      fromColour: m.toColour,
      toColour: m.fromColour,
      fromService: m.toService,
      toService: m.fromService,
    })),
    false,
    deps,
    notes,
  );

/** A hook task of an execution that ended is stopped (a migration is left to finish: half way is worse). */
const stopHookTask = async (wait: WaitRecord, status: string, deps: RecoveryDeps) => {
  const { cluster, taskArn, hook, migration } = wait.condition as {
    cluster: string;
    taskArn: string;
    hook: string;
    migration?: boolean;
  };
  if (migration) return;
  try {
    await deps.ecs.send(
      new StopTaskCommand({
        cluster,
        task: taskArn,
        reason: `Switchyard: release ended ${status} during hook ${hook}`,
      }),
    );
  } catch (error) {
    logger.warn('could not stop a hook task', { taskArn, error: (error as Error).message });
  }
};

const healthyTargets = async (deps: RecoveryDeps, targetGroupArn: string): Promise<number> => {
  const out = await deps.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }));
  return (out.TargetHealthDescriptions ?? []).filter((t) => t.TargetHealth?.State === 'healthy').length;
};
