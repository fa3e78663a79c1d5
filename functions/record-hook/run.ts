import { GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { StopTaskCommand } from '@aws-sdk/client-ecs';
import { findTarget } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { HookFailed } from '../shared/errors.ts';
import { figuresIn, judgeFigures, logStreamOf, logStreamUrl, thresholdText } from '../shared/hooks.ts';
import { logger } from '../shared/logger.ts';
import type { HookResult } from '../shared/store.ts';
import type { Input } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'targets' | 'store' | 'ecs' | 'logs' | 'now'>;

/** Lines read from the end of a hook's log: enough for a k6 summary and a migration's last error. */
const LOG_LINES = 100;

/**
 * Records what a hook did and judges it: success is its container exiting 0 (and, for a load test,
 * every threshold met by the figures it printed). A hook whose wait failed (its timeout, an alarm
 * after 100%, a rollback) is stopped first, unless it is a migration, which is left to finish:
 * stopping one half way is worse. A failure throws, so the Map fails and the release aborts
 * (preTraffic) or rolls back (postTraffic).
 */
export const run = async (input: Input, deps: Deps): Promise<HookResult> => {
  const target = findTarget(deps.targets, input.target);
  const { hook, task } = input;
  const stream = logStreamOf(hook.log?.streamPrefix, hook.container, task.taskArn);
  const region = hook.log?.region || process.env.AWS_REGION || 'us-east-1';
  const base: Omit<HookResult, 'status' | 'detail'> = {
    name: hook.name,
    point: hook.point,
    taskArn: task.taskArn,
    startedAt: input.stopped?.startedAt ?? task.startedAt,
    ...(hook.log && stream
      ? { logStream: `${hook.log.group}:${stream}`, logUrl: logStreamUrl(region, hook.log.group, stream) }
      : {}),
    ...(hook.migration ? { migration: hook.migration.compatibility } : {}),
  };

  if (input.waitError) {
    const timedOut = input.waitError.Error === 'States.Timeout';
    const stop = !hook.migration || timedOut;
    if (stop) {
      await deps.ecs.send(
        new StopTaskCommand({
          cluster: task.cluster,
          task: task.taskArn,
          reason: `Switchyard: hook ${hook.name} ${timedOut ? `timed out after ${hook.timeoutSeconds} s` : 'is no longer wanted'}`,
        }),
      );
    }
    const why = timedOut
      ? `did not stop within its timeout of ${hook.timeoutSeconds} s; its task was stopped`
      : `${input.waitError.Error}: ${input.waitError.Cause ?? ''}${stop ? '; its task was stopped' : '; the migration was left to finish'}`;
    const result: HookResult = { ...base, status: 'failed', detail: `hook ${hook.name} ${why}` };
    await record(input, result, deps);
    if (timedOut) throw new HookFailed(withLog(result));
    // The wait's own error goes on (an alarm rolls back, a rollback request stops the release).
    throw Object.assign(new Error(input.waitError.Cause ?? result.detail), { name: input.waitError.Error });
  }

  const stopped = input.stopped;
  if (!stopped) throw new HookFailed(`hook ${hook.name}: neither a stopped task nor an error to record`);
  const lines = await readLog(deps, target.ecs.logGroup, hook.log?.group, stream);
  const figures = hook.thresholds && lines ? figuresIn(lines) : undefined;
  const judged =
    hook.thresholds && figures && 'figures' in figures ? judgeFigures(figures.figures, hook.thresholds) : [];
  const exited = stopped.stopCode === 'EssentialContainerExited' && stopped.exitCode === 0;
  const problems = [
    ...(stopped.stopCode === 'TaskFailedToStart'
      ? [`its task failed to start: ${stopped.stoppedReason ?? stopped.containerReason ?? 'no reason given'}`]
      : stopped.exitCode !== 0
        ? [
            `its container exited ${stopped.exitCode ?? 'without an exit code'}${stopped.stoppedReason ? ` (${stopped.stoppedReason})` : ''}`,
          ]
        : []),
    ...(exited && hook.thresholds && figures && 'missing' in figures ? [figures.missing] : []),
    ...(exited ? judged.filter((r) => !r.passed).map(thresholdText) : []),
  ];
  const result: HookResult = {
    ...base,
    stoppedAt: stopped.stoppedAt,
    ...(stopped.exitCode !== null ? { exitCode: stopped.exitCode } : {}),
    ...(stopped.stopCode ? { stopCode: stopped.stopCode } : {}),
    ...(stopped.stoppedReason ? { stoppedReason: stopped.stoppedReason } : {}),
    ...(lines ? { logTail: lines.slice(-5) } : {}),
    ...(figures && 'figures' in figures ? { figures: figures.figures } : {}),
    ...(judged.length ? { thresholds: judged } : {}),
    status: problems.length === 0 ? 'succeeded' : 'failed',
    detail:
      problems.length === 0
        ? `hook ${hook.name} succeeded (exit 0${judged.length ? `; ${judged.map(thresholdText).join(', ')}` : ''})`
        : `hook ${hook.name} failed: ${problems.join('; ')}`,
  };
  await record(input, result, deps);
  if (result.status === 'failed') throw new HookFailed(withLog(result));
  return result;
};

const withLog = (result: HookResult) =>
  `${result.detail}${result.logTail?.length ? `. Last log line: ${result.logTail.at(-1)}` : ''}${result.logUrl ? `. Log: ${result.logUrl}` : ''}`;

/**
 * The end of the hook's log, if the stack may read it (its group is the target's ecs.logGroup).
 * Best effort: a log that cannot be read leaves the figures missing, which fails a load test.
 */
const readLog = async (
  deps: Deps,
  readable: string | undefined,
  group: string | undefined,
  stream: string | undefined,
): Promise<string[] | undefined> => {
  if (!group || !stream || group !== readable) return undefined;
  try {
    const out = await deps.logs.send(
      new GetLogEventsCommand({
        logGroupName: group,
        logStreamName: stream,
        startFromHead: false,
        limit: LOG_LINES,
      }),
    );
    return (out.events ?? []).map((e) => e.message ?? '');
  } catch (error) {
    logger.warn('could not read a hook log', { group, stream, error: (error as Error).message });
    return undefined;
  }
};

/** Adds the result to the release record (hooks run one at a time, so nothing else writes `hooks`). */
const record = async (input: Input, result: HookResult, deps: Deps) => {
  const release = await deps.store.getRelease(input.releaseId);
  const others = (release?.hooks ?? []).filter((h) => !(h.name === result.name && h.point === result.point));
  await deps.store.updateRelease(input.releaseId, {
    hooks: [...others, result],
    // Once a migration has run, the old version lives with the new schema (or cannot).
    ...(result.migration && result.status === 'succeeded' ? { migrated: result.migration } : {}),
  });
};
