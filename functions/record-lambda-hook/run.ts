import { alarmsDuring } from '../shared/alarms.ts';
import { findTarget } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { AlarmTriggered, HookFailed } from '../shared/errors.ts';
import { recordHook } from '../shared/hook-record.ts';
import { figuresSchema, functionLogUrl, HookPoint, judgeFigures, thresholdText } from '../shared/hooks.ts';
import type { HookResult } from '../shared/store.ts';
import type { Input } from './schema.ts';

type Deps = Pick<ReleaseDeps, 'targets' | 'store' | 'cloudwatch' | 'now'>;

/** Lambda's own errors (the function was not run, or not to the end): not the function's verdict. */
const LAMBDA_ERROR = /^Lambda\./;

/**
 * Records what a Lambda hook did and judges it. The state machine invoked the function itself
 * (`arn:aws:states:::lambda:invoke`), so this step only reads the answer: it succeeded when the
 * function returned without an error and did not answer `{"status": "Failed"}`, and, for a load
 * test, when the figures it returned (`p95Ms`, `errorRate`, `rps`) meet the hook's thresholds. A
 * postTraffic hook is not watched while the function runs (a task hook's wait is): the target's
 * alarms' history over its run is read when it returns, and one that was in ALARM rolls back. A failure throws, so the Map fails
 * and the release aborts (preTraffic) or rolls back (postTraffic).
 */
export const run = async (input: Input, deps: Deps): Promise<HookResult & { summary: string }> => {
  const target = findTarget(deps.targets, input.target);
  const { hook } = input;
  const base: Omit<HookResult, 'status' | 'detail'> = {
    name: hook.name,
    point: hook.point,
    functionName: hook.functionName,
    startedAt: input.started.at,
    stoppedAt: deps.now().toISOString(),
    logUrl: functionLogUrl(hook.functionName),
    ...(hook.migration ? { migration: hook.migration.compatibility } : {}),
  };
  const problems: string[] = [];
  let judged: ReturnType<typeof judgeFigures> = [];
  let figures: HookResult['figures'];
  if (input.waitError) {
    const { Error: name, Cause: cause } = input.waitError;
    problems.push(
      name === 'States.Timeout'
        ? `did not return within its timeout of ${hook.timeoutSeconds} s`
        : LAMBDA_ERROR.test(name)
          ? `could not be run to its end by Lambda (${name}: ${cause ?? 'no cause'})`
          : `failed: ${functionError(name, cause)}`,
    );
  } else {
    const answer = input.invoked?.payload;
    const status = (answer as { status?: unknown } | null)?.status;
    if (typeof status === 'string' && status.toLowerCase() === 'failed') {
      const reason = (answer as { reason?: unknown }).reason;
      problems.push(`answered Failed${typeof reason === 'string' ? `: ${reason.slice(0, 500)}` : ''}`);
    }
    if (hook.thresholds) {
      const parsed = figuresSchema.safeParse(answer ?? {});
      if (parsed.success) {
        figures = parsed.data;
        judged = judgeFigures(parsed.data, hook.thresholds);
        problems.push(...judged.filter((r) => !r.passed).map(thresholdText));
      } else {
        problems.push('its answer is not {"p95Ms","errorRate","rps"} numbers, so its figures are unknown');
      }
    }
  }
  const result: HookResult = {
    ...base,
    ...(figures ? { figures } : {}),
    ...(judged.length ? { thresholds: judged } : {}),
    status: problems.length === 0 ? 'succeeded' : 'failed',
    detail:
      problems.length === 0
        ? `hook ${hook.name} succeeded (Lambda function ${hook.functionName} returned${judged.length ? `; ${judged.map(thresholdText).join(', ')}` : ''})`
        : `hook ${hook.name} (Lambda function ${hook.functionName}) ${problems.join('; ')}`,
  };
  // The function answered, or ended: its migration claim ends. After any other error (States.Timeout:
  // Step Functions stopped waiting; Lambda's service and client errors: the function may have
  // started) it may still run, and the claim runs its course.
  if (hook.migration && functionEnded(input.waitError?.Error))
    await deps.store.endLambdaMigration(input.target, input.releaseId);
  await recordHook(input.releaseId, result, deps);
  if (result.status === 'failed') throw new HookFailed(`${result.detail}. Log: ${result.logUrl}`);
  // After 100% nothing watched the alarms while the function ran: their history over its run
  // decides now, so one that fired and cleared meanwhile counts as the bake's watch would have.
  if (hook.point === HookPoint.PostTraffic && target.alarms.length > 0) {
    const fired = await alarmsDuring(
      deps.cloudwatch,
      target.alarms,
      { from: input.started.at, to: deps.now().toISOString() },
      `postTraffic hook ${hook.name}`,
    );
    if (fired.length > 0)
      throw new AlarmTriggered(`during postTraffic hook ${hook.name}: ${fired.join('; ')}`);
  }
  return { ...result, summary: result.detail };
};

/**
 * Whether the function is known to have stopped: it answered (no error), raised its own error (any
 * name Lambda or Step Functions do not own), crashed or hit its own timeout (`Lambda.Unknown`), or
 * does not exist.
 */
const functionEnded = (error: string | undefined): boolean =>
  error === undefined ||
  !/^(Lambda|States)\./.test(error) ||
  error === 'Lambda.Unknown' ||
  error === 'Lambda.ResourceNotFoundException';

/** A function's error as Step Functions passes it: the errorType, and the errorMessage in the cause's JSON. */
const functionError = (name: string, cause: string | undefined): string => {
  try {
    const parsed = JSON.parse(cause ?? '') as { errorMessage?: string; errorType?: string };
    return `${parsed.errorType ?? name}: ${(parsed.errorMessage ?? '').slice(0, 500)}`;
  } catch {
    return `${name}${cause ? `: ${cause.slice(0, 500)}` : ''}`;
  }
};
