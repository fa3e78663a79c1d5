import { GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { StopTaskCommand } from '@aws-sdk/client-ecs';
import { findTarget } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { HookFailed, TransientError } from '../shared/errors.ts';
import { recordHook } from '../shared/hook-record.ts';
import { figuresIn, judgeFigures, logStreamOf, logStreamUrl, thresholdText } from '../shared/hooks.ts';
import { logger } from '../shared/logger.ts';
import type { HookResult } from '../shared/store.ts';
import type { Input } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'targets' | 'store' | 'ecs' | 'logs' | 'now'>;

/** Lines read from the end of a hook's log: enough for a k6 summary and a migration's last error. */
const LOG_LINES = 100;
/**
 * How long after a task stopped its log may still be arriving. CloudWatch Logs documents no bound;
 * the awslogs driver flushes every few seconds (its `awslogs-buffer` defaults), so a minute is ample.
 */
const LOG_INGESTION_GRACE_MS = 60_000;

/**
 * Records what a hook did and judges it: success is its container exiting 0 (and, for a load test,
 * every threshold met by the figures it printed). A hook whose wait failed (its timeout, an alarm
 * after 100%, a rollback) is stopped first, unless it is a migration, which is left to finish:
 * stopping one half way is worse. A failure throws, so the Map fails and the release aborts
 * (preTraffic) or rolls back (postTraffic).
 */
export const run = async (input: Input, deps: Deps): Promise<HookResult & { summary: string }> => {
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
      // Best effort: a task ECS does not know yet (or any more) must not hide the hook's own failure.
      try {
        await deps.ecs.send(
          new StopTaskCommand({
            cluster: task.cluster,
            task: task.taskArn,
            reason: `Switchyard: hook ${hook.name} ${timedOut ? `timed out after ${hook.timeoutSeconds} s` : 'is no longer wanted'}`,
          }),
        );
      } catch (error) {
        logger.warn('could not stop a hook task', { taskArn: task.taskArn, error: (error as Error).message });
      }
    }
    const why = timedOut
      ? `did not stop within its timeout of ${hook.timeoutSeconds} s; its task was stopped`
      : `${input.waitError.Error}: ${input.waitError.Cause ?? ''}${stop ? '; its task was stopped' : '; the migration was left to finish'}`;
    const result: HookResult = { ...base, status: 'failed', detail: `hook ${hook.name} ${why}` };
    await recordHook(input.releaseId, result, deps);
    // The wait's own error goes on (an alarm rolls back, a rollback request stops the release);
    // an engine error (Lambda.*, States.*) would match this step's own retries: it is a HookFailed.
    const engine = /^(Lambda|States)\./.test(input.waitError.Error);
    if (timedOut || engine) throw new HookFailed(withLog(result));
    throw Object.assign(new Error(input.waitError.Cause ?? result.detail), { name: input.waitError.Error });
  }

  const stopped = input.stopped;
  if (!stopped) throw new HookFailed(`hook ${hook.name}: neither a stopped task nor an error to record`);
  const lines = await readLog(deps, target.ecs.logGroup, hook.log?.group, stream);
  const figures = hook.thresholds
    ? lines
      ? figuresIn(lines)
      : {
          missing: `its log ${stream ? `${hook.log?.group}:${stream}` : ''} could not be read, so its figures are unknown`,
        }
    : undefined;
  // CloudWatch Logs ingests a few seconds behind the container: a result line not there yet is
  // read again (this step's TransientError retries) for up to a minute after the task stopped.
  if (
    figures &&
    'missing' in figures &&
    Date.parse(stopped.stoppedAt) + LOG_INGESTION_GRACE_MS > deps.now().getTime()
  ) {
    throw new TransientError(`hook ${hook.name}: ${figures.missing}; reading its log again shortly`);
  }
  const judged =
    hook.thresholds && figures && 'figures' in figures ? judgeFigures(figures.figures, hook.thresholds) : [];
  // Success is the container finishing on its own: a task stopped from outside (a person, a Spot
  // interruption) did not finish, whatever its container exited with on SIGTERM.
  const exited = stopped.stopCode === 'EssentialContainerExited' && stopped.exitCode === 0;
  const problems = [
    ...(stopped.stopCode === 'TaskFailedToStart'
      ? [`its task failed to start: ${stopped.stoppedReason ?? stopped.containerReason ?? 'no reason given'}`]
      : stopped.exitCode !== 0
        ? [
            `its container exited ${stopped.exitCode ?? 'without an exit code'}${stopped.stoppedReason ? ` (${stopped.stoppedReason})` : ''}`,
          ]
        : stopped.stopCode !== 'EssentialContainerExited'
          ? [
              `its task was stopped (${stopped.stopCode ?? 'no stop code'}: ${stopped.stoppedReason ?? 'no reason'}) before its container finished`,
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
  await recordHook(input.releaseId, result, deps);
  if (result.status === 'failed') throw new HookFailed(withLog(result));
  return { ...result, summary: result.detail };
};

const withLog = (result: HookResult) =>
  `${result.detail}${result.logTail?.length ? `. Last log line: ${result.logTail.at(-1)}` : ''}${result.logUrl ? `. Log: ${result.logUrl}` : ''}`;

/**
 * The end of the hook's log, if the stack may read it (its group is the target's ecs.logGroup).
 * A log that cannot be read leaves the figures missing, which fails a load test (never passes it).
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
