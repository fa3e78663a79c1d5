/** The `switchyard` commands, written once against a Backend (AWS or local). */

import { readFileSync } from 'node:fs';
import { DescribeImagesCommand } from '@aws-sdk/client-ecr';
import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { decide, describeDecision } from '../functions/shared/approvals.ts';
import { nextAttempt } from '../functions/shared/attempts.ts';
import { findTarget, type Target } from '../functions/shared/config.ts';
import { describeService, digestOf } from '../functions/shared/ecs.ts';
import { executionArnOf } from '../functions/shared/executions.ts';
import { releaseToUndo, rolledBackBy } from '../functions/shared/history.ts';
import { normaliseIdentity } from '../functions/shared/identity.ts';
import { releaseRequest, rollbackRequest } from '../functions/shared/requests.ts';
import type { BreakGlass } from '../functions/shared/schemas.ts';
import type { ReleaseRecord } from '../functions/shared/store.ts';
import type { StrategyConfig } from '../functions/shared/strategy.ts';
import {
  parseTaskDefinition,
  type TaskDefinitionFile,
  taskDefinitionKey,
} from '../functions/shared/task-definition.ts';
import { liveColour, percentages, readWeights } from '../functions/shared/traffic.ts';
import { runningVersion } from '../functions/shared/versions.ts';
import { type IfRunning, Outcome, ReleaseKind, Strategy } from '../functions/shared/vocabulary.ts';
import type { DemoFault } from '../local/own-service.ts';
import type { Backend } from './backend.ts';
import { releaseJson } from './describe.ts';
import { approversOf, durationSeconds, formatDuration, table } from './format.ts';
import { type CommandResult, type Output, UsageError } from './results.ts';

export const target = (backend: Backend, name: string): Target => {
  try {
    return findTarget(backend.targets, name);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
};

/** The target's strategy, or the named one (with the target's parameters if it has that type). */
export const strategyFor = (t: Target, name?: string): StrategyConfig | undefined => {
  if (!name) return undefined;
  if (t.traffic.strategy.type === name) return t.traffic.strategy;
  if (name === Strategy.AllAtOnce) return { type: Strategy.AllAtOnce };
  if (name === Strategy.Canary) return { type: Strategy.Canary, percent: 10, bakeMinutes: 10 };
  if (name === Strategy.Linear) return { type: Strategy.Linear, stepPercent: 10, stepBakeMinutes: 2 };
  throw new UsageError(`unknown strategy "${name}"; use all-at-once, canary or linear`);
};

const outcomeOf = async (backend: Backend, releaseId: string) =>
  (await backend.store.getRelease(releaseId))?.outcome;

/** Reads and checks a task definition file; what is wrong is a UsageError (exit 2) naming it. */
const readTaskDefinition = (file: string, container: string): TaskDefinitionFile => {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read --task-definition ${file}: ${(error as Error).message}`);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--task-definition ${file} is not valid JSON: ${(error as Error).message}`);
  }
  try {
    return parseTaskDefinition(document, container, `--task-definition ${file}`);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
};

/** The image the live colour of `t` runs (its digest and tags). */
const liveVersion = async (backend: Backend, t: Target) => {
  const where = t.traffic.listenerRuleArn ?? t.traffic.listenerArn ?? '';
  const colour = liveColour((await readWeights(backend.clients.elbv2, t.traffic)).weights, where);
  const service = await describeService(backend.clients.ecs, t.ecs.cluster, t.ecs.services[colour]);
  return runningVersion(
    backend.clients,
    { repository: t.image.repository, container: t.ecs.container },
    service.taskDefinition,
  );
};

export const release = async (
  backend: Backend,
  out: Output,
  options: {
    target: string;
    /** Unset with a task definition: the live image is kept. */
    tag?: string;
    /** A task definition file (task-definition.ts) deployed instead of a copy of the live one. */
    taskDefinition?: string;
    strategy?: string;
    breakGlass?: string;
    by: string;
    wait?: boolean;
    /** Local only: how the released image misbehaves in the simulated account. */
    fault?: DemoFault;
  },
): Promise<CommandResult> => {
  const t = target(backend, options.target);
  const taskDefinition = options.taskDefinition
    ? readTaskDefinition(options.taskDefinition, t.ecs.container)
    : undefined;
  if (options.tag && !new RegExp(`^(?:${t.image.tagPattern})$`).test(options.tag)) {
    throw new UsageError(`tag "${options.tag}" does not match ${t.name}'s tagPattern ${t.image.tagPattern}`);
  }
  const strategy = strategyFor(t, options.strategy);
  let tag = options.tag;
  let digest: string | undefined;
  if (tag) {
    backend.pushImage?.(t.image.repository, tag, options.fault);
    try {
      const images = await backend.clients.ecr.send(
        new DescribeImagesCommand({
          repositoryName: t.image.repository,
          imageIds: [{ imageTag: tag }],
        }),
      );
      digest = images.imageDetails?.[0]?.imageDigest;
    } catch (error) {
      if (!['ImageNotFoundException', 'RepositoryNotFoundException'].includes((error as Error).name))
        throw error;
    }
    if (!digest) throw new UsageError(`image ${t.image.repository}:${tag} is not in ECR`);
  } else {
    // A task definition change alone: the image the live colour runs now, pinned by its digest.
    const live = await liveVersion(backend, t);
    if (!live.digest) throw new UsageError(`cannot tell which image ${t.name} runs now: give --tag`);
    digest = live.digest;
    tag = live.tag?.split(', ')[0] ?? 'live';
    // The released container runs the live image: a file naming another would be silently overridden.
    const named = taskDefinition?.containerDefinitions.find((c) => c.name === t.ecs.container)?.image;
    if (named && digestOf(named) !== digest) {
      throw new UsageError(
        `--task-definition names image ${named} for container "${t.ecs.container}", but without --tag the live image (${digest}) is deployed: give --tag for a new image, or put the live one in the file`,
      );
    }
  }
  const breakGlass: BreakGlass | undefined = options.breakGlass
    ? { reason: options.breakGlass, by: options.by }
    : undefined;
  const attempt = await nextAttempt(
    { sfn: backend.clients.sfn, store: backend.store },
    {
      stateMachineArn: backend.releaseStateMachineArn,
      target: t.name,
      digest,
      ...(taskDefinition ? { variant: taskDefinitionKey(taskDefinition) } : {}),
    },
  );
  if (!attempt.start) {
    if (attempt.reason === 'too many attempts') throw new UsageError(attempt.detail);
    // Running: follow it. Live: say so; its outcome (Promoted) is the answer.
    out.line(
      `${t.name} ${tag}: ${attempt.detail}${attempt.reason === 'running' ? '; following it' : '; nothing to do'}`,
    );
    return finish(backend, out, {
      executionArn: executionArnOf(backend.releaseStateMachineArn, attempt.releaseId),
      releaseId: attempt.releaseId,
      wanted: Outcome.Promoted,
      wait: options.wait,
    });
  }
  if (attempt.retryOf) {
    out.line(
      `${t.name} ${tag}: ${attempt.retryOf.releaseId} ended ${attempt.retryOf.outcome}; starting attempt ${attempt.attempt} (its record is kept)`,
    );
  }
  const request = releaseRequest({
    attempt,
    target: t.name,
    image: { repository: t.image.repository, tag, digest },
    at: backend.now(),
    trigger: { source: 'manual', by: options.by },
    ...(breakGlass ? { breakGlass } : {}),
    ...(strategy ? { strategy } : {}),
    ...(taskDefinition ? { taskDefinition } : {}),
  });
  const executionArn = await start(backend, backend.releaseStateMachineArn, request, out);
  return finish(backend, out, {
    executionArn,
    releaseId: request.name,
    wanted: Outcome.Promoted,
    wait: options.wait,
  });
};

export const rollback = async (
  backend: Backend,
  out: Output,
  options: {
    target: string;
    reason: string;
    ifRunning: IfRunning;
    by: string;
    wait?: boolean;
    force?: boolean;
  },
): Promise<CommandResult> => {
  const t = target(backend, options.target);
  if (options.reason.trim().length < 3) throw new UsageError('--reason must say why (3 characters or more)');
  const lock = await backend.store.getLock(t.name);
  if (lock) {
    const holder = await backend.store.getRelease(lock.owner);
    if (holder?.kind === ReleaseKind.Rollback) {
      throw new UsageError(
        `lock of ${t.name} held by rollback ${lock.owner} (execution ${lock.ownerExecutionArn})`,
      );
    }
    if (lock.queued?.kind === ReleaseKind.Rollback) {
      throw new UsageError(`rollback ${lock.queued.releaseId} is already queued for ${t.name}`);
    }
  }
  const history = await backend.store.releasesForTarget(t.name, 50);
  const running = lock ? history.find((r) => r.releaseId === lock.owner) : undefined;
  if (!running) {
    // The rollback state machine decides again from AWS; these are the refusals a person can act on now.
    // The release to undo as PlanRollback picks it: the newest Promoted or RollbackFailed one.
    const promoted = releaseToUndo(history);
    if (!promoted) throw new UsageError(`no previous release of ${t.name} to roll back to`);
    const undone = rolledBackBy(history, promoted.releaseId);
    if (undone) {
      throw new UsageError(
        `${promoted.releaseId}, the last ${promoted.outcome === Outcome.Promoted ? 'promoted release' : `release (it ended ${promoted.outcome})`}, was already rolled back by ${undone.releaseId}`,
      );
    }
    // The rollback state machine refuses this too (RollbackNeedsRestore): said here before it starts.
    if (promoted.migrated === 'breaking' && !options.force) {
      throw new UsageError(
        `${promoted.releaseId} ran a breaking migration: the previous version cannot run on the new schema. Restore the database from snapshot ${promoted.snapshotId ?? '(none recorded)'} first, then rerun with --force`,
      );
    }
  }
  const request = rollbackRequest({
    target: t.name,
    reason: options.reason,
    by: options.by,
    at: backend.now(),
    ifRunning: options.ifRunning,
    force: options.force,
  });
  if (running) {
    out.line(
      options.ifRunning === 'abort'
        ? `${running.releaseId} is running: asking it to stop, then rolling back`
        : `${running.releaseId} is running: the rollback waits for it to end`,
    );
  }
  const executionArn = await start(backend, backend.rollbackStateMachineArn, request, out);
  return finish(backend, out, {
    executionArn,
    releaseId: request.name,
    wanted: Outcome.RolledBack,
    wait: options.wait,
  });
};

const start = async (
  backend: Backend,
  stateMachineArn: string,
  request: { name: string; input: unknown },
  out: Output,
): Promise<string> => {
  try {
    const started = await backend.clients.sfn.send(
      new StartExecutionCommand({
        stateMachineArn,
        name: request.name,
        input: JSON.stringify(request.input),
      }),
    );
    out.line(`started ${request.name}`);
    return started.executionArn ?? '';
  } catch (error) {
    if ((error as Error).name !== 'ExecutionAlreadyExists') throw error;
    // Another request for the same thing got there first (a second click, a push event): follow it.
    out.line(`${request.name} was started meanwhile by another request; following it`);
    return executionArnOf(stateMachineArn, request.name);
  }
};

const finish = async (
  backend: Backend,
  out: Output,
  run: { executionArn: string; releaseId: string; wanted: string; wait?: boolean },
): Promise<CommandResult> => {
  if (!run.wait && backend.kind === 'aws') {
    // What the execution is doing now, not what it was started to do: an image released before
    // names an execution that may long have ended.
    const described = await backend.clients.sfn.send(
      new DescribeExecutionCommand({ executionArn: run.executionArn }),
    );
    const status = described.status ?? 'UNKNOWN';
    const outcome = status === 'RUNNING' ? undefined : await outcomeOf(backend, run.releaseId);
    out.line(
      `execution ${run.executionArn} is ${status}${outcome ? ` (${outcome})` : ''}\nfollow it with: switchyard status --target …, or pass --wait`,
    );
    return {
      exitCode: status === 'RUNNING' || outcome === run.wanted ? 0 : 1,
      json: { releaseId: run.releaseId, executionArn: run.executionArn, status, outcome: outcome ?? null },
    };
  }
  const ended = await backend.follow(run.executionArn, run.releaseId, out.line);
  const record = await backend.store.getRelease(run.releaseId);
  const outcome = record?.outcome ?? (await outcomeOf(backend, run.releaseId)) ?? ended.status;
  out.line(`${run.releaseId}: ${outcome}`);
  if (record?.error) out.line(`  ${record.error.Error}: ${record.error.Cause}`);
  if (record?.snapshotId) out.line(`  database snapshot ${record.snapshotId} (restore is never automatic)`);
  const approval = record?.approvalId ? await backend.approvals.get(record.approvalId) : undefined;
  return {
    exitCode: outcome === run.wanted ? 0 : 1,
    // The whole record, as describe --json has it (before: seven fields).
    json: {
      ...(record ? releaseJson(record, approval) : {}),
      releaseId: run.releaseId,
      executionArn: run.executionArn,
      status: ended.status,
      outcome,
      error: record?.error ?? null,
      rollbackPath: record?.rollbackPath ?? null,
      snapshotId: record?.snapshotId ?? null,
    },
  };
};

export const status = async (
  backend: Backend,
  out: Output,
  options: { target?: string },
): Promise<CommandResult> => {
  const targets = options.target ? [target(backend, options.target)] : backend.targets.targets;
  const rows = [];
  for (const t of targets) {
    const { weights } = await readWeights(backend.clients.elbv2, t.traffic);
    const percent = percentages(weights);
    const live = percent.blue === 100 ? 'blue' : percent.green === 100 ? 'green' : 'split';
    const [blue, green] = await Promise.all(
      (['blue', 'green'] as const).map((c) =>
        describeService(backend.clients.ecs, t.ecs.cluster, t.ecs.services[c]),
      ),
    );
    const blueImage = await versionOf(backend, t, blue?.taskDefinition);
    const greenImage = await versionOf(backend, t, green?.taskDefinition);
    const lock = await backend.store.getLock(t.name);
    const [last] = await backend.store.releasesForTarget(t.name, 1);
    const group = await groupStatus(backend, t);
    const row = {
      target: t.name,
      environment: t.environment,
      live,
      weights: percent,
      tasks: {
        blue: {
          running: blue?.runningCount ?? 0,
          desired: blue?.desiredCount ?? 0,
          taskDefinition: blue?.taskDefinition,
          ...blueImage,
        },
        green: {
          running: green?.runningCount ?? 0,
          desired: green?.desiredCount ?? 0,
          taskDefinition: green?.taskDefinition,
          ...greenImage,
        },
      },
      ...(group.length ? { group } : {}),
      lock: lock
        ? { heldBy: lock.owner, execution: lock.ownerExecutionArn, queued: lock.queued?.releaseId ?? null }
        : null,
      last: last
        ? {
            releaseId: last.releaseId,
            kind: last.kind ?? 'release',
            status: last.status,
            outcome: last.outcome ?? null,
          }
        : null,
    };
    rows.push(row);
    out.line(
      `${t.name} (${t.environment})  live ${live}  blue ${percent.blue}% / green ${percent.green}%  ` +
        `tasks blue ${row.tasks.blue.running}/${row.tasks.blue.desired}, green ${row.tasks.green.running}/${row.tasks.green.desired}`,
    );
    const version = (v: { tag: string | null; digest: string | null }) =>
      `${v.tag ?? 'untagged'} (${v.digest ? v.digest.slice(0, 19) : 'no digest'})`;
    out.line(`  versions: blue ${version(blueImage)}, green ${version(greenImage)}`);
    for (const m of group)
      out.line(
        `  group ${m.name} (${m.role}): live ${m.live}, tasks blue ${m.tasks.blue.running}/${m.tasks.blue.desired}, green ${m.tasks.green.running}/${m.tasks.green.desired}`,
      );
    out.line(
      `  lock: ${lock ? `held by ${lock.owner}${lock.queued ? `, ${lock.queued.releaseId} queued` : ''}` : 'free'}` +
        `   last: ${last ? `${last.releaseId} ${last.outcome ?? last.status}` : 'none'}`,
    );
  }
  return { exitCode: 0, json: options.target ? rows[0] : rows };
};

/** Each member of a target's group: its live colour (a web member's from its rule) and tasks. */
const groupStatus = async (backend: Backend, t: Target) => {
  const rows = [];
  for (const m of t.group) {
    const [blue, green] = await Promise.all(
      (['blue', 'green'] as const).map((c) =>
        describeService(backend.clients.ecs, t.ecs.cluster, m.services[c]),
      ),
    );
    const tasks = (s: typeof blue) => ({ running: s?.runningCount ?? 0, desired: s?.desiredCount ?? 0 });
    let live: string;
    if (m.traffic) {
      const p = percentages((await readWeights(backend.clients.elbv2, m.traffic)).weights);
      live = p.blue === 100 ? 'blue' : p.green === 100 ? 'green' : 'split';
    } else {
      const up = [blue, green].map((s) => (s?.desiredCount ?? 0) > 0);
      live = up[0] && up[1] ? 'both' : up[0] ? 'blue' : up[1] ? 'green' : 'none';
    }
    rows.push({ name: m.name, role: m.role, live, tasks: { blue: tasks(blue), green: tasks(green) } });
  }
  return rows;
};

const versionOf = (backend: Backend, t: Target, taskDefinition: string | undefined) =>
  runningVersion(
    backend.clients,
    { repository: t.image.repository, container: t.ecs.container },
    taskDefinition,
  );

const recordColumns = (r: ReleaseRecord, rolledBackBy?: string): string[] => [
  r.createdAt,
  r.releaseId,
  r.kind === ReleaseKind.Rollback ? `rollback of ${r.rollbackOf ?? '?'}` : `${r.image?.tag ?? '?'}`,
  `${r.outcome ?? r.status}${rolledBackBy ? ` (rolled back by ${rolledBackBy})` : ''}`,
  formatDuration(durationSeconds(r)),
  r.trigger.by ?? r.trigger.source,
  approversOf(r).join(', ') || '-',
];

export const history = async (
  backend: Backend,
  out: Output,
  options: { target: string; limit: number },
): Promise<CommandResult> => {
  const t = target(backend, options.target);
  const records = await backend.store.releasesForTarget(t.name, options.limit);
  if (records.length === 0) out.line(`no releases of ${t.name} yet`);
  // A rollback is newer than what it rolled back, so it is on the same page of the history.
  const undoneBy = (r: ReleaseRecord) => rolledBackBy(records, r.releaseId)?.releaseId;
  if (records.length > 0) {
    const header = ['started', 'release', 'what', 'outcome', 'took', 'by', 'approved by'];
    for (const line of table(
      header,
      records.map((r) => recordColumns(r, undoneBy(r))),
    ))
      out.line(line);
  }
  return {
    exitCode: 0,
    json: records.map((r) => ({
      releaseId: r.releaseId,
      kind: r.kind ?? 'release',
      tag: r.image?.tag ?? null,
      status: r.status,
      outcome: r.outcome ?? null,
      createdAt: r.createdAt,
      endedAt: r.endedAt ?? null,
      by: r.trigger.by ?? r.trigger.source,
      reason: r.reason ?? null,
      error: r.error ?? null,
      rolledBackBy: undoneBy(r) ?? null,
      durationSeconds: durationSeconds(r) ?? null,
      approvedBy: approversOf(r),
    })),
  };
};

/**
 * Who runs a command, for the audit trail, the requester check and approvals: against AWS the IAM
 * caller (what --as claims is not evidence), locally --as.
 */
export const actingAs = async (backend: Pick<Backend, 'callerArn'>, as: string): Promise<string> =>
  backend.callerArn ? backend.callerArn() : as;

/**
 * `approve|reject --release <id>` against AWS: the same conditional decision as the email page and
 * Slack, as the IAM caller (an approver of the target who is not the requester), recorded with
 * channel `cli`. Authority to run it at all comes from IAM on the approvals table.
 */
export const decideRelease = async (
  backend: Pick<Backend, 'store' | 'approvals' | 'now' | 'callerArn'> & {
    clients: Pick<Backend['clients'], 'sfn'>;
  },
  out: Output,
  request: { releaseId: string; action: 'approve' | 'reject'; reason?: string; by: string },
): Promise<CommandResult> => {
  // Against AWS the decider is whoever IAM says is calling (an approver lists that ARN among their
  // aliases); `--as` names someone only in the local runtime, where there is no IAM caller.
  const by = await actingAs(backend, request.by);
  if (normaliseIdentity(by) !== normaliseIdentity(request.by)) {
    out.line(`deciding as ${by}, the IAM identity running this command (--as counts only with --local)`);
  }
  const options = { ...request, by };
  const record = await backend.store.getRelease(options.releaseId);
  if (!record) throw new UsageError(`no release ${options.releaseId}`);
  if (!record.approvalId) {
    throw new UsageError(`release ${options.releaseId} (${record.target}) has not asked for approval`);
  }
  const result = await decide(
    {
      approvalId: record.approvalId,
      approver: options.by,
      action: options.action,
      channel: 'cli',
      reason: options.reason,
    },
    {
      approvals: backend.approvals,
      store: backend.store,
      sfn: backend.clients.sfn,
      now: () => backend.now(),
    },
  );
  const said = `release ${options.releaseId}: ${describeDecision(result, options.by)}`;
  switch (result.state) {
    case 'decided':
    case 'recorded':
    case 'unconfirmed':
      out.line(said);
      return {
        // Unconfirmed: recorded and standing, only Step Functions' confirmation is missing (run it again).
        exitCode: result.state === 'unconfirmed' ? 1 : 0,
        json: {
          releaseId: options.releaseId,
          status: result.record.status,
          decidedBy: result.record.decidedBy ?? [],
          approvedBy: [...(result.record.approvedBy ?? [])],
          confirmed: result.state !== 'unconfirmed',
        },
      };
    default:
      throw new UsageError(said);
  }
};
